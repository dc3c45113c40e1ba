import EventStreamRPCClient
import Testing

extension EventStreamRPCSuites {
@Suite("IPCRemoteError message extraction")
struct IPCRemoteErrorTests {
    static func message(_ body: String) -> String? {
        IPCRemoteError(shape: "aws.greengrass#ServiceError", body: Array(body.utf8)).message
    }

    @Test("`message` first, then `_message`; members that are not strings and bodies that are not JSON objects give none")
    func messageMembers() {
        #expect(Self.message(#"{"message": "a", "_message": "b"}"#) == "a")
        #expect(Self.message(#"{"_message": "b", "_errorCode": "ServiceError"}"#) == "b")
        #expect(Self.message(#"{"message": 5, "_message": "b"}"#) == "b")
        #expect(Self.message(#"{"message": null}"#) == nil)
        #expect(Self.message(#"["message"]"#) == nil)
        #expect(Self.message("not json") == nil)
        #expect(Self.message("") == nil)
    }
}
}
