/// Why a `greengrass-cli logs` request cannot be carried out; every case names the input at fault.
public enum LogQueryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A `-t/--time-window` value is not `begin,end` of understood times.
    case invalidTimeWindow(String, reason: String)
    /// A `-f/--filter` element is not a keyword, a regular expression or one `key=value`.
    case invalidFilter(String, reason: String)

    public var description: String {
        switch self {
        case .invalidTimeWindow(let window, let reason): "Time window provided invalid: '\(window)': \(reason)"
        case .invalidFilter(let element, let reason): "Filter expression provided invalid: '\(element)': \(reason)"
        }
    }
}

extension StringProtocol {
    /// Java's `String.split(delimiter)`: empty fields are kept except trailing ones, and an empty string gives one
    /// empty field. The AWS CLI's option syntax (`begin,`, `a=b`) is defined by exactly this behaviour.
    func javaSplit(_ delimiter: Character) -> [SubSequence] {
        guard !isEmpty else { return [self[...]] }
        var fields = split(separator: delimiter, omittingEmptySubsequences: false)
        while fields.count > 0, fields[fields.count - 1].isEmpty { fields.removeLast() }
        return fields
    }
}
