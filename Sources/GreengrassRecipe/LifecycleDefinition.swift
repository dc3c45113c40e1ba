import GreengrassJSON
import GreengrassLifecycle

/// One phase of a lifecycle, from either form: `Run: "cmd"` or `Run: {Script: cmd, …}`.
public struct PhaseDefinition: Sendable, Hashable {
    /// How the phase was written; it decides the log context (`scriptName`) Greengrass uses.
    public enum Form: Sendable, Hashable {
        case string
        /// `scriptKey` is the spelling of `Script` in the recipe.
        case object(scriptKey: String)
    }

    public var phase: LifecyclePhase
    /// The phase key as spelled in the recipe (`Run`, `run`…); Greengrass preserves it in log contexts.
    public var key: String
    public var form: Form
    public var script: String
    /// `RequiresPrivilege`: run as root.
    public var requiresPrivilege: Bool
    /// `Timeout` as written, in seconds.
    public var explicitTimeoutSeconds: Int?
    /// `Setenv` of the phase (overrides the component-level `Setenv`).
    public var setenv: [String: String]
    /// `Skipif`.
    public var skipIf: SkipCondition?

    public init(phase: LifecyclePhase, key: String? = nil, form: Form = .string, script: String,
                requiresPrivilege: Bool = false, explicitTimeoutSeconds: Int? = nil,
                setenv: [String: String] = [:], skipIf: SkipCondition? = nil) {
        self.phase = phase
        self.key = key ?? phase.rawValue
        self.form = form
        self.script = script
        self.requiresPrivilege = requiresPrivilege
        self.explicitTimeoutSeconds = explicitTimeoutSeconds
        self.setenv = setenv
        self.skipIf = skipIf
    }

    /// The timeout to apply: the recipe's, else Greengrass's default for the phase (`nil` = none).
    public var timeoutSeconds: Int? { explicitTimeoutSeconds ?? phase.defaultTimeout.map { Int($0.components.seconds) } }

    /// The `scriptName` log context: `services.<Name>.lifecycle.<Phase>` for the string form,
    /// `services.<Name>.lifecycle.<Phase>.Script` for the object form.
    public func scriptName(component: String) -> String {
        let base = "services.\(component).lifecycle.\(key)"
        switch form {
        case .string: return base
        case .object(let scriptKey): return base + "." + scriptKey
        }
    }
}

/// The effective lifecycle of a component on this device: component-level `Setenv` and the phases.
public struct LifecycleDefinition: Sendable, Hashable {
    /// Component-level `Setenv`, applied to every phase.
    public var setenv: [String: String]
    /// The phases present.
    public var phases: [LifecyclePhase: PhaseDefinition]
    /// `errorResetTime` in seconds if set (Greengrass default 3600).
    public var errorResetTimeSeconds: Int?

    public init(setenv: [String: String] = [:], phases: [LifecyclePhase: PhaseDefinition] = [:],
                errorResetTimeSeconds: Int? = nil) {
        self.setenv = setenv
        self.phases = phases
        self.errorResetTimeSeconds = errorResetTimeSeconds
    }

    public subscript(phase: LifecyclePhase) -> PhaseDefinition? { phases[phase] }

    /// The long-running phase: `Startup` when present (then `Run` is ignored, as in Greengrass), else
    /// `Run`, else `nil` (the component has nothing to run and goes to FINISHED).
    public var mainPhase: PhaseDefinition? { phases[.startup] ?? phases[.run] }

    /// The environment for `phase`: component `Setenv` overlaid with the phase's own.
    public func environment(for phase: LifecyclePhase) -> [String: String] {
        setenv.merging(phases[phase]?.setenv ?? [:]) { _, phaseValue in phaseValue }
    }

    /// Parses a lifecycle map as stored in `services.<Name>.lifecycle` (after selection and
    /// interpolation). Errors name `file` and paths under `fieldPrefix`.
    public init(parsing lifecycle: JSONValue, file: String, fieldPrefix: String = "Lifecycle") throws(RecipeError) {
        try self.init(parsing: RecipeNode(lifecycle), file: file, fieldPrefix: fieldPrefix)
    }

    /// Parses a located lifecycle map, so errors carry the recipe line.
    public init(parsing node: RecipeNode, file: String, fieldPrefix: String = "Lifecycle") throws(RecipeError) {
        self = try LifecycleParser(strict: true).parse(node, FieldContext(file: file, path: fieldPrefix, location: node.location))
    }

    /// Checks a lifecycle before interpolation: like `init(parsing:)`, but a value that still contains a
    /// recipe variable (`Timeout: "{configuration:/timeout}"`) is not judged until it is interpolated.
    static func validateUninterpolated(_ node: RecipeNode, context: FieldContext) throws(RecipeError) {
        _ = try LifecycleParser(strict: false).parse(node, context)
    }
}

struct LifecycleParser {
    /// When false, scalars containing a `{…:…}` placeholder are accepted unchecked.
    let strict: Bool

    func parse(_ node: RecipeNode, _ context: FieldContext) throws(RecipeError) -> LifecycleDefinition {
        if node.isNull { return LifecycleDefinition() }
        guard let members = node.members else {
            throw RecipeError(.wrongType, context, "expected a map of lifecycle phases, got \(quoted(node))")
        }
        var definition = LifecycleDefinition()
        for member in members {
            let memberContext = context.member(member.key, member.value)
            if member.key.caseInsensitiveEquals("Setenv") {
                definition.setenv = try environment(member.value, memberContext)
            } else if member.key.caseInsensitiveEquals("errorResetTime") {
                definition.errorResetTimeSeconds = try seconds(member.value, memberContext)
            } else if let phase = LifecyclePhase.allCases.first(where: { $0.rawValue.caseInsensitiveEquals(member.key) }) {
                if let parsed = try self.phase(phase, key: member.key, member.value, memberContext) {
                    definition.phases[phase] = parsed
                }
            }
            // Other keys are ignored, as Greengrass ignores them.
        }
        return definition
    }

    private func phase(
        _ phase: LifecyclePhase, key: String, _ node: RecipeNode, _ context: FieldContext
    ) throws(RecipeError) -> PhaseDefinition? {
        switch node.content {
        case .scalar(.null, _):
            return nil
        case .scalar(_, let text):
            return PhaseDefinition(phase: phase, key: key, form: .string, script: text)
        case .sequence:
            throw RecipeError(.wrongType, context, "expected a script or a map with Script, got a list")
        case .mapping:
            guard let script = node.member("Script"), !script.value.isNull else {
                throw RecipeError(.missingField, context.member("Script", node), "missing required field")
            }
            let scriptContext = context.member(script.key, script.value)
            guard case .scalar(_, let scriptText) = script.value.content else {
                throw RecipeError(.wrongType, scriptContext, "expected a script string, got \(quoted(script.value))")
            }
            var definition = PhaseDefinition(phase: phase, key: key, form: .object(scriptKey: script.key), script: scriptText)
            for member in node.members ?? [] {
                let memberContext = context.member(member.key, member.value)
                if member.key.caseInsensitiveEquals("RequiresPrivilege") {
                    definition.requiresPrivilege = try boolean(member.value, memberContext) ?? false
                } else if member.key.caseInsensitiveEquals("Timeout") {
                    definition.explicitTimeoutSeconds = try seconds(member.value, memberContext)
                } else if member.key.caseInsensitiveEquals("Setenv") {
                    definition.setenv = try environment(member.value, memberContext)
                } else if member.key.caseInsensitiveEquals("Skipif") {
                    // Every phase, Bootstrap included: the Java nucleus runs Bootstrap through the same path
                    // that checks Skipif (a skipped Bootstrap counts as exit 0).
                    definition.skipIf = try skipIf(member.value, memberContext)
                }
            }
            return definition
        }
    }

    private func hasPlaceholder(_ node: RecipeNode) -> Bool {
        guard !strict, case .scalar(let value, _) = node.content, case .string(let text) = value else { return false }
        return RecipeInterpolator.containsPlaceholder(text)
    }

    /// Whole seconds: an integer, an integral number, or a string of digits.
    private func seconds(_ node: RecipeNode, _ context: FieldContext) throws(RecipeError) -> Int? {
        if node.isNull || hasPlaceholder(node) { return nil }
        var value: Int?
        if case .scalar(let scalar, let text) = node.content {
            value = scalar.intValue ?? (scalar.stringValue != nil ? Int(text.trimmingWhitespace()) : nil)
        }
        guard let value else {
            throw RecipeError(.wrongType, context, "expected an integer number of seconds, got \(quoted(node))")
        }
        guard value >= 0 else {
            throw RecipeError(.invalidValue, context, "expected a non-negative number of seconds, got \(value)")
        }
        return value
    }

    /// `true`/`false` (also as text, and `yes`/`no`, `on`/`off`, `1`/`0`, as Greengrass coerces them).
    private func boolean(_ node: RecipeNode, _ context: FieldContext) throws(RecipeError) -> Bool? {
        if node.isNull || hasPlaceholder(node) { return nil }
        if case .scalar(let scalar, let text) = node.content {
            if let flag = scalar.boolValue { return flag }
            switch text.trimmingWhitespace().lowercased() {
            case "true", "yes", "on", "1": return true
            case "false", "no", "off", "0": return false
            default: break
            }
        }
        throw RecipeError(.wrongType, context, "expected true or false, got \(quoted(node))")
    }

    /// A map of variable names to scalar values (numbers and booleans become their text).
    private func environment(_ node: RecipeNode, _ context: FieldContext) throws(RecipeError) -> [String: String] {
        if node.isNull { return [:] }
        guard let members = node.members else {
            throw RecipeError(.wrongType, context, "expected a map of environment variables, got \(quoted(node))")
        }
        var result: [String: String] = [:]
        for member in members {
            switch member.value.content {
            case .scalar(.null, _):
                result[member.key] = ""
            case .scalar(_, let text):
                result[member.key] = text
            case .sequence, .mapping:
                throw RecipeError(.wrongType, context.member(member.key, member.value),
                                  "expected an environment variable value, got \(quoted(member.value))")
            }
        }
        return result
    }

    private func skipIf(_ node: RecipeNode, _ context: FieldContext) throws(RecipeError) -> SkipCondition? {
        if node.isNull || hasPlaceholder(node) { return nil }
        guard case .scalar(_, let text) = node.content else {
            throw RecipeError(.wrongType, context, "expected a Skipif expression, got \(quoted(node))")
        }
        do {
            return try SkipCondition(parsing: text)
        } catch {
            throw RecipeError(.invalidSkipIf, context, error.description)
        }
    }
}
