import EventStream
import GreengrassIPCModel
import NIOCore

extension IPCModeledError {
    /// The JSON body every SDK understands: `message` (Python reads it), `_message`/`_errorCode`/`_service` (Java
    /// reads them), plus the shape-specific members.
    public var json: ByteBuffer {
        var body = ByteBuffer()
        body.writeStaticString("{\"message\":")
        body.writeJSONString(message)
        for key in extraMembers.keys.sorted() {
            body.writeStaticString(",")
            body.writeJSONString(key)
            body.writeStaticString(":")
            body.writeJSONString(extraMembers[key]!)
        }
        body.writeStaticString(",\"_service\":")
        body.writeJSONString(Self.serviceName)
        body.writeStaticString(",\"_message\":")
        body.writeJSONString(message)
        body.writeStaticString(",\"_errorCode\":")
        body.writeJSONString(name)
        body.writeStaticString("}")
        return body
    }
}
