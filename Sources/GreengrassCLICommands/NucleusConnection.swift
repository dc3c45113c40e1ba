import EventStreamRPCClient
import GreengrassIPCModel
import GreengrassJSON
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One authenticated event-stream connection to the nucleus; every CLI invocation opens a fresh one, as the AWS
/// CLI does.
struct NucleusConnection {
    let client: IPCClient
    let socketPath: String

    static func open(root: String) async throws -> NucleusConnection {
        let info = try readAuthenticationInfo(root: root)
        do {
            // Every CLI call has a 60 s bound, as the AWS CLI's.
            let client = try await IPCClient.connect(
                socketPath: info.domainSocketPath, authToken: info.cliAuthToken, timeout: .seconds(60))
            return NucleusConnection(client: client, socketPath: info.domainSocketPath)
        } catch {
            switch error {
            case .cannotConnect(let path, let reason): throw CLIError.nucleusUnreachable(socketPath: path, reason: reason)
            case .connectionRejected(let path):
                throw CLIError.nucleusUnreachable(
                    socketPath: path, reason: "the nucleus rejected this CLI's token (stale \(CLIAuthenticationInfo.directoryName) file?)")
            default: throw CLIError.nucleusUnreachable(socketPath: info.domainSocketPath, reason: "\(error)")
            }
        }
    }

    /// Looks for `user-<euid>`, then `group-<egid>`, then any readable file, like the AWS CLI.
    static func readAuthenticationInfo(root: String) throws -> CLIAuthenticationInfo {
        let directory = root + "/" + CLIAuthenticationInfo.directoryName
        var candidates = ["user-\(geteuid())", "group-\(getegid())"]
        if let others = try? FileManager.default.contentsOfDirectory(atPath: directory) {
            candidates += others.sorted()
        }
        for name in candidates {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
            if let info = try? JSONValueDecoder().decode(CLIAuthenticationInfo.self, from: data) { return info }
        }
        if !FileManager.default.fileExists(atPath: root + "/ipc.socket") {
            throw CLIError.nucleusUnreachable(socketPath: root + "/ipc.socket", reason: "no such socket")
        }
        throw CLIError.authenticationInfoMissing(directory: directory)
    }

    func call<Request: Encodable, Response: Decodable>(
        _ operation: GreengrassOperation, _ request: Request
    ) async throws -> Response {
        try await call(operation.operationName, request)
    }

    /// Calls a request/response operation by its ``IPCOperationName`` constant; the CLI is an ordinary IPC client
    /// of the nucleus's own services too. Errors name the operation by its short name (`PublishToTopic`).
    func call<Request: Encodable, Response: Decodable>(_ operation: String, _ request: Request) async throws -> Response {
        let name = IPCOperationName.shortName(of: operation)
        let payload = try JSONValueEncoder().encode(request)
        let response: IPCResponse
        do {
            response = try await client.call(
                operation: operation, requestShape: IPCOperationName.requestShape(of: operation), payload: payload)
        } catch {
            throw Self.describe(error, of: name)
        }
        return try Self.decode(Response.self, from: response, of: name)
    }

    /// Opens a streaming operation (`SubscribeToTopic`, `SubscribeToIoTCore`) by its ``IPCOperationName`` constant.
    func openStream<Request: Encodable>(_ operation: String, _ request: Request) async throws -> IPCClientStream {
        let payload = try JSONValueEncoder().encode(request)
        do {
            return try await client.openStream(
                operation: operation, requestShape: IPCOperationName.requestShape(of: operation), payload: payload)
        } catch {
            throw Self.describe(error, of: IPCOperationName.shortName(of: operation))
        }
    }

    static func decode<Response: Decodable>(_ type: Response.Type, from response: IPCResponse, of name: String) throws -> Response {
        do {
            return try JSONValueDecoder().decode(Response.self, from: response.payload)
        } catch let error as DecodingError {
            throw CLIError.remote("\(name): unexpected response from the nucleus: \(error.jsonSummary)")
        }
    }

    private static func describe(_ error: IPCClientError, of name: String) -> CLIError {
        if case .remote(let remote) = error {
            return CLIError.remote("\(name) failed: \(remote.name ?? "error"): \(remote.message ?? "no message")")
        }
        return CLIError.remote("\(name) failed: \(error)")
    }

    func close() async {
        await client.close()
    }
}
