import GreengrassJSON
import Yams

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `<root>/config/effectiveConfig.yaml`: a human-readable dump of the configuration, as Greengrass keeps one.
/// Informational only — the store is the source of truth — so a write failure is not fatal.
enum EffectiveConfiguration {
    static func write(_ tree: JSONValue, to path: String) {
        guard let text = try? Yams.serialize(node: node(tree), sortKeys: true) else { return }
        try? Data(text.utf8).write(to: URL(fileURLWithPath: path), options: [.atomic])
    }

    static func node(_ value: JSONValue) -> Node {
        switch value {
        case .null: return Node("null", Tag(.null))
        case .bool(let flag): return Node(flag ? "true" : "false", Tag(.bool))
        case .int(let number): return Node(String(number), Tag(.int))
        case .double(let number): return Node(String(number), Tag(.float))
        case .string(let text): return Node(text, Tag(.str), .doubleQuoted)
        case .array(let items): return Node(items.map(node))
        case .object(let members):
            return Node(members.sorted { $0.key < $1.key }.map { (Node($0.key), node($0.value)) })
        }
    }
}
