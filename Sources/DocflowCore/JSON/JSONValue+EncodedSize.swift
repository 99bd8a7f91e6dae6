extension JSONValue {
    /// The length of `encoded()` in bytes, computed without encoding; once the count passes
    /// `limit` it stops and returns a number over `limit`, so a huge value costs no more than
    /// the limit's worth of walking.
    public func encodedSize(upTo limit: Int = .max) -> Int {
        var size = 0
        add(to: &size, limit: limit)
        return size
    }

    /// Whether `encoded()` would be longer than `limit` bytes.
    public func encodesLarger(than limit: Int) -> Bool {
        encodedSize(upTo: limit) > limit
    }

    private func add(to size: inout Int, limit: Int) {
        guard size <= limit else { return }
        switch self {
        case .null: size += 4
        case .bool(let b): size += b ? 4 : 5
        case .number(let n):
            if n.rounded() == n, abs(n) < 9.0e15 {
                size += Self.integerLength(Int64(n))
            } else if n.isFinite {
                size += "\(n)".utf8.count
            } else {
                size += 4
            }
        case .string(let s):
            size += Self.encodedLength(s)
        case .array(let items):
            size += 2 + max(items.count - 1, 0)
            for item in items {
                item.add(to: &size, limit: limit)
                if size > limit { return }
            }
        case .object(let members):
            // Braces, a colon per member and commas between them.
            size += 2 + members.count + max(members.count - 1, 0)
            for (key, value) in members {
                size += Self.encodedLength(key)
                value.add(to: &size, limit: limit)
                if size > limit { return }
            }
        }
    }

    private static func integerLength(_ value: Int64) -> Int {
        var magnitude = value.magnitude
        var count = value < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            count += 1
        }
        return count
    }

    /// The string's encoded length with its quotes and escapes, as `writeString` writes it.
    private static func encodedLength(_ string: String) -> Int {
        var count = 2
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), 0x0A, 0x0D, 0x09, 0x08, 0x0C: count += 2
            case 0..<0x20: count += 6
            default: count += 1
            }
        }
        return count
    }
}
