import GreengrassRecipe

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A recipe artifact's `Algorithm`: the digests the Java nucleus accepts through `MessageDigest.getInstance`
/// for artifacts (names compared case-insensitively, as Java's provider lookup does).
public enum ArtifactDigestAlgorithm: String, Sendable, Hashable, CaseIterable {
    case sha1 = "SHA-1"
    case sha256 = "SHA-256"
    case sha384 = "SHA-384"
    case sha512 = "SHA-512"

    /// Length of the digest in bytes.
    public var byteCount: Int {
        switch self {
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }

    /// `nil` (no `Algorithm` in the recipe) means SHA-256, Greengrass's default; anything else unknown is refused.
    public init?(recipeName: String?) {
        guard let recipeName else {
            self = .sha256
            return
        }
        guard let match = Self.allCases.first(where: { $0.rawValue.uppercased() == recipeName.uppercased() })
        else { return nil }
        self = match
    }
}

/// What a recipe says an artifact's digest is: checked when a deployment copies the artifact in and when a stored
/// artifact is reused. An artifact without `Digest` has none (accepted, as Greengrass does for local deployments).
public struct ExpectedArtifactDigest: Sendable, Hashable {
    public var algorithm: ArtifactDigestAlgorithm
    /// The recipe's `Digest` text (base64), quoted back in a mismatch.
    public var text: String
    public var bytes: [UInt8]
    /// "`<uri>` of `<component>` `<version>`", for messages.
    public var artifactLabel: String

    /// - Returns: `nil` when the artifact has no `Digest`.
    /// - Throws: an ``ArtifactError`` naming the artifact when its `Algorithm` is unsupported or `Digest` is not
    ///   base64 of that algorithm's length.
    public init?(_ artifact: ComponentArtifact, component: String, version: String) throws(ArtifactError) {
        guard let digest = artifact.digest else { return nil }
        guard let algorithm = ArtifactDigestAlgorithm(recipeName: artifact.algorithm) else {
            let supported = ArtifactDigestAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
            throw ArtifactError(
                "Artifact \(artifact.uri) of \(component) \(version): Algorithm requested for artifact checksum is not "
                    + "supported: '\(artifact.algorithm ?? "")' (supported: \(supported))", isIntegrityFailure: true)
        }
        let trimmed = String(digest.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
        guard let decoded = Data(base64Encoded: trimmed), decoded.count == algorithm.byteCount else {
            throw ArtifactError(
                "Artifact \(artifact.uri) of \(component) \(version): Digest '\(digest)' is not the base64 of a "
                    + "\(algorithm.rawValue) digest (\(algorithm.byteCount) bytes)", isIntegrityFailure: true)
        }
        self.algorithm = algorithm
        self.text = trimmed
        self.bytes = Array(decoded)
        self.artifactLabel = "\(artifact.uri) of \(component) \(version)"
    }

    /// The expected digests of `artifacts`, by the file name each has in the store.
    public static func byFileName(
        _ artifacts: [ComponentArtifact], component: String, version: String
    ) throws(ArtifactError) -> [String: ExpectedArtifactDigest] {
        var digests: [String: ExpectedArtifactDigest] = [:]
        for artifact in artifacts {
            if let expected = try ExpectedArtifactDigest(artifact, component: component, version: version) {
                digests[artifact.fileName] = expected
            }
        }
        return digests
    }

    /// Throws the Greengrass integrity-check failure, naming the artifact, the expected and the actual digest,
    /// unless `actual` matches.
    public func check(actual: [UInt8]) throws(ArtifactError) {
        guard actual != bytes else { return }
        throw ArtifactError(
            "Integrity check for artifact \(artifactLabel) failed: expected \(algorithm.rawValue) "
                + "digest \(text), actual \(Data(actual).base64EncodedString())", isIntegrityFailure: true)
    }
}
