import ArgumentParser
import DocflowCLI
import DocflowCore
import DocflowService
import DocflowStore
import Foundation

/// `docflow keys`: the API keys of the HTTP port, in docflow's own database.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make, list and revoke the API keys the HTTP API asks for.",
        discussion: """
            A key is shown once, when it is made; docflow keeps only its SHA-256. Send it as
            `Authorization: Bearer <key>`. A read key calls GET routes only; a write key calls every route.
            Run these against the database `docflow serve` uses (--database); it need not be stopped.
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    struct Database: ParsableArguments {
        @Option(help: "SQLite database file of `docflow serve` (DOCFLOW_DATABASE).")
        var database = env("DOCFLOW_DATABASE", "./data/docflow.sqlite")
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a key and print it, once.",
            discussion: "Example: docflow keys create --name ci --scope write --expires-in 90d")

        @OptionGroup var database: Database

        @Option(help: "A name that says who holds the key; the audit log records it.")
        var name: String

        @Option(help: "read (GET routes only) or write (every route).")
        var scope: String

        @Option(help: "The key stops working after this long: a number followed by m, h or d (90d).")
        var expiresIn: String?

        func validate() throws {
            guard !name.isEmpty, name.count <= 100, name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0 != "\u{7f}" })
            else { throw ValidationError("--name must be 1 to 100 characters with no control characters") }
            guard APIKeyScope(rawValue: scope) != nil else { throw ValidationError("--scope must be read or write") }
            if let expiresIn, Keys.duration(expiresIn) == nil {
                throw ValidationError("--expires-in must be a number followed by m, h or d, such as 90d")
            }
        }

        func run() async throws {
            let store = try Store(path: database.database)
            let expiresAt = expiresIn.flatMap(Keys.duration).map { Date().addingTimeInterval($0) }
            let made = APIKeys.make(name: name, scope: APIKeyScope(rawValue: scope)!, expiresAt: expiresAt)
            let record = made.record
            do {
                try await store.write { db in
                    try APIKeyRepository.insert(db, record)
                    try AuditLog.record(db, Keys.audit("create", record.id))
                }
            } catch APIKeyRepository.Failure.nameTaken(let name) {
                throw ValidationError("a key named \"\(name)\" exists: revoke it first or choose another name")
            }
            print(made.key)
            let expiry = expiresAt.map { ", expires \(RFC3339.string(from: $0))" } ?? ""
            FileHandle.standardError.write(
                Data(
                    "made API key \"\(name)\" (id \(made.record.id), scope \(scope)\(expiry)); it is shown only now\n"
                        .utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys, revoked ones included; never a secret.")

        @OptionGroup var database: Database

        func run() async throws {
            let store = try Store(path: database.database)
            let keys = try await store.read { db in try APIKeyRepository.list(db) }
            let now = Date()
            print(["ID", "NAME", "SCOPE", "CREATED", "EXPIRES", "STATUS"].joined(separator: "\t"))
            for key in keys {
                let status =
                    key.revokedAt != nil ? "revoked" : key.isLive(at: now) ? "live" : "expired"
                print(
                    [
                        key.id, key.name, key.scope.rawValue, RFC3339.string(from: key.createdAt),
                        key.expiresAt.map { RFC3339.string(from: $0) } ?? "-", status,
                    ].joined(separator: "\t"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a live key by its id or name; it stops working at once.")

        @OptionGroup var database: Database

        @Argument(help: "The key's id or name.")
        var key: String

        func run() async throws {
            let store = try Store(path: database.database)
            let key = self.key
            let revoked = try await store.write { db -> APIKeyRecord? in
                guard let revoked = try APIKeyRepository.revoke(db, idOrName: key, at: Date()) else { return nil }
                try AuditLog.record(db, Keys.audit("revoke", revoked.id))
                return revoked
            }
            guard let revoked else { throw ValidationError("no live key has the id or name \"\(key)\"") }
            print("revoked API key \"\(revoked.name)\" (id \(revoked.id))")
        }
    }

    /// A key change by whoever runs the command: the audit log names the system user.
    static func audit(_ action: String, _ id: String) -> AuditEntry {
        let user = ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"]
        return AuditEntry(
            actorKind: "cli", actor: user ?? "uid \(getuid())", action: action, resourceType: "api_key",
            resourceID: id, requestID: nil, transport: "cli")
    }

    /// Seconds in `90d`, `12h` or `30m`.
    static func duration(_ text: String) -> TimeInterval? {
        guard let unit = text.last, let count = Int(text.dropLast()), count > 0, count <= 100_000 else { return nil }
        switch unit {
        case "m": return TimeInterval(count) * 60
        case "h": return TimeInterval(count) * 3600
        case "d": return TimeInterval(count) * 86400
        default: return nil
        }
    }
}
