/// Renders a `MustacheProgram` over a JSON context as one loop over its nodes: sections keep
/// their place on explicit stacks, output goes into one byte buffer checked against the cap at
/// every append, and the clock is read every `clockInterval` nodes.
struct MustacheRenderer {
    /// A section being rendered: the list it walks, if any, and whether it pushed a context.
    private struct Frame {
        var items: [JSONValue]?
        var index: Int
        var pushedContext: Bool
    }

    /// Nodes between two readings of the clock: a few microseconds of work.
    static let clockInterval = 1024

    let program: MustacheProgram
    let maxBytes: Int
    let deadline: ContinuousClock.Instant?
    let escaping: MustacheEscaping
    /// Whether the variable being written is escaped.
    private var escapingNow = false
    private(set) var output: [UInt8] = []
    /// Nodes visited, counted so a test can hold rendering to linear work.
    private(set) var visits = 0
    private var contexts: [JSONValue]
    private var frames: [Frame] = []

    init(
        _ program: MustacheProgram, context: JSONValue, maxBytes: Int, deadline: ContinuousClock.Instant?,
        escaping: MustacheEscaping = .none
    ) {
        self.program = program
        self.maxBytes = maxBytes
        self.deadline = deadline
        self.escaping = escaping
        contexts = [context]
    }

    mutating func run() throws(MustacheError) {
        let nodes = program.nodes
        var pc = 0
        while pc < nodes.count {
            visits += 1
            if visits % Self.clockInterval == 0, let deadline, ContinuousClock.now >= deadline {
                throw .deadlineExceeded
            }
            switch nodes[pc] {
            case .text(let range):
                try append(program.bytes[range])
                pc += 1
            case .variable(let name, let escaped):
                if let value = lookup(name) {
                    escapingNow = escaped && escaping == .html
                    defer { escapingNow = false }
                    try append(value, quoted: false)
                }
                pc += 1
            case .section(let name, let inverted, let end):
                pc = enter(lookup(name), inverted: inverted) ? pc + 1 : end + 1
            case .close(let open):
                pc = next() ? open + 1 : pc + 1
            }
        }
    }

    // MARK: - Sections

    /// Starts a section; false when it renders nothing. Falsy, as swift-mustache had it: absent
    /// (or `null`), `false`, and lists without a non-null item.
    private mutating func enter(_ value: JSONValue?, inverted: Bool) -> Bool {
        switch value {
        case nil, .bool(false)?:
            if inverted { frames.append(Frame(items: nil, index: 0, pushedContext: false)) }
            return inverted
        case .bool(true)?:
            if !inverted { frames.append(Frame(items: nil, index: 0, pushedContext: false)) }
            return !inverted
        case .array(let items)?:
            guard let first = Self.nonNull(items, from: 0) else {
                // An inverted section over an empty list renders with the list as `.`.
                if inverted {
                    contexts.append(.array(items))
                    frames.append(Frame(items: nil, index: 0, pushedContext: true))
                }
                return inverted
            }
            guard !inverted else { return false }
            contexts.append(items[first])
            frames.append(Frame(items: items, index: first, pushedContext: true))
            return true
        case let value?:
            guard !inverted else { return false }
            contexts.append(value)
            frames.append(Frame(items: nil, index: 0, pushedContext: true))
            return true
        }
    }

    /// At a section's end: moves to the list's next item and returns true, or leaves the section.
    private mutating func next() -> Bool {
        let top = frames.count - 1
        if let items = frames[top].items, let following = Self.nonNull(items, from: frames[top].index + 1) {
            frames[top].index = following
            contexts[contexts.count - 1] = items[following]
            return true
        }
        if frames[top].pushedContext { contexts.removeLast() }
        frames.removeLast()
        return false
    }

    /// `null` items were left out of lists, as swift-mustache saw them.
    private static func nonNull(_ items: [JSONValue], from start: Int) -> Int? {
        var index = start
        while index < items.count {
            if items[index] != .null { return index }
            index += 1
        }
        return nil
    }

    // MARK: - Names

    private func lookup(_ name: MustacheProgram.Name) -> JSONValue? {
        guard let first = name.path.first else { return contexts.last }
        if name.anchored { return descend(contexts[contexts.count - 1], name.path[...]) }
        for context in contexts.reversed() {
            if case .object(let members) = context, let found = members[first], found != .null {
                return descend(found, name.path.dropFirst())
            }
        }
        return nil
    }

    private func descend(_ value: JSONValue, _ path: ArraySlice<String>) -> JSONValue? {
        var value = value
        for key in path {
            guard case .object(let members) = value, let found = members[key], found != .null else { return nil }
            value = found
        }
        return value == .null ? nil : value
    }

    // MARK: - Output

    private mutating func append(_ bytes: ArraySlice<UInt8>) throws(MustacheError) {
        guard output.count + bytes.count <= maxBytes else { throw .renderedTooLarge(limit: maxBytes) }
        output.append(contentsOf: bytes)
    }

    private mutating func append(_ text: String) throws(MustacheError) {
        guard !escapingNow else { return try appendEscaped(text) }
        let utf8 = text.utf8
        guard output.count + utf8.count <= maxBytes else { throw .renderedTooLarge(limit: maxBytes) }
        output.append(contentsOf: utf8)
    }

    /// `text` with HTML's five special characters as character references, as the Mustache spec
    /// escapes `{{x}}`.
    private mutating func appendEscaped(_ text: String) throws(MustacheError) {
        for byte in text.utf8 {
            let reference: StaticString? =
                switch byte {
                case UInt8(ascii: "&"): "&amp;"
                case UInt8(ascii: "<"): "&lt;"
                case UInt8(ascii: ">"): "&gt;"
                case UInt8(ascii: "\""): "&quot;"
                case UInt8(ascii: "'"): "&#39;"
                default: nil
                }
            let count = reference.map { $0.utf8CodeUnitCount } ?? 1
            guard output.count + count <= maxBytes else { throw .renderedTooLarge(limit: maxBytes) }
            if let reference {
                reference.withUTF8Buffer { output.append(contentsOf: $0) }
            } else {
                output.append(byte)
            }
        }
    }

    /// A value as swift-mustache printed it (Swift's `description`): numbers without a needless
    /// fraction, lists and objects as Swift literals, with strings quoted inside them. Object keys
    /// come sorted, where swift-mustache's order was the dictionary's.
    private mutating func append(_ value: JSONValue, quoted: Bool) throws(MustacheError) {
        switch value {
        case .null:
            try append("nil")
        case .bool(let flag):
            try append(flag ? "true" : "false")
        case .number(let number):
            try append(number.rounded() == number && abs(number) < 9e15 ? String(Int(number)) : String(number))
        case .string(let text):
            try append(quoted ? String(reflecting: text) : text)
        case .array(let items):
            try append("[")
            var first = true
            for item in items where item != .null {
                if !first { try append(", ") }
                first = false
                try append(item, quoted: true)
            }
            try append("]")
        case .object(let members):
            let present = members.filter { $0.value != .null }
            guard !present.isEmpty else { return try append("[:]") }
            try append("[")
            for (index, key) in present.keys.sorted().enumerated() {
                if index > 0 { try append(", ") }
                try append(String(reflecting: key))
                try append(": ")
                try append(present[key]!, quoted: true)
            }
            try append("]")
        }
    }
}
