import Crypto
import DocflowCore
import DocflowStore
import Foundation

/// Who made an API call, as the audit log and the logs name them.
package struct Caller: Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable {
        /// An HTTP caller, by its API key's name.
        case apiKey = "api_key"
        /// An AMQP caller, by the `user_id` the broker validated.
        case brokerUser = "broker_user"
        /// Nobody proved who they are: HTTP with authentication turned off, or AMQP without `user_id`.
        case anonymous
    }

    package var kind: Kind
    package var name: String

    package init(kind: Kind, name: String) {
        self.kind = kind
        self.name = name
    }

    package static let anonymous = Caller(kind: .anonymous, name: "anonymous")

    package var description: String { kind == .anonymous ? name : "\(kind.rawValue):\(name)" }
}

/// API keys: `dfk_<id>_<secret>`, where the id finds the stored key and only the secret's SHA-256
/// is kept. A key is shown once, when it is made.
package enum APIKeys {
    package static let prefix = "dfk_"

    /// A new key: the record to store and the key to show its owner once.
    package static func make(name: String, scope: APIKeyScope, expiresAt: Date?, now: Date = Date()) -> (
        record: APIKeyRecord, key: String
    ) {
        let id = randomToken(bytes: 6, alphabet: Array("0123456789abcdefghijklmnopqrstuv"))
        let secret = randomToken(bytes: 32, alphabet: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
        let record = APIKeyRecord(
            id: id, name: name, scope: scope, secretSHA256: digest(secret), createdAt: now, expiresAt: expiresAt)
        return (record, "\(prefix)\(id)_\(secret)")
    }

    /// The id and secret of a key in its shown form, or nil when it is not one.
    package static func parse(_ key: String) -> (id: String, secret: String)? {
        guard key.hasPrefix(prefix) else { return nil }
        let rest = key.dropFirst(prefix.count)
        guard let separator = rest.firstIndex(of: "_") else { return nil }
        let id = rest[..<separator]
        let secret = rest[rest.index(after: separator)...]
        guard !id.isEmpty, !secret.isEmpty, id.count <= 64, secret.count <= 256 else { return nil }
        return (String(id), String(secret))
    }

    /// Whether `secret` is the one whose digest `record` keeps, in time that does not depend on
    /// where they differ.
    package static func matches(_ secret: String, _ record: APIKeyRecord) -> Bool {
        let presented = digest(secret)
        guard presented.count == record.secretSHA256.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(presented, record.secretSHA256) { difference |= a ^ b }
        return difference == 0
    }

    package static func digest(_ secret: String) -> Data {
        Data(SHA256.hash(data: Data(secret.utf8)))
    }

    /// Random characters from `alphabet`, about `bytes` bytes of entropy or more.
    private static func randomToken(bytes: Int, alphabet: [Character]) -> String {
        var generator = SystemRandomNumberGenerator()
        let bitsPerCharacter = log2(Double(alphabet.count))
        let count = Int((Double(bytes * 8) / bitsPerCharacter).rounded(.up))
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}
