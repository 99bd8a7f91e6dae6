import Foundation

/// Which config fields of an integration are secrets, and the rule that keeps them bound to
/// their destination: a stored secret is never carried to a new scheme, host or port.
extension Integration {
    /// Config keys whose values are secrets: masked in replies, and sent again whenever the
    /// destination changes. Slack: `webhook_url` (its path is the token). Webhook: every value of
    /// `headers` and the signing `secret`. Email: none (recipients are addresses, not credentials;
    /// SMTP credentials live in `--smtp-url`, not in integrations).
    public static func secretKeys(of type: IntegrationType) -> [String] {
        switch type {
        case .slack: ["webhook_url"]
        case .webhook: ["headers", "secret"]
        case .email: []
        }
    }

    /// The config key that says where the integration sends.
    public static func destinationKey(of type: IntegrationType) -> String? {
        switch type {
        case .slack: "webhook_url"
        case .webhook: "url"
        case .email: nil
        }
    }

    /// Scheme, host and port of `url` (default ports filled in), or nil when it does not parse.
    public static func origin(_ url: String) -> (scheme: String, host: String, port: Int)? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        return (scheme, host, components.port ?? (scheme == "https" ? 443 : 80))
    }

    /// An update that moves the integration to another scheme, host or port must send every
    /// stored secret again in the same request: a masked or missing one would otherwise go to
    /// the new destination. One problem per secret field not sent again, each with its path.
    ///
    /// - Parameters:
    ///   - stored: the config before the update.
    ///   - given: the request's `config`, before it is merged over `stored`.
    ///   - merged: the config the update would store.
    public static func rebindingProblems(
        type: IntegrationType, stored: [String: JSONValue], given: [String: JSONValue], merged: [String: JSONValue]
    ) -> [FieldError] {
        guard let key = destinationKey(of: type), let old = stored[key]?.stringValue,
            let new = merged[key]?.stringValue, let from = origin(old), let to = origin(new),
            from != to
        else { return [] }
        func shown(
            _ origin: (scheme: String, host: String, port: Int), _ other: (scheme: String, host: String, port: Int)
        )
            -> String
        {
            let defaultPort = origin.port == (origin.scheme == "https" ? 443 : 80)
            let host = origin.host.contains(":") ? "[\(origin.host)]" : origin.host
            if origin.scheme != other.scheme {
                return "\(origin.scheme)://\(host)" + (defaultPort ? "" : ":\(origin.port)")
            }
            return defaultPort && other.port == origin.port ? host : "\(host):\(origin.port)"
        }
        let change = "config.\(key) changes the destination from \(shown(from, to)) to \(shown(to, from))"
        var problems: [FieldError] = []
        func resend(_ field: String) {
            problems.append(
                FieldError(
                    field: field,
                    message: "must be sent again: \(change), and secrets are not carried to a new destination"))
        }
        for secret in secretKeys(of: type) where secret != key && hasValue(stored[secret]) {
            switch given[secret] {
            case nil:
                resend("config.\(secret)")
            case .string(mask)?:
                resend("config.\(secret)")
            case .object(let values)?:
                for (name, value) in values.sorted(by: { $0.key < $1.key }) where value == .string(mask) {
                    resend("config.\(secret).\(name)")
                }
            default:
                break
            }
        }
        return problems
    }

    private static func hasValue(_ value: JSONValue?) -> Bool {
        switch value {
        case nil, .null?: false
        case .string(let text)?: !text.isEmpty
        case .object(let fields)?: !fields.isEmpty
        default: true
        }
    }
}
