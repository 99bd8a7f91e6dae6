import DocflowCore
import DocflowStore
import Foundation

/// Who may call the HTTP API: `Authorization: Bearer <API key>` on every `/api/*` request, a
/// `read` key for `GET` only. `/healthz`, `/readyz` and `/hooks/{id}` (signed) stay open, and
/// `/metrics` unless `metricsNeedKey`.
package struct HTTPAuthentication: Sendable {
    /// Off only when an operator asks (`--insecure-no-auth`): every caller is anonymous.
    package var required = true
    /// Whether `/metrics` needs a key too (any scope).
    package var metricsNeedKey = false

    package init(required: Bool = true, metricsNeedKey: Bool = false) {
        self.required = required
        self.metricsNeedKey = metricsNeedKey
    }

    /// The caller of a request with this `Authorization` header, or the 401/403 to answer.
    /// Keys are looked up for each request, so a revoked key stops working at once.
    package func authenticate(authorization: String?, method: String, store: Store, now: Date = Date()) async
        -> Result<Caller, APIError>
    {
        guard required else { return .success(.anonymous) }
        guard let authorization, !authorization.isEmpty else {
            let anyKey = (try? await store.read { db in try APIKeyRepository.anyLive(db, at: now) }) ?? true
            return .failure(anyKey ? .missingKey : .noKeyConfigured)
        }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
            let (id, secret) = APIKeys.parse(parts[1].trimmingCharacters(in: .whitespaces))
        else { return .failure(.invalidKey) }
        let stored: APIKeyRecord?
        do {
            stored = try await store.read { db in try APIKeyRepository.fetch(db, id: id) }
        } catch {
            return .failure(.internal)
        }
        guard let stored, APIKeys.matches(secret, stored) else { return .failure(.invalidKey) }
        if stored.revokedAt != nil {
            return .failure(.unauthorized("the API key \"\(stored.name)\" was revoked"))
        }
        if let expiry = stored.expiresAt, now >= expiry {
            return .failure(
                .unauthorized("the API key \"\(stored.name)\" expired at \(RFC3339.string(from: expiry))"))
        }
        if stored.scope == .read, !["GET", "HEAD"].contains(method.uppercased()) {
            return .failure(
                APIError(
                    status: 403, code: "forbidden",
                    message:
                        "the API key \"\(stored.name)\" has scope read: \(method.uppercased()) needs a key with scope write"
                ))
        }
        return .success(Caller(kind: .apiKey, name: stored.name))
    }
}

extension APIError {
    package static func unauthorized(_ message: String) -> APIError {
        APIError(status: 401, code: "unauthorized", message: message)
    }

    static let missingKey = unauthorized(
        "this API needs an API key: send it as `Authorization: Bearer <key>`; an operator makes one with "
            + "`docflow keys create --name NAME --scope read|write`")

    static let noKeyConfigured = unauthorized(
        "docflow has no API key yet, so its HTTP API answers nobody: make one with "
            + "`docflow keys create --name NAME --scope write` and send it as `Authorization: Bearer <key>` "
            + "(or start docflow with --insecure-no-auth for local development)")

    static let invalidKey = unauthorized("the API key is not valid: send `Authorization: Bearer <key>` with a key "
        + "from `docflow keys create`")
}
