import DocflowCore
import Foundation
import Testing

@testable import DocflowEngine

/// What errors may show of a URL: scheme, host and port, never user, password, path or query,
/// and libcurl's own text adds nothing to it.
@Suite struct RedactionTests {
    @Test func urlsShowTheirOriginOnly() {
        #expect(
            CurlClient.redacted("https://hooks.slack.com/services/T0/B0/SECRETTOKEN") == "https://hooks.slack.com/…")
        #expect(CurlClient.redacted("http://user:SECRETTOKEN@example.com:8080/a?b=c") == "http://example.com:8080/…")
        #expect(CurlClient.redacted("https://example.com/?sig=SECRETTOKEN") == "https://example.com/…")
        #expect(CurlClient.redacted("https://example.com#SECRETTOKEN") == "https://example.com/…")
        #expect(CurlClient.redacted("https://example.com/") == "https://example.com")
        #expect(CurlClient.redacted("smtp://mailer:SECRETTOKEN@smtp.example.com:587") == "smtp://smtp.example.com:587")
        #expect(CurlClient.redacted("http://[::1]:9000/SECRETTOKEN") == "http://[::1]:9000/…")
        #expect(CurlClient.redacted("https://exa mple.com/SECRETTOKEN").contains("SECRETTOKEN") == false)
        #expect(CurlClient.redacted("file:///srv/documents/a.pdf") == "file:///srv/documents/a.pdf")
    }

    /// A port nothing listens on, on loopback.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        guard ok else { throw CancellationError() }
        // Bound but never listening: a connect is refused.
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test func transferErrorsNeverCarryTheSecretPartsOfTheURL() async throws {
        let client = CurlClient(policy: OutboundPolicy(denied: [], allowed: [CIDR("127.0.0.0/8")!]))
        let port = try Self.closedPort()
        let urls = [
            "http://user:SECRETTOKEN@127.0.0.1:\(port)/services/T0/B0/SECRETTOKEN?token=SECRETTOKEN",
            "http://127.0.0.1:\(port)/SECRETTOKEN",
            "https://nothing-here.invalid/SECRETTOKEN",
            "ftp://127.0.0.1/SECRETTOKEN",
            "http:///SECRETTOKEN",
        ]
        for url in urls {
            do {
                _ = try await client.perform(HTTPRequest(method: "POST", url: url, timeout: .seconds(10)))
                Issue.record("\(url) answered")
            } catch {
                let text = error.description
                #expect(!text.contains("SECRETTOKEN"), "\(text)")
            }
        }
        do {
            try await client.sendMail(
                smtpURL: "smtp://mailer:SECRETTOKEN@127.0.0.1:\(port)/SECRETTOKEN", from: "a@example.com",
                to: ["b@example.com"], message: Data("x".utf8), timeout: .seconds(10))
            Issue.record("mail went out")
        } catch {
            #expect(!error.description.contains("SECRETTOKEN"), "\(error.description)")
            #expect(error.description.contains("smtp://127.0.0.1:\(port)"), "\(error.description)")
        }
    }
}
