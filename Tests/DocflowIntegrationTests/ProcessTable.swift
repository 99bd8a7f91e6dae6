import Foundation

/// What `/proc` says about processes: for tests of docflow's helper processes.
enum ProcessTable {
    /// The processes whose parent is `parent` and whose name is `name`.
    static func children(of parent: pid_t, named name: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = read("/proc/\(pid)/stat"),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { return nil }
            let comm = stat[stat.index(after: open)..<close]
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the name: state, then the parent's pid.
            guard comm == name, fields.count > 1, pid_t(fields[1]) == parent, fields[0] != "Z" else { return nil }
            return pid
        }
    }

    /// Whether `pid` is alive (a zombie waiting to be reaped counts as gone).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = read("/proc/\(pid)/stat"),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// The descriptors `pid` has open.
    static func descriptors(of pid: pid_t) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).compactMap { Int32($0) }
            .sorted()
    }

    /// What descriptor `fd` of `pid` is (`socket:[…]`, a path), from its link.
    static func target(of fd: Int32, in pid: pid_t) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) ?? "?"
    }

    /// Whether descriptor `fd` of `pid` is close-on-exec: bit 02000000 of `flags:` in its fdinfo.
    static func isCloseOnExec(_ fd: Int32, in pid: pid_t) -> Bool? {
        guard let info = read("/proc/\(pid)/fdinfo/\(fd)"),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags:") }),
            let flags = Int(line.dropFirst("flags:".count).trimmingCharacters(in: .whitespaces), radix: 8)
        else { return nil }
        return flags & 0o2000000 != 0
    }

    /// The environment `pid` started with, as `NAME=value` entries.
    static func environment(of pid: pid_t) -> [String]? {
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/environ") else { return nil }
        defer { try? handle.close() }
        return handle.readDataToEndOfFile().split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A file of /proc, read to its end (they say their size is 0).
    private static func read(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }
}
