import Foundation

/// Which destinations docflow may send to. Event and workflow data are untrusted, so a URL is
/// checked after DNS resolution, against the addresses curl will then be pinned to: link-local
/// and cloud metadata addresses are refused by default, private ranges on request.
package struct OutboundPolicy: Sendable {
    package var denied: [CIDR]
    /// When not empty, only these destinations are allowed (after `denied`).
    package var allowed: [CIDR]

    package static let metadata: [CIDR] = ["169.254.0.0/16", "fd00:ec2::254/128", "fe80::/10"].compactMap(CIDR.init)
    package static let privateRanges: [CIDR] = [
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7",
    ].compactMap(CIDR.init)

    package init(denied: [CIDR] = OutboundPolicy.metadata, allowed: [CIDR] = []) {
        self.denied = denied
        self.allowed = allowed
    }

    /// The default plus, when `denyPrivate`, the private ranges; `extraDenied` and `allowed` are
    /// CIDR texts such as `10.1.0.0/16`.
    package init(denyPrivate: Bool, extraDenied: [String] = [], allowed: [String] = []) throws(OutboundError) {
        var denied = Self.metadata + (denyPrivate ? Self.privateRanges : [])
        for text in extraDenied {
            guard let cidr = CIDR(text) else { throw .invalid("not a CIDR range: \(text)") }
            denied.append(cidr)
        }
        var allowedRanges: [CIDR] = []
        for text in allowed {
            guard let cidr = CIDR(text) else { throw .invalid("not a CIDR range: \(text)") }
            allowedRanges.append(cidr)
        }
        self.init(denied: denied, allowed: allowedRanges)
    }

    /// Resolves `host` and returns its addresses when every one of them may be reached.
    package func resolve(host: String, port: Int) throws(OutboundError) -> [String] {
        let addresses = try Self.lookup(host: host, port: port)
        for address in addresses {
            guard let bytes = CIDR.bytes(of: address) else { throw .denied("\(host) resolved to \(address)") }
            if denied.contains(where: { $0.contains(bytes) }) {
                throw .denied("\(host) resolves to \(address), a denied address")
            }
            if !allowed.isEmpty, !allowed.contains(where: { $0.contains(bytes) }) {
                throw .denied("\(host) resolves to \(address), outside the allowed destinations")
            }
        }
        return addresses
    }

    private static func lookup(host: String, port: Int) throws(OutboundError) -> [String] {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(bare, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw .unresolvable("cannot resolve \(bare): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(
                info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST)
                == 0
            {
                let text = String(cString: buffer)
                if !addresses.contains(text) { addresses.append(text) }
            }
            cursor = info.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw .unresolvable("\(bare) has no addresses") }
        return addresses
    }
}

package enum OutboundError: Error, Sendable, Equatable, CustomStringConvertible {
    case denied(String)
    case unresolvable(String)
    case invalid(String)

    package var description: String {
        switch self {
        case .denied(let reason): "destination refused: \(reason)"
        case .unresolvable(let reason): reason
        case .invalid(let reason): reason
        }
    }
}

/// An IPv4 or IPv6 address range.
package struct CIDR: Sendable, Equatable {
    let network: [UInt8]
    let prefix: Int

    package init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let bytes = Self.bytes(of: String(parts[0])) else { return nil }
        let prefix = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
        guard let prefix, (0...(bytes.count * 8)).contains(prefix) else { return nil }
        self.network = bytes
        self.prefix = prefix
    }

    func contains(_ address: [UInt8]) -> Bool {
        guard address.count == network.count else { return false }
        var remaining = prefix
        for (a, b) in zip(address, network) where remaining > 0 {
            let bits = min(remaining, 8)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if a & mask != b & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// The address's bytes: 4 for IPv4, 16 for IPv6 (an IPv4-mapped IPv6 address counts as IPv4).
    static func bytes(of address: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        let bare = address.split(separator: "%").first.map(String.init) ?? address
        guard inet_pton(AF_INET6, bare, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF { return Array(bytes[12...]) }
        return bytes
    }
}
