import EventStreamRPCServer
import GreengrassIPCModel
import NIOEmbedded
import GreengrassIPCServices
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite("ValidateAuthorizationToken and auth tokens")
struct TokenValidationTests {
    func call(_ router: IPCRouter, principal: String, token: String) async -> IPCReply {
        let stream = IPCStream.detached(operation: TokenValidation.operation, eventLoop: EmbeddedEventLoop()) { _ in }
        return await router.handle(
            IPCCall(principal: principal, operation: TokenValidation.operation, payload: Array(#"{"token":"\#(token)"}"#.utf8), stream: stream))
    }

    @Test func onlyStreamManagerMayValidateAndOnlyIssuedTokensAreValid() async {
        let tokens = AuthenticationTokens()
        let issued = tokens.issue(for: "com.example.A")
        var router = IPCRouter()
        TokenValidation(tokens: tokens).register(on: &router)

        let valid = await call(router, principal: "aws.greengrass.StreamManager", token: issued)
        #expect(valid == .response(shape: "aws.greengrass#ValidateAuthorizationTokenResponse", json: Array(#"{"isValid":true}"#.utf8)))
        let invalid = await call(router, principal: "aws.greengrass.StreamManager", token: "nope")
        guard case .error(let error) = invalid else { Issue.record("expected an error"); return }
        #expect(error.name == "InvalidTokenError")
        let denied = await call(router, principal: "com.example.A", token: issued)
        guard case .error(let deniedError) = denied else { Issue.record("expected an error"); return }
        #expect(deniedError.name == "UnauthorizedError")
        #expect(deniedError.message.contains("com.example.A"))
    }

    @Test func tokensAreLongRandomAndRevocable() {
        let tokens = AuthenticationTokens()
        let first = tokens.issue(for: "A")
        #expect(first.count == 32 && first.allSatisfy(\.isHexDigit))
        #expect(tokens.principal(forToken: first) == "A")
        #expect(tokens.token(for: "A") == first)
        let second = tokens.issue(for: "A")
        #expect(second != first)
        #expect(tokens.principal(forToken: first) == nil, "re-issuing revokes the old token")
        tokens.revoke(principal: "A")
        #expect(tokens.principal(forToken: second) == nil)
        let many = Set((0..<1000).map { tokens.issue(for: "P\($0)") })
        #expect(many.count == 1000)
    }
}
