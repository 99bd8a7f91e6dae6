import Foundation
import Synchronization

/// Lowercase UUID strings of version 7 (RFC 9562): 48 bits of Unix milliseconds, then random
/// bits. Ids made later sort later, so rows keyed by them are appended to the end of their
/// indexes instead of landing on a random page of each: a group commit of many executions
/// writes a few pages, not a few per execution.
public enum TimeOrderedID {
    private static let counter = Atomic<UInt64>(0)

    public static func make(now: Date = Date()) -> String {
        let milliseconds = UInt64(max(now.timeIntervalSince1970 * 1000, 0))
        // rand_a is a counter (RFC 9562, method 1): ids made in the same millisecond still sort
        // in the order they were made, and one random word (one system call) fills rand_b.
        let high = counter.add(1, ordering: .relaxed).newValue
        var random = SystemRandomNumberGenerator()
        let low = random.next() as UInt64
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - UInt64(i)))) }
        bytes[6] = 0x70 | UInt8(truncatingIfNeeded: (high >> 8) & 0x0F)
        bytes[7] = UInt8(truncatingIfNeeded: high)
        bytes[8] = 0x80 | UInt8(truncatingIfNeeded: low & 0x3F)
        for i in 9..<16 { bytes[i] = UInt8(truncatingIfNeeded: low >> (8 * UInt64(i - 8))) }
        return format(bytes)
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
