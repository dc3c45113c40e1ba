import EventStreamRPCServer
import GreengrassIPCModel
import GreengrassJSON

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// JSON bodies of IPC requests and responses.
package enum IPCJSON {
    /// Decodes a request; a body that is not the expected shape is the caller's fault (`InvalidArgumentsError`).
    /// A value a shape's own decoder rejected (e.g. "Invalid QoS value") is reported with that decoder's words.
    package static func decode<Request: Decodable>(_ type: Request.Type, from payload: [UInt8]) throws(IPCModeledError) -> Request {
        let bytes = payload.isEmpty ? Array("{}".utf8) : payload
        do {
            return try JSONValueDecoder().decode(type, from: bytes)
        } catch let DecodingError.dataCorrupted(context) {
            throw IPCModeledError.invalidArguments(context.debugDescription)
        } catch {
            throw IPCModeledError.invalidArguments("Request body is not a valid \(type): \(error)")
        }
    }

    package static func encode<Response: Encodable>(_ response: Response) throws(IPCModeledError) -> [UInt8] {
        do {
            return try JSONValueEncoder().encode(response)
        } catch {
            throw IPCModeledError.serviceError("Cannot encode the response: \(error)")
        }
    }

    package static func reply<Response: Encodable>(_ operation: GreengrassOperation, _ response: Response) throws(IPCModeledError) -> IPCReply {
        .response(shape: operation.responseShape, json: try encode(response))
    }
}
