import Crypto
import Foundation

/// `X-Docflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (contract
/// section 3): how webhook senders prove they hold the workflow's secret, and how docflow signs
/// what it sends.
package enum WebhookSignature {
    package static let header = "X-Docflow-Signature"
    /// How far a signature's timestamp may be from now.
    package static let tolerance: TimeInterval = 300

    package static func sign(_ body: some DataProtocol, secret: String, timestamp: Int) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: signed(body, timestamp), using: key(secret))
        return "t=\(timestamp),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    package enum Failure: Error, Equatable, CustomStringConvertible {
        case missing
        case malformed
        case expired
        case mismatch

        package var description: String {
            switch self {
            case .missing: "the X-Docflow-Signature header is missing"
            case .malformed: "the X-Docflow-Signature header is not t=<unix seconds>,v1=<hex>"
            case .expired: "the signature's timestamp is more than 5 minutes from now"
            case .mismatch: "the signature does not match the body"
            }
        }
    }

    /// A signature that matched.
    package struct Verified: Sendable, Equatable {
        /// The header's `t`, unix seconds.
        package var timestamp: Int
        /// SHA-256 of the matching `v1` MAC: the same for every copy of one signed request (the
        /// MAC covers `t` and the body), whatever else the header carries.
        package var digest: Data
    }

    /// Checks a signature header in constant time.
    @discardableResult
    package static func verify(_ header: String?, body: some DataProtocol, secret: String, now: Date = Date())
        throws(Failure) -> Verified
    {
        guard let header, !header.isEmpty else { throw .missing }
        var timestamp: Int?
        var signatures: [Data] = []
        for part in header.split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            switch pair[0] {
            case "t": timestamp = Int(pair[1])
            case "v1": if let bytes = Data(hex: String(pair[1])) { signatures.append(bytes) }
            default: continue
            }
        }
        guard let timestamp, !signatures.isEmpty else { throw .malformed }
        guard abs(now.timeIntervalSince1970 - Double(timestamp)) <= tolerance else { throw .expired }
        let message = signed(body, timestamp)
        let key = key(secret)
        guard
            let match = signatures.first(where: {
                HMAC<SHA256>.isValidAuthenticationCode($0, authenticating: message, using: key)
            })
        else { throw .mismatch }
        return Verified(timestamp: timestamp, digest: Data(SHA256.hash(data: match)))
    }

    private static func signed(_ body: some DataProtocol, _ timestamp: Int) -> Data {
        var message = Data("\(timestamp).".utf8)
        message.append(contentsOf: body)
        return message
    }

    private static func key(_ secret: String) -> SymmetricKey {
        SymmetricKey(data: Data(secret.utf8))
    }
}

extension Data {
    init?(hex: String) {
        guard hex.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(hex.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
