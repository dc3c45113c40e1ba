/// A recipe phase's `Skipif` condition: `exists <path>` or `onpath <program>`, optionally negated with `!`.
///
/// Parsing is pure; the supervisor evaluates the condition against the file system and `PATH`.
public struct SkipCondition: Sendable, Hashable, CustomStringConvertible {
    /// What the condition checks.
    public enum Check: String, Sendable, Hashable {
        /// The path exists (`~` expands to the home directory).
        case exists
        /// The program is an executable on `PATH` (or at the given path when it contains `/`).
        case onPath = "onpath"
    }

    public var check: Check
    /// The path or program name (the rest of the expression, trimmed).
    public var argument: String
    /// `!` in front: skip when the check is false.
    public var negated: Bool

    public init(check: Check, argument: String, negated: Bool = false) {
        self.check = check
        self.argument = argument
        self.negated = negated
    }

    /// Parses `[!](exists|onpath) <argument>`, as Greengrass does (`(exists|onpath) +(.+)`, case-sensitive).
    ///
    /// - Throws: ``SkipConditionError`` naming the expression when it does not match the grammar.
    public init(parsing expression: String) throws(SkipConditionError) {
        var rest = Substring(expression).trimmingWhitespace()
        let negated = rest.first == "!"
        if negated { rest = rest.dropFirst().trimmingWhitespace() }
        // Greengrass matches `(exists|onpath) +(.+)`: lower-case keyword, then spaces (not tabs).
        guard let space = rest.firstIndex(of: " ") else {
            throw SkipConditionError(expression: expression)
        }
        let argument = rest[space...].trimmingWhitespace()
        guard let check = Check(rawValue: String(rest[..<space])), !argument.isEmpty else {
            throw SkipConditionError(expression: expression)
        }
        self.init(check: check, argument: String(argument), negated: negated)
    }

    public var description: String {
        (negated ? "!" : "") + check.rawValue + " " + argument
    }

    /// Whether the phase is skipped, given whether the check itself holds.
    public func skips(checkHolds: Bool) -> Bool {
        checkHolds != negated
    }
}

/// A `Skipif` expression that is not `[!](exists|onpath) <argument>`.
public struct SkipConditionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The offending expression, as written in the recipe.
    public var expression: String

    public init(expression: String) {
        self.expression = expression
    }

    public var description: String {
        "invalid Skipif expression \"\(expression)\": expected \"[!]exists <path>\" or \"[!]onpath <program>\""
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first.isWhitespace { result.removeFirst() }
        while let last = result.last, last.isWhitespace { result.removeLast() }
        return result
    }
}
