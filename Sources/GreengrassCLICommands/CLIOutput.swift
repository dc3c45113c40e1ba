import GreengrassIPCModel
import GreengrassJSON
import GreengrassLogFormat

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Text output of the CLI, byte for byte as the AWS Greengrass CLI prints it (reference §9), so scripts that
/// parse its output keep working.
enum CLIOutput {
    static func componentList(_ components: [ComponentDetails]) -> String {
        var text = "Components currently running in Greengrass:\n"
        for component in components where component.componentName != "main" {
            text += componentDetails(component)
        }
        return text
    }

    static func componentDetails(_ component: ComponentDetails) -> String {
        """
        Component Name: \(component.componentName)
            Version: \(component.version ?? "null")
            State: \(component.state.rawValue)
            Configuration: \(component.configuration.map(compactJSON) ?? "null")

        """
    }

    static func deploymentList(_ deployments: [LocalDeployment]) -> String {
        deployments.map { deployment in
            "Deployment ID: \(deployment.deploymentId)\nCreated on: \(createdOn(deployment.createdOn))\nStatus: \(deployment.status.rawValue)\n"
        }.joined(separator: "\n")
    }

    static func deploymentStatus(_ deployment: LocalDeployment) -> String {
        var text = "\(deployment.deploymentId): \(deployment.status.rawValue)\nCreated on: \(createdOn(deployment.createdOn))\n"
        if deployment.status == .failed, let details = deployment.deploymentStatusDetails {
            text += "Detailed Status: \(details.detailedDeploymentStatus?.rawValue ?? "null")\n"
            text += "Deployment Error Stack: \((details.deploymentErrorStack ?? []).joined(separator: ", "))\n"
            text += "Deployment Error Types: \((details.deploymentErrorTypes ?? []).joined(separator: ", "))\n"
            text += "Deployment Failure Cause: \(details.deploymentFailureCause ?? "null")\n"
        }
        return text
    }

    /// `createdOn` travels as epoch milliseconds in a string; the AWS CLI prints it as `dd-MM-uuuu HH:mm:ss z` in UTC.
    static func createdOn(_ value: String?) -> String {
        guard let value, let millis = Int64(value) else { return value ?? "null" }
        let civil = UTCDateTime(epochMilliseconds: millis)
        return "\(pad(civil.day))-\(pad(civil.month))-\(civil.year) \(pad(civil.hour)):\(pad(civil.minute)):\(pad(civil.second)) UTC"
    }

    /// `component restart -n "a,b"` and `-n "a&b"` both name two components (the AWS CLI splits on
    /// `" *[&,]+ *"`); so does `deployment create --remove "a,b"`.
    static func splitNames(_ names: String) -> [String] {
        names.split(whereSeparator: { $0 == "," || $0 == "&" })
            .map { $0.trimmedWhitespace() }
            .filter { !$0.isEmpty }
    }

    static func compactJSON(_ value: JSONDocument) -> String {
        value.serialized()
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

enum CLIError: Error, CustomStringConvertible {
    case operationFailed(String)
    case nucleusUnreachable(socketPath: String, reason: String)
    case authenticationInfoMissing(directory: String)
    case remote(String)

    var description: String {
        switch self {
        case .operationFailed(let message): message
        case .nucleusUnreachable(let socketPath, let reason):
            "Cannot reach the Greengrass nucleus at \(socketPath): \(reason). Is greengrass-nucleus running?"
        case .authenticationInfoMissing(let directory):
            "Not able to find auth information in directory: \(directory). Please run CLI as authorized user or group."
        case .remote(let message): message
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and newlines (FoundationEssentials has no
    /// `trimmingCharacters(in:)`, and the CLI avoids linking all of Foundation).
    func trimmedWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
