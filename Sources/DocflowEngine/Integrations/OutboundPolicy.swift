/// Which addresses docflow may connect to. Integration configs and event data are untrusted, so
/// the policy judges the socket address curl is about to connect to, after DNS and after every
/// redirect: how the URL spelled the host (`localhost`, `2130706433`, `[::ffff:127.0.0.1]`) makes
/// no difference.
///
/// An address in `denied` is refused; else one in `allowed` is allowed; else one of an
/// `AddressClass` (loopback, private, link-local, metadata, ...) is refused; else it is allowed.
package struct OutboundPolicy: Sendable {
    /// `--outbound-deny`: refused whatever else says.
    package var denied: [CIDR]
    /// `--outbound-allow`: allowed even when of a refused class.
    package var allowed: [CIDR]

    package init(denied: [CIDR] = [], allowed: [CIDR] = []) {
        self.denied = denied
        self.allowed = allowed
    }

    /// `denied` and `allowed` are CIDR texts such as `10.1.0.0/16` or `::1`.
    package init(denied: [String], allowed: [String]) throws(OutboundError) {
        try self.init(denied: Self.ranges(denied), allowed: Self.ranges(allowed))
    }

    /// Nil when docflow may connect to `address`, else why not, in a sentence that names the flag.
    package func refusal(_ address: IPAddress) -> String? {
        let embedded = address.embeddedIPv4
        func listed(_ ranges: [CIDR]) -> Bool {
            ranges.contains { $0.contains(address) || embedded.map($0.contains) == true }
        }
        if listed(denied) { return "refused to connect to \(address): --outbound-deny lists it" }
        if listed(allowed) { return nil }
        guard let kind = AddressClass(address) else { return nil }
        return
            "refused to connect to \(address) (\(kind)): docflow does not reach private or local addresses unless --outbound-allow lists them"
    }

    private static func ranges(_ texts: [String]) throws(OutboundError) -> [CIDR] {
        var ranges: [CIDR] = []
        for text in texts where !text.isEmpty {
            guard let range = CIDR(text) else { throw .invalid("not a CIDR range: \(text)") }
            ranges.append(range)
        }
        return ranges
    }
}

package enum OutboundError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)

    package var description: String {
        switch self {
        case .invalid(let reason): reason
        }
    }
}
