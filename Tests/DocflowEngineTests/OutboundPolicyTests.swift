import Foundation
import Testing

@testable import DocflowEngine

/// The addresses a host text resolves to, read from getaddrinfo's socket addresses the way the
/// curl gate reads curl's: getaddrinfo takes the same shorthands as curl (`127.1`, `2130706433`,
/// `0x7f000001`, `0177.0.0.1`) and names (`localhost`); brackets go, as curl drops them.
private func resolved(_ host: String) throws -> [IPAddress] {
    let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var result: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(bare, "80", &hints, &result) == 0, let first = result else {
        throw TestFailure("cannot resolve \(host)")
    }
    defer { freeaddrinfo(first) }
    var addresses: [IPAddress] = []
    var cursor: UnsafeMutablePointer<addrinfo>? = first
    while let info = cursor {
        if let address = IPAddress(family: info.pointee.ai_family, sockaddr: UnsafeRawPointer(info.pointee.ai_addr)) {
            addresses.append(address)
        }
        cursor = info.pointee.ai_next
    }
    return addresses
}

private struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("Outbound policy")
struct OutboundPolicyTests {
    static let localForms: [(String, AddressClass)] = [
        ("127.0.0.1", .loopback), ("localhost", .loopback), ("2130706433", .loopback), ("0x7f000001", .loopback),
        ("0177.0.0.1", .loopback), ("127.1", .loopback), ("127.255.255.254", .loopback), ("[::1]", .loopback),
        ("[::ffff:127.0.0.1]", .loopback), ("[::ffff:7f00:1]", .loopback), ("[::127.0.0.1]", .loopback),
        ("[64:ff9b::127.0.0.1]", .loopback), ("[::ffff:0:127.0.0.1]", .loopback),
        ("0.0.0.0", .unspecified), ("0", .unspecified), ("[::]", .unspecified), ("[::ffff:0.0.0.0]", .unspecified),
        ("0.1.2.3", .thisNetwork),
        ("169.254.169.254", .cloudMetadata), ("[::ffff:169.254.169.254]", .cloudMetadata),
        ("[64:ff9b::a9fe:a9fe]", .cloudMetadata), ("[fd00:ec2::254]", .cloudMetadata),
        ("100.100.100.200", .cloudMetadata), ("192.0.0.192", .cloudMetadata),
        ("169.254.1.1", .linkLocal), ("[fe80::1]", .linkLocal), ("[febf::1]", .linkLocal),
        ("10.1.2.3", .privateNetwork), ("172.16.0.1", .privateNetwork), ("172.31.255.255", .privateNetwork),
        ("192.168.1.1", .privateNetwork), ("[fc00::1]", .privateNetwork), ("[fd12:3456::1]", .privateNetwork),
        ("[::ffff:10.0.0.1]", .privateNetwork), ("[64:ff9b::10.0.0.1]", .privateNetwork),
        ("100.64.0.1", .sharedAddressSpace), ("100.127.255.255", .sharedAddressSpace),
        ("224.0.0.1", .multicast), ("239.255.255.250", .multicast), ("[ff02::1]", .multicast),
        ("255.255.255.255", .broadcast), ("240.0.0.1", .reserved),
    ]

    @Test(arguments: localForms)
    func everyTextualFormOfALocalAddressResolvesToItsClassAndIsRefused(host: String, expected: AddressClass) throws {
        let addresses = try resolved(host)
        #expect(!addresses.isEmpty)
        for address in addresses {
            #expect(AddressClass(address) == expected, "\(host) -> \(address)")
            let refusal = OutboundPolicy().refusal(address)
            #expect(
                refusal
                    == "refused to connect to \(address) (\(expected)): docflow does not reach private or local addresses unless --outbound-allow lists them"
            )
        }
    }

    @Test(arguments: [
        "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "192.0.2.1", "[2001:db8::1]", "[2606:4700::1111]",
        "[64:ff9b::8.8.8.8]", "[::ffff:8.8.8.8]",
    ])
    func publicAddressesAreAllowed(host: String) throws {
        for address in try resolved(host) {
            #expect(AddressClass(address) == nil, "\(host) -> \(address)")
            #expect(OutboundPolicy().refusal(address) == nil)
        }
    }

    @Test func theMessageNamesTheAddressItsClassAndTheFlag() {
        #expect(
            OutboundPolicy().refusal(IPAddress("127.0.0.1")!)
                == "refused to connect to 127.0.0.1 (loopback): docflow does not reach private or local addresses unless --outbound-allow lists them"
        )
    }

    @Test func anAllowedRangeOpensItsAddressesInEveryFormAndNothingElse() throws {
        let policy = try OutboundPolicy(denied: [], allowed: ["127.0.0.2/32", "::1"])
        #expect(policy.refusal(IPAddress("127.0.0.2")!) == nil)
        #expect(policy.refusal(IPAddress("::ffff:127.0.0.2")!) == nil)
        #expect(policy.refusal(IPAddress("64:ff9b::7f00:2")!) == nil)
        #expect(policy.refusal(IPAddress("::1")!) == nil)
        #expect(policy.refusal(IPAddress("127.0.0.1")!)?.contains("(loopback)") == true)
        #expect(policy.refusal(IPAddress("::ffff:127.0.0.1")!)?.contains("(loopback)") == true)
        #expect(policy.refusal(IPAddress("0.0.0.0")!)?.contains("(unspecified)") == true)
        #expect(policy.refusal(IPAddress("::")!)?.contains("(unspecified)") == true)
    }

    @Test func anExplicitDenyWinsOverAnExplicitAllowAndReachesPublicAddresses() throws {
        let policy = try OutboundPolicy(
            denied: ["127.0.0.0/8", "203.0.113.0/24"], allowed: ["127.0.0.0/8", "::ffff:127.0.0.0/104"])
        for text in ["127.0.0.1", "::ffff:127.0.0.1", "203.0.113.9", "64:ff9b::cb00:7109"] {
            #expect(policy.refusal(IPAddress(text)!) == "refused to connect to \(text): --outbound-deny lists it")
        }
        #expect(policy.refusal(IPAddress("198.51.100.1")!) == nil)
    }

    @Test func anAllowedRangeCanOpenEvenTheMetadataAddress() throws {
        let policy = try OutboundPolicy(denied: [], allowed: ["169.254.169.254/32"])
        #expect(policy.refusal(IPAddress("169.254.169.254")!) == nil)
        #expect(policy.refusal(IPAddress("169.254.169.253")!)?.contains("(link-local)") == true)
    }

    @Test(arguments: ["10.0.0.0/33", "::/129", "localhost", "127.1/8", "10.0.0.0/", "10.0.0.0/x", "::ffff:10.0.0.0/64"])
    func aRangeThatIsNotCIDRIsRejectedNamingIt(text: String) {
        #expect(throws: OutboundError.invalid("not a CIDR range: \(text)")) {
            try OutboundPolicy(denied: [], allowed: [text])
        }
    }

    @Test func aMappedRangeIsReadAsTheIPv4RangeItMaps() {
        #expect(CIDR("::ffff:10.0.0.0/104") == CIDR("10.0.0.0/8"))
        #expect(CIDR("::ffff:127.0.0.1") == CIDR("127.0.0.1/32"))
        #expect(CIDR("10.1.2.3") == CIDR("10.1.2.3/32"))
    }
}
