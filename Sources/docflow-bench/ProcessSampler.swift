import Foundation

/// CPU time and resident memory of a process and its descendants, read from /proc. docflow's
/// jq helpers are its children, and the broker's port programs are beam's, so both count.
struct ProcessSampler: Sendable {
    /// One reading.
    struct Sample: Sendable {
        /// User plus system CPU seconds of the process and its live descendants.
        var cpuSeconds: Double
        /// Resident set of the process itself, in bytes.
        var rssBytes: Int
        /// Resident set of the process and its live descendants, in bytes.
        var treeRSSBytes: Int
    }

    let pid: Int32
    /// Whether children count: not for the bench itself, whose child is the docflow under test.
    let includesDescendants: Bool
    private static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    init(pid: Int32, includesDescendants: Bool = true) {
        self.pid = pid
        self.includesDescendants = includesDescendants
    }

    func sample() -> Sample {
        let tree = includesDescendants ? [pid] + Self.descendants(of: pid) : [pid]
        var cpu = 0.0
        var treeRSS = 0
        for member in tree {
            cpu += Self.cpuSeconds(member) ?? 0
            treeRSS += Self.rssBytes(member) ?? 0
        }
        return Sample(cpuSeconds: cpu, rssBytes: Self.rssBytes(pid) ?? 0, treeRSSBytes: treeRSS)
    }

    /// utime + stime, fields 14 and 15 of /proc/<pid>/stat (counted after the command's `)`).
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let fields = statFields(pid), fields.count > 12,
            let user = Double(fields[11]), let system = Double(fields[12])
        else { return nil }
        return (user + system) / ticksPerSecond
    }

    /// `VmRSS` of /proc/<pid>/status.
    static func rssBytes(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let number = line.dropFirst("VmRSS:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            return number.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }

    /// The fields of /proc/<pid>/stat after the command name, starting with the state (field 3).
    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    static func descendants(of root: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var children: [Int32: [Int32]] = [:]
        for entry in entries {
            guard let pid = Int32(entry), let fields = statFields(pid), fields.count > 1, let parent = Int32(fields[1])
            else { continue }
            children[parent, default: []].append(pid)
        }
        var result: [Int32] = []
        var stack = children[root] ?? []
        while let pid = stack.popLast() {
            result.append(pid)
            stack.append(contentsOf: children[pid] ?? [])
        }
        return result
    }

    /// Busy CPU seconds of the whole machine (all cores), from the first line of /proc/stat:
    /// what the run's own processes did not spend was spent by something else.
    static func machineBusySeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 5 else { return nil }
        // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
        return (ticks.prefix(8).reduce(0, +) - ticks[3] - ticks[4]) / ticksPerSecond
    }

    /// The broker's Erlang VM: asked of `rabbitmqctl`, else the oldest `beam.smp`.
    static func brokerPID() -> Int32? {
        if let output = run("/usr/bin/env", ["rabbitmqctl", "eval", "os:getpid()."]),
            let pid = Int32(output.trimmingCharacters(in: CharacterSet(charactersIn: "\"\n "))), pid > 0
        {
            return pid
        }
        if let output = run("/usr/bin/env", ["pgrep", "-o", "beam.smp"]),
            let pid = Int32(output.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            return pid
        }
        return nil
    }

    private static func run(_ executable: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return nil
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
