import CYAML
import GreengrassJSON

/// Builds a located `RecipeNode` tree from libyaml's event stream (`yaml_parser_parse`).
///
/// Working on events rather than on a composed document is what makes hostile files cheap to refuse: nesting is
/// checked as each collection opens (a 200,000-deep document stops at level 129, after reading only that far), and
/// an alias adds the size of the value it names to the expansion budget in one step (an alias bomb stops at the
/// alias that crosses the budget, without expanding anything).
final class YAMLComposer {
    /// A composed value with the two numbers the limits need: values it expands to, and levels below it.
    private struct Composed {
        var node: RecipeNode
        var size: Int
        var height: Int
    }

    private struct Event {
        enum Kind {
            case streamStart, streamEnd, documentStart, documentEnd
            case alias(String)
            case scalar(YAMLScalar, anchor: String?)
            case sequenceStart(anchor: String?)
            case sequenceEnd
            case mappingStart(anchor: String?)
            case mappingEnd
        }

        var kind: Kind
        var position: SourcePosition
    }

    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeMutableBufferPointer<UInt8>
    private let file: String
    private var anchors: [String: Composed] = [:]
    private var budget = RecipeLimits.maximumNodes

    private init(_ text: String, file: String) {
        self.file = file
        input = .allocate(capacity: max(text.utf8.count, 1))
        _ = input.initialize(fromContentsOf: text.utf8)
        parser = .allocate(capacity: 1)
        parser.initialize(to: yaml_parser_t())
        yaml_parser_initialize(parser)
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, input.baseAddress, text.utf8.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    /// The single document in `text`, or `nil` when the stream holds none (only comments or blank lines).
    static func compose(_ text: String, file: String) throws(RecipeError) -> RecipeNode? {
        try YAMLComposer(text, file: file).document()
    }

    private func document() throws(RecipeError) -> RecipeNode? {
        _ = try next()  // stream start
        let start = try next()
        guard case .documentStart = start.kind else { return nil }
        let root = try compose(try next(), depth: 0)
        _ = try next()  // document end
        let after = try next()
        if case .documentStart = after.kind {
            throw error(.syntax, at: after.position, "invalid YAML: expected a single document, found another")
        }
        return root.node
    }

    private func compose(_ event: Event, depth: Int) throws(RecipeError) -> Composed {
        guard depth <= RecipeLimits.maximumDepth else {
            throw error(.limitExceeded, at: event.position, "nesting deeper than \(RecipeLimits.maximumDepth) levels")
        }
        switch event.kind {
        case .alias(let name):
            guard let value = anchors[name] else {
                throw error(.syntax, at: event.position, "invalid YAML: found undefined alias *\(name)")
            }
            guard depth + value.height <= RecipeLimits.maximumDepth else {
                throw error(.limitExceeded, at: event.position, "nesting deeper than \(RecipeLimits.maximumDepth) levels")
            }
            try spend(value.size, at: event.position)
            return value
        case .scalar(let scalar, let anchor):
            try spend(1, at: event.position)
            let node = RecipeNode(content: .scalar(scalar.value, text: scalar.text), location: event.position)
            return register(Composed(node: node, size: 1, height: 0), as: anchor)
        case .sequenceStart(let anchor):
            try spend(1, at: event.position)
            var elements: [RecipeNode] = []
            var size = 1, height = 0
            while true {
                let element = try next()
                if case .sequenceEnd = element.kind { break }
                let composed = try compose(element, depth: depth + 1)
                elements.append(composed.node)
                size += composed.size
                height = max(height, composed.height + 1)
            }
            let node = RecipeNode(content: .sequence(elements), location: event.position)
            return register(Composed(node: node, size: size, height: height), as: anchor)
        case .mappingStart(let anchor):
            try spend(1, at: event.position)
            var members: [RecipeNode.Member] = []
            var keys: Set<String> = []
            var size = 1, height = 0
            while true {
                let keyEvent = try next()
                if case .mappingEnd = keyEvent.kind { break }
                let key = try self.key(keyEvent)
                guard keys.insert(key).inserted else {
                    throw error(.syntax, at: keyEvent.position, "invalid YAML: duplicate key \"\(key)\"")
                }
                let composed = try compose(try next(), depth: depth + 1)
                members.append(RecipeNode.Member(key: key, value: composed.node))
                size += composed.size
                height = max(height, composed.height + 1)
            }
            let node = RecipeNode(content: .mapping(members), location: event.position)
            return register(Composed(node: node, size: size, height: height), as: anchor)
        case .streamStart, .streamEnd, .documentStart, .documentEnd, .sequenceEnd, .mappingEnd:
            throw error(.syntax, at: event.position, "invalid YAML: unexpected end of a value")
        }
    }

    /// A mapping key is its text as written (`1`, `true` and `~` are the keys "1", "true" and "~"), as Jackson
    /// reads them; a list or map as a key is refused.
    private func key(_ event: Event) throws(RecipeError) -> String {
        switch event.kind {
        case .scalar(let scalar, let anchor):
            let node = RecipeNode(content: .scalar(scalar.value, text: scalar.text), location: event.position)
            _ = register(Composed(node: node, size: 1, height: 0), as: anchor)
            return scalar.text
        case .alias(let name):
            if case .scalar(_, let text)? = anchors[name]?.node.content { return text }
        default:
            break
        }
        throw error(.wrongType, at: event.position, "mapping keys must be plain strings")
    }

    private func register(_ composed: Composed, as anchor: String?) -> Composed {
        if let anchor { anchors[anchor] = composed }
        return composed
    }

    private func spend(_ values: Int, at position: SourcePosition) throws(RecipeError) {
        budget -= values
        guard budget >= 0 else {
            throw error(.limitExceeded, at: position,
                        "the document expands to more than \(RecipeLimits.maximumNodes) values (YAML aliases?)")
        }
    }

    private func error(_ code: RecipeError.Code, at position: SourcePosition?, _ reason: String) -> RecipeError {
        RecipeError(code: code, file: file, field: "", line: position?.line, column: position?.column, reason: reason)
    }

    // MARK: - libyaml events

    private func next() throws(RecipeError) -> Event {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) != 0 else { throw parserError() }
        defer { yaml_event_delete(&event) }
        let position = SourcePosition(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
        switch event.type {
        case YAML_STREAM_START_EVENT:
            return Event(kind: .streamStart, position: position)
        case YAML_DOCUMENT_START_EVENT:
            return Event(kind: .documentStart, position: position)
        case YAML_DOCUMENT_END_EVENT:
            return Event(kind: .documentEnd, position: position)
        case YAML_ALIAS_EVENT:
            return Event(kind: .alias(Self.string(event.data.alias.anchor) ?? ""), position: position)
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: data.value, count: data.length), as: UTF8.self)
            // Untagged scalars have no tag here; a tag (`!!str 1`, `!!int "2"`, the non-specific `! 1`) decides the
            // type itself. (libyaml's implicit flags are for emitters: it sets plain_implicit for `! 1` too.)
            let tag = Self.string(data.tag)
            let scalar = YAMLScalar(text: text, isPlain: data.style == YAML_PLAIN_SCALAR_STYLE, explicitTag: tag)
            return Event(kind: .scalar(scalar, anchor: Self.string(data.anchor)), position: position)
        case YAML_SEQUENCE_START_EVENT:
            return Event(kind: .sequenceStart(anchor: Self.string(event.data.sequence_start.anchor)), position: position)
        case YAML_SEQUENCE_END_EVENT:
            return Event(kind: .sequenceEnd, position: position)
        case YAML_MAPPING_START_EVENT:
            return Event(kind: .mappingStart(anchor: Self.string(event.data.mapping_start.anchor)), position: position)
        case YAML_MAPPING_END_EVENT:
            return Event(kind: .mappingEnd, position: position)
        default:
            return Event(kind: .streamEnd, position: position)
        }
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private func parserError() -> RecipeError {
        let state = parser.pointee
        let problem = state.problem.map { String(cString: $0) } ?? "unknown error"
        switch state.error {
        case YAML_MEMORY_ERROR:
            return error(.limitExceeded, at: nil, "invalid YAML: out of memory")
        case YAML_READER_ERROR:
            // Reader errors (a control character, say) carry a byte offset rather than a mark.
            let offset = min(Int(state.problem_offset), input.count)
            return error(.syntax, at: SourcePosition(ofByte: offset, in: UnsafeBufferPointer(input)),
                         "invalid YAML: " + problem)
        default:
            var reason = "invalid YAML: " + problem
            if let context = state.context.map({ String(cString: $0) }) {
                reason += " (\(context) at \(state.context_mark.line + 1):\(state.context_mark.column + 1))"
            }
            let mark = state.problem_mark
            return error(.syntax, at: SourcePosition(line: Int(mark.line) + 1, column: Int(mark.column) + 1), reason)
        }
    }
}

extension SourcePosition {
    /// The line and column of byte `offset` in UTF-8 `bytes`, counting columns in characters as libyaml does.
    init(ofByte offset: Int, in bytes: some Collection<UInt8>) {
        var line = 1, column = 1
        for byte in bytes.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        self.init(line: line, column: column)
    }
}
