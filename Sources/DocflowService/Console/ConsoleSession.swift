import Foundation
import Synchronization

/// How a browser proves it may see the console. Browsers send no `Authorization` header on a
/// navigation, so the API key (checked exactly as `/api/*` checks it, on every request, so a
/// revoked key stops working at once) travels in a cookie: `HttpOnly` (no script reads it),
/// `SameSite=Strict` (no other site's page or link sends it) and `Path=/ui`.
///
/// Two ways in: the sign-in form (`POST /ui/login`), and a one-time sign-in link for a browser
/// that cannot fill a form (a headless one, or a link an operator's script opens) that
/// `POST /ui/login-links` hands to a caller with `Authorization: Bearer <key>`. A link holds a
/// random token, never the key; it works once, for a minute, and only in this process.
enum ConsoleSession {
    static let cookie = "docflow_console"
    /// Twelve hours, then sign in again.
    static let maxAge = 12 * 3600

    /// The `Set-Cookie` value that signs a browser in with `key`.
    static func setCookie(_ key: String, secure: Bool) -> String {
        "\(cookie)=\(key); Path=/ui; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The `Set-Cookie` value that signs a browser out.
    static let clearCookie = "\(cookie)=; Path=/ui; Max-Age=0; HttpOnly; SameSite=Strict"

    /// The console's cookie among a request's `Cookie` headers.
    static func key(cookieHeaders: [String]) -> String? {
        for header in cookieHeaders {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == cookie else { continue }
                let value = parts[1].trimmingCharacters(in: .whitespaces)
                if !value.isEmpty { return value }
            }
        }
        return nil
    }

    /// Where to go after signing in: a console page, never another site (`//host`, `/\\host`).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/ui"), !next.hasPrefix("//"), !next.contains("\\"),
            !next.unicodeScalars.contains(where: { $0.value < 0x20 })
        else { return "/ui/executions" }
        return next
    }
}

/// One-time sign-in tokens, each for one API key, for `ttl`.
final class LoginLinks: Sendable {
    private struct Entry {
        var key: String
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])
    let ttl: Duration
    /// Tokens outstanding at once; older ones are dropped first.
    static let capacity = 1000

    init(ttl: Duration = .seconds(60)) {
        self.ttl = ttl
    }

    /// A new token for `key`: 32 random bytes, hex.
    func issue(for key: String, now: ContinuousClock.Instant = .now) -> String {
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }
            .joined()
        entries.withLock { entries in
            entries = entries.filter { $0.value.expires > now }
            if entries.count >= Self.capacity, let oldest = entries.min(by: { $0.value.expires < $1.value.expires }) {
                entries.removeValue(forKey: oldest.key)
            }
            entries[token] = Entry(key: key, expires: now.advanced(by: ttl))
        }
        return token
    }

    /// The key of a live token, which is used up.
    func redeem(_ token: String, now: ContinuousClock.Instant = .now) -> String? {
        guard let entry = entries.withLock({ $0.removeValue(forKey: token) }), entry.expires > now else { return nil }
        return entry.key
    }
}
