/// An IPv4 or IPv6 address range, such as `10.0.0.0/8` or `fd00::/8`; one address without a
/// prefix length is a range of one.
package struct CIDR: Sendable, Equatable, CustomStringConvertible {
    let network: [UInt8]
    let prefix: Int

    /// An IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) is read as the IPv4 range it maps.
    package init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        var bytes = address.bytes
        var prefix = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
        if let embedded = address.embeddedIPv4, bytes[10] == 0xFF, bytes[0..<10].allSatisfy({ $0 == 0 }) {
            bytes = embedded.bytes
            prefix = prefix.map { $0 - 96 }
        }
        guard let prefix, (0...(bytes.count * 8)).contains(prefix) else { return nil }
        self.network = bytes
        self.prefix = prefix
    }

    package func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == network.count else { return false }
        var remaining = prefix
        for (a, b) in zip(address.bytes, network) where remaining > 0 {
            let bits = min(remaining, 8)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if a & mask != b & mask { return false }
            remaining -= bits
        }
        return true
    }

    package var description: String {
        "\(IPAddress(bytes: network).map(\.description) ?? "?")/\(prefix)"
    }
}
