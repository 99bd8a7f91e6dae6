import Foundation
import Testing

@testable import DocflowService

/// The lock file beside the database: one holder at a time, named to whoever is refused.
@Suite struct DatabaseLockTests {
    private static func database() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("docflow-lock-\(UUID().uuidString)")
            .appendingPathComponent("docflow.sqlite").path
    }

    private static func owner(_ database: String) -> OwnerIdentity {
        OwnerIdentity.current(prefix: "p", database: database)
    }

    @Test func aSecondHolderIsRefusedNamingTheFirst() throws {
        let database = Self.database()
        defer { try? FileManager.default.removeItem(atPath: (database as NSString).deletingLastPathComponent) }
        let first = Self.owner(database)
        let lock = try DatabaseLock.acquire(database: database, owner: first)
        defer { lock.release() }
        // flock belongs to the open file description: a second open in this process conflicts too.
        let error = #expect(throws: ServerError.self) {
            _ = try DatabaseLock.acquire(database: database, owner: Self.owner(database))
        }
        guard case .databaseLocked(let named, let lockFile, let holder) = error else {
            Issue.record("refused with \(String(describing: error))")
            return
        }
        #expect(named == database)
        #expect(lockFile == database + ".lock")
        #expect(holder == first)
        #expect("\(error!)".contains("pid \(getpid())"))
    }

    @Test func aReleasedLockIsTakenAtOnce() throws {
        let database = Self.database()
        defer { try? FileManager.default.removeItem(atPath: (database as NSString).deletingLastPathComponent) }
        let lock = try DatabaseLock.acquire(database: database, owner: Self.owner(database))
        lock.release()
        lock.release()
        let again = try DatabaseLock.acquire(database: database, owner: Self.owner(database))
        again.release()
    }

    @Test func theLockIsNotInheritedByHelpers() throws {
        let database = Self.database()
        defer { try? FileManager.default.removeItem(atPath: (database as NSString).deletingLastPathComponent) }
        let lock = try DatabaseLock.acquire(database: database, owner: Self.owner(database))
        defer { lock.release() }
        #expect(lock.isCloseOnExec)
    }
}
