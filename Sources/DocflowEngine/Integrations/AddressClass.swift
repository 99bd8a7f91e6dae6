/// The kinds of address docflow refuses to connect to unless an operator allows them: the host
/// itself, its private networks, and the cloud's metadata service.
package enum AddressClass: String, Sendable, CaseIterable, CustomStringConvertible {
    case cloudMetadata = "cloud metadata"
    case unspecified
    case thisNetwork = "this network"
    case loopback
    case linkLocal = "link-local"
    case privateNetwork = "private"
    case sharedAddressSpace = "carrier-grade NAT"
    case multicast
    case broadcast
    case reserved

    package var description: String { rawValue }

    /// Checked in order: the first range that holds an address names its class.
    private static let ranges: [(CIDR, AddressClass)] =
        ([
            ("169.254.169.254/32", .cloudMetadata),  // AWS, GCP, Azure, OpenStack
            ("100.100.100.200/32", .cloudMetadata),  // Alibaba Cloud
            ("192.0.0.192/32", .cloudMetadata),  // Oracle Cloud
            ("fd00:ec2::254/128", .cloudMetadata),  // AWS over IPv6
            ("0.0.0.0/32", .unspecified),
            ("0.0.0.0/8", .thisNetwork),
            ("127.0.0.0/8", .loopback),
            ("169.254.0.0/16", .linkLocal),
            ("10.0.0.0/8", .privateNetwork),
            ("172.16.0.0/12", .privateNetwork),
            ("192.168.0.0/16", .privateNetwork),
            ("100.64.0.0/10", .sharedAddressSpace),
            ("224.0.0.0/4", .multicast),
            ("255.255.255.255/32", .broadcast),
            ("240.0.0.0/4", .reserved),
            ("::/128", .unspecified),
            ("::1/128", .loopback),
            ("fe80::/10", .linkLocal),
            ("fec0::/10", .privateNetwork),  // site-local, deprecated but still routed by some
            ("fc00::/7", .privateNetwork),
            ("ff00::/8", .multicast),
        ] as [(String, AddressClass)]).map { (CIDR($0.0)!, $0.1) }

    /// The class of `address`, or nil for an address on the public internet. An IPv6 address that
    /// carries an IPv4 one (`::ffff:127.0.0.1`, `64:ff9b::a00:1`) has the class of the IPv4 one.
    package init?(_ address: IPAddress) {
        let effective = address.embeddedIPv4 ?? address
        guard let match = Self.ranges.first(where: { $0.0.contains(effective) }) else { return nil }
        self = match.1
    }
}
