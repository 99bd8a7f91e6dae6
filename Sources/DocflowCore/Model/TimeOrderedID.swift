import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Lowercase UUID strings of version 7 (RFC 9562): 48 bits of Unix milliseconds, then random
/// bits. Ids made later sort later, so rows keyed by them are appended to the end of their
/// indexes instead of landing on a random page of each: a group commit of many executions
/// writes a few pages, not a few per execution.
public enum TimeOrderedID {
    private static let counter = Atomic<UInt64>(0)
    /// Random words from the system's generator, 512 at a time: one system call per id was a
    /// noticeable part of making status events.
    private static let randomWords = Mutex<(words: [UInt64], next: Int)>(([], 0))

    public static func make(now: Date = Date()) -> String {
        let milliseconds = UInt64(max(now.timeIntervalSince1970 * 1000, 0))
        // rand_a is a counter (RFC 9562, method 1): ids made in the same millisecond still sort
        // in the order they were made, and a word of the system's randomness fills rand_b.
        let high = counter.add(1, ordering: .relaxed).newValue
        let low = randomWord()
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - UInt64(i)))) }
        bytes[6] = 0x70 | UInt8(truncatingIfNeeded: (high >> 8) & 0x0F)
        bytes[7] = UInt8(truncatingIfNeeded: high)
        bytes[8] = 0x80 | UInt8(truncatingIfNeeded: low & 0x3F)
        for i in 9..<16 { bytes[i] = UInt8(truncatingIfNeeded: low >> (8 * UInt64(i - 8))) }
        return format(bytes)
    }

    private static func randomWord() -> UInt64 {
        randomWords.withLock { (pool: inout (words: [UInt64], next: Int)) -> UInt64 in
            if pool.next == pool.words.count {
                if pool.words.isEmpty { pool.words = [UInt64](repeating: 0, count: 512) }
                // The kernel's generator, as `SystemRandomNumberGenerator` uses it, 4 KB at a time.
                let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
                let filled = fd < 0 ? -1 : pool.words.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if fd >= 0 { close(fd) }
                if filled != pool.words.count * 8 {
                    // A short read, or no /dev/urandom: a word at a time from the standard library.
                    var generator = SystemRandomNumberGenerator()
                    for index in pool.words.indices { pool.words[index] = generator.next() }
                }
                pool.next = 0
            }
            defer { pool.next += 1 }
            return pool.words[pool.next]
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    static func format(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            var out = 0
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    buffer[out] = UInt8(ascii: "-")
                    out += 1
                }
                buffer[out] = hex[Int(byte >> 4)]
                buffer[out + 1] = hex[Int(byte & 0x0F)]
                out += 2
            }
            return out
        }
    }
}
