import Logging

/// Which output stream of a component process a line came from.
public enum ComponentOutputStream: String, Hashable, Sendable {
    /// Logged at INFO with event type `stdout`.
    case stdout
    /// Logged at WARN with event type `stderr`.
    case stderr
}

extension Logger {
    /// Logs one line of a component's stdout/stderr like the Java nucleus: thread `Copier`, event type
    /// `stdout`/`stderr`, level INFO/WARN, context `scriptName` (e.g. `services.com.example.Foo.lifecycle.Run`).
    ///
    /// With a logger from ``GreengrassLogFiles/componentLogger(name:)`` carrying `currentState`, the line reads
    /// `… [INFO] (Copier) com.example.Foo: stdout. hello. {scriptName=…, serviceName=…, currentState=RUNNING}`.
    /// Split raw output into lines with `OutputLineSplitter` first.
    public func logComponentOutput(
        _ line: String, stream: ComponentOutputStream, scriptName: String,
        file: String = #fileID, function: String = #function, line sourceLine: UInt = #line
    ) {
        log(
            level: stream == .stdout ? .info : .warning,
            "\(line)",
            metadata: [
                GreengrassLogHandler.eventTypeKey: .string(stream.rawValue),
                GreengrassLogHandler.threadKey: "Copier",
                "scriptName": .string(scriptName),
            ],
            file: file, function: function, line: sourceLine)
    }
}
