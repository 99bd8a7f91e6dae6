import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive `flock` on `<database>.lock`, held while one docflow serves the database.
///
/// The kernel lets go of it when the process ends, however it ends (kill -9 included). The
/// descriptor is close-on-exec, so no helper process inherits the lock and outlives docflow
/// holding it. The file holds its owner's identity, so a refused process can name it.
package final class DatabaseLock: Sendable {
    package let path: String
    private let descriptor: Mutex<Int32?>

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    deinit {
        release()
    }

    /// The lock file of a database.
    package static func path(database: String) -> String { database + ".lock" }

    /// Takes the lock beside `database` (creating its folder), or throws `databaseLocked`
    /// naming the process that holds it; never waits.
    package static func acquire(database: String, owner: OwnerIdentity) throws(ServerError) -> DatabaseLock {
        let path = Self.path(database: database)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw .databaseLockUnavailable(path: path, reason: "\(error)")
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .databaseLockUnavailable(path: path, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            let holder = Self.read(fd)
            close(fd)
            guard failure == EWOULDBLOCK else {
                throw .databaseLockUnavailable(path: path, reason: String(cString: strerror(failure)))
            }
            throw .databaseLocked(database: database, lockFile: path, owner: holder)
        }
        let bytes = [UInt8](owner.encoded()) + [UInt8(ascii: "\n")]
        // Whoever held it before left their identity: ours replaces it whole.
        guard ftruncate(fd, 0) == 0, pwrite(fd, bytes, bytes.count, 0) == bytes.count else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .databaseLockUnavailable(path: path, reason: reason)
        }
        return DatabaseLock(path: path, descriptor: fd)
    }

    /// Lets go of the lock; the next docflow may take it at once. Idempotent.
    package func release() {
        let taken = descriptor.withLock { fd -> Int32? in
            defer { fd = nil }
            return fd
        }
        guard let fd = taken else { return }
        _ = ftruncate(fd, 0)
        close(fd)
    }

    /// Whether the lock's descriptor is closed in programs docflow starts (it must be).
    package var isCloseOnExec: Bool {
        descriptor.withLock { fd in fd.map { fcntl($0, F_GETFD) & FD_CLOEXEC != 0 } ?? true }
    }

    private static func read(_ fd: Int32) -> OwnerIdentity? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = pread(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return OwnerIdentity.decode(Data(buffer[0..<count]))
    }
}
