import EventStream
import NIOCore
import Testing

@Suite("JSON string members of ProtocolError and modeled-error bodies")
struct JSONBodyTests {
    /// The same escaping as every other JSON GreengrassJSON writes (Jackson's): short escapes for \b and \f,
    /// upper-case hex for the other controls, `/` and non-ASCII as is.
    @Test func stringsAreEscapedByTheOneEscaper() {
        let message = RPCMessage.connectionError(.protocolError, message: "a\"\\/\u{1}\u{8}\u{C}\n\u{1F}é")
        let body = String(buffer: message.payload)
        #expect(body == #"{"message":"a\"\\/\u0001\b\f\n\u001Fé"}"#)
    }
}
