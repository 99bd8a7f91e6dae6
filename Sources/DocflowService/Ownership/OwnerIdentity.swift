import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Who serves a prefix and holds a database: what a refused process names, read from the
/// database's lock file or from the owner's answer on the broker.
package struct OwnerIdentity: Sendable, Equatable, Codable {
    /// Tells this process's lease apart from one of an earlier process with the same pid.
    package var instance: String
    package var pid: Int32
    package var host: String
    /// ISO 8601, UTC.
    package var startedAt: String
    package var prefix: String
    package var database: String

    enum CodingKeys: String, CodingKey {
        case instance, pid, host, prefix, database
        case startedAt = "started_at"
    }

    package init(instance: String, pid: Int32, host: String, startedAt: String, prefix: String, database: String) {
        self.instance = instance
        self.pid = pid
        self.host = host
        self.startedAt = startedAt
        self.prefix = prefix
        self.database = database
    }

    /// This process, serving `prefix` on `database`.
    package static func current(prefix: String, database: String) -> OwnerIdentity {
        OwnerIdentity(
            instance: UUID().uuidString.lowercased(), pid: getpid(), host: hostName(),
            startedAt: ISO8601DateFormatter().string(from: Date()), prefix: prefix, database: database)
    }

    package func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(self)) ?? Data()
    }

    /// nil for anything that is not an identity (an empty or half-written lock file).
    package static func decode(_ data: Data) -> OwnerIdentity? {
        try? JSONDecoder().decode(OwnerIdentity.self, from: data)
    }
}

extension OwnerIdentity: CustomStringConvertible {
    /// `pid 4242 on host worker-1, started 2025-01-01T10:00:00Z, prefix docflow, database /var/lib/docflow.sqlite`
    package var description: String {
        "pid \(pid) on host \(host), started \(startedAt), prefix \(prefix), database \(database)"
    }
}

/// This machine's name, for saying which process is which.
func hostName() -> String {
    var name = [CChar](repeating: 0, count: 256)
    guard gethostname(&name, name.count) == 0 else { return "unknown" }
    return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
