import EventStreamRPCServer
import GreengrassIPCModel

/// `ValidateAuthorizationToken`: only `aws.greengrass.StreamManager` may ask whether a token is one the nucleus
/// issued (Greengrass's `aws.greengrass.authorizationagent` rule); everyone else gets UnauthorizedError.
public struct TokenValidation: Sendable {
    public static let operation = IPCOperationName.validateAuthorizationToken
    static let allowedPrincipal = "aws.greengrass.StreamManager"

    let tokens: AuthenticationTokens

    public init(tokens: AuthenticationTokens) {
        self.tokens = tokens
    }

    public func register(on router: inout IPCRouter) {
        router.register(Self.operation) { call in self.handle(call) }
    }

    struct Request: Decodable { var token: String? }
    struct Response: Encodable { var isValid: Bool }

    func handle(_ call: IPCCall) -> IPCReply {
        do throws(IPCModeledError) {
            guard call.principal == Self.allowedPrincipal else {
                throw .unauthorized(
                    "Principal \(call.principal) is not authorized to perform aws.greengrass.authorizationagent:\(Self.operation) on resource *")
            }
            let request = try IPCJSON.decode(Request.self, from: call.payload)
            guard let token = request.token, !token.isEmpty else { throw .invalidArguments("token is required") }
            guard tokens.principal(forToken: token) != nil else { throw .invalidToken("Invalid token used by stream manager") }
            return .response(
                shape: "aws.greengrass#ValidateAuthorizationTokenResponse", json: try IPCJSON.encode(Response(isValid: true)))
        } catch {
            return .error(error)
        }
    }
}
