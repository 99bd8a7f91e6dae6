/// When the journal's writer commits: the queue of transitions and the decision, without I/O or
/// a clock of its own (times are monotonic nanoseconds, passed in).
///
/// An urgent entry (someone waits for it), a full batch or a stop commits at once; an entry
/// nobody waits for waits up to `lazyDelay` for company, since every commit writes a dozen pages
/// and syncs them. A writer that has been busy lately looks at its queue every `lazyDelay` by
/// itself; one idle for `idleAfter` sleeps until woken.
struct GroupCommitPolicy<Entry> {
    enum Decision {
        /// Write these entries in one transaction.
        case commit([Entry])
        /// Sleep until this time, or until woken.
        case sleep(until: UInt64)
        /// Sleep until woken (the writer still looks once a second).
        case sleepLong
        /// Stopped, and everything queued is written.
        case finish
    }

    /// How long a transition nobody waits for (a step's progress, a start whose trigger is acked
    /// later) may wait for company.
    let lazyDelay: UInt64 = 5_000_000
    /// Commit anyway once this many are queued.
    let batchLimit = 1024
    /// After this long without a batch, the writer sleeps until woken.
    let idleAfter: UInt64 = 1_000_000_000
    /// Past this many queued transitions, appending waits for the commit: memory stays bounded.
    let backpressureLimit = 20_000

    private(set) var pending: [Entry] = []
    /// Something queued is waited for: commit at once.
    private(set) var urgent = false
    /// When the oldest queued entry came.
    private var oldest: UInt64 = 0
    private(set) var stopped = false
    /// Stopped and drained: the writer is gone, and nothing queued now would be written.
    private(set) var finished = false
    /// The writer sleeps without a deadline (idle for a while): an entry nobody waits for must
    /// wake it. While it is busy it looks at the queue every `lazyDelay` by itself.
    private(set) var sleepsLong = true
    /// When the writer last took a batch.
    private var lastBatch: UInt64 = 0

    init() {}

    /// The queue is full: the next entry should wait for the commit.
    var isFull: Bool { pending.count >= backpressureLimit }

    /// Queues `entry`; true when the writer must be woken. `now` is read only for the first entry
    /// of a batch.
    mutating func queue(_ entry: Entry, urgent: Bool, now: @autoclosure () -> UInt64) -> Bool {
        pending.append(entry)
        if pending.count == 1 { oldest = now() }
        // The writer takes everything queued at once: it needs waking only when the queue becomes
        // urgent, or stops being empty while the writer sleeps without a deadline (a busy writer
        // comes back within `lazyDelay` by itself: one wake-up per execution fewer, under load).
        let wake = (urgent && !self.urgent) || (pending.count == 1 && sleepsLong)
        if urgent { self.urgent = true }
        return wake
    }

    /// Someone waits for what is queued: commit it at once. True when the writer must be woken.
    mutating func expedite() -> Bool {
        defer { urgent = true }
        return !urgent && !pending.isEmpty
    }

    /// Stops taking new work once what is queued is written; the writer must be woken.
    mutating func stop() {
        stopped = true
    }

    /// What the writer does next, at `now`.
    mutating func next(now: UInt64) -> Decision {
        if pending.isEmpty {
            if stopped {
                finished = true
                return .finish
            }
            sleepsLong = now &- lastBatch > idleAfter
            return sleepsLong ? .sleepLong : .sleep(until: now &+ lazyDelay)
        }
        sleepsLong = false
        let due = oldest &+ lazyDelay
        guard urgent || stopped || pending.count >= batchLimit || now >= due else { return .sleep(until: due) }
        defer {
            pending.removeAll(keepingCapacity: true)
            urgent = false
            lastBatch = now
        }
        return .commit(pending)
    }
}
