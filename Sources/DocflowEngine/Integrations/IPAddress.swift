import Foundation

/// An IPv4 or IPv6 address as the bytes a socket connects to: 4 or 16 of them, never a name.
package struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, in network order.
    package let bytes: [UInt8]

    package var isIPv4: Bool { bytes.count == 4 }

    package init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// A numeric address in its standard form only (`127.0.0.1`, `::ffff:127.0.0.1`, `fe80::1%eth0`):
    /// inet_pton's reading, which takes none of the shorthands (`127.1`, `0x7f000001`) that
    /// getaddrinfo and curl accept. Those reach the policy as the socket address they resolve to.
    package init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        let bare = text.split(separator: "%", maxSplits: 1).first.map(String.init) ?? text
        guard inet_pton(AF_INET6, bare, &v6) == 1 else { return nil }
        bytes = withUnsafeBytes(of: &v6) { Array($0) }
    }

    /// The address of a `sockaddr_in` or `sockaddr_in6`; nil for any other family.
    package init?(family: Int32, sockaddr: UnsafeRawPointer) {
        switch family {
        case AF_INET:
            var address = sockaddr.loadUnaligned(as: sockaddr_in.self).sin_addr
            bytes = withUnsafeBytes(of: &address) { Array($0) }
        case AF_INET6:
            var address = sockaddr.loadUnaligned(as: sockaddr_in6.self).sin6_addr
            bytes = withUnsafeBytes(of: &address) { Array($0) }
        default:
            return nil
        }
    }

    /// The IPv4 address an IPv6 address carries and that a host or a translator turns it into:
    /// IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, IPv4-compatible
    /// `::a.b.c.d`, and the NAT64 well-known prefix `64:ff9b::a.b.c.d`.
    package var embeddedIPv4: IPAddress? {
        guard bytes.count == 16 else { return nil }
        let head = bytes[0..<12]
        let tail = Array(bytes[12...])
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
        let translated: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0]
        let nat64: [UInt8] = [0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0]
        if head.elementsEqual(mapped) || head.elementsEqual(translated) || head.elementsEqual(nat64) {
            return IPAddress(bytes: tail)
        }
        // IPv4-compatible, but not `::` and `::1`, which are IPv6's own.
        if head.allSatisfy({ $0 == 0 }), tail[0] != 0 || tail[1] != 0 || tail[2] != 0 || tail[3] > 1 {
            return IPAddress(bytes: tail)
        }
        return nil
    }

    package var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isIPv4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        guard ok != nil else { return bytes.map(String.init).joined(separator: ".") }
        return String(cString: buffer)
    }
}
