import CRabbitMQ
import Foundation

/// A value in an AMQP field table: message headers and queue or exchange arguments.
public enum AMQPFieldValue: Sendable, Hashable {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case timestamp(UInt64)
    case array([AMQPFieldValue])
    case table([String: AMQPFieldValue])
    case void

    public var stringValue: String? {
        switch self {
        case .string(let s): s
        case .bytes(let b): String(decoding: b, as: UTF8.self)
        default: nil
        }
    }

    public var intValue: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }
}

extension AMQPFieldValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

/// Memory for C structures built from Swift values; freed when the arena goes away.
/// rabbitmq-c only reads these during the call they are passed to.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for pointer in allocations { free(pointer) }
    }

    func bytes(_ string: String) -> amqp_bytes_t {
        bytes(Array(string.utf8))
    }

    func bytes(_ data: [UInt8]) -> amqp_bytes_t {
        guard !data.isEmpty, let pointer = malloc(data.count) else { return amqp_bytes_t(len: 0, bytes: nil) }
        allocations.append(pointer)
        data.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: data.count) }
        return amqp_bytes_t(len: data.count, bytes: pointer)
    }

    func table(_ entries: [String: AMQPFieldValue]) -> amqp_table_t {
        guard !entries.isEmpty else { return amqp_table_t(num_entries: 0, entries: nil) }
        let buffer = allocate(amqp_table_entry_t.self, count: entries.count)
        for (index, (key, value)) in entries.sorted(by: { $0.key < $1.key }).enumerated() {
            buffer[index] = amqp_table_entry_t(key: bytes(key), value: field(value))
        }
        return amqp_table_t(num_entries: Int32(entries.count), entries: buffer)
    }

    func cString(_ string: String) -> UnsafePointer<CChar> {
        let pointer = strdup(string)!
        allocations.append(pointer)
        return UnsafePointer(pointer)
    }

    private func allocate<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let raw = calloc(count, MemoryLayout<T>.stride)!
        allocations.append(raw)
        return raw.bindMemory(to: T.self, capacity: count)
    }

    private func field(_ value: AMQPFieldValue) -> amqp_field_value_t {
        var result = amqp_field_value_t()
        switch value {
        case .bool(let b):
            result.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
            result.value.boolean = b ? 1 : 0
        case .int(let i):
            result.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
            result.value.i64 = i
        case .double(let d):
            result.kind = UInt8(AMQP_FIELD_KIND_F64.rawValue)
            result.value.f64 = d
        case .string(let s):
            result.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
            result.value.bytes = bytes(s)
        case .bytes(let b):
            result.kind = UInt8(AMQP_FIELD_KIND_BYTES.rawValue)
            result.value.bytes = bytes(b)
        case .timestamp(let t):
            result.kind = UInt8(AMQP_FIELD_KIND_TIMESTAMP.rawValue)
            result.value.u64 = t
        case .array(let items):
            result.kind = UInt8(AMQP_FIELD_KIND_ARRAY.rawValue)
            let buffer = allocate(amqp_field_value_t.self, count: max(items.count, 1))
            for (index, item) in items.enumerated() { buffer[index] = field(item) }
            result.value.array = amqp_array_t(num_entries: Int32(items.count), entries: buffer)
        case .table(let t):
            result.kind = UInt8(AMQP_FIELD_KIND_TABLE.rawValue)
            result.value.table = table(t)
        case .void:
            result.kind = UInt8(AMQP_FIELD_KIND_VOID.rawValue)
        }
        return result
    }
}

extension amqp_bytes_t {
    var string: String {
        guard len > 0, let bytes else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }

    var array: [UInt8] {
        guard len > 0, let bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: len))
    }

    var data: Data {
        guard len > 0, let bytes else { return Data() }
        return Data(bytes: bytes, count: len)
    }
}

extension amqp_table_t {
    var swiftValue: [String: AMQPFieldValue] {
        guard num_entries > 0, let entries else { return [:] }
        var result: [String: AMQPFieldValue] = [:]
        for index in 0..<Int(num_entries) {
            result[entries[index].key.string] = entries[index].value.swiftValue
        }
        return result
    }
}

extension amqp_field_value_t {
    var swiftValue: AMQPFieldValue {
        switch UInt32(kind) {
        case AMQP_FIELD_KIND_BOOLEAN.rawValue: .bool(value.boolean != 0)
        case AMQP_FIELD_KIND_I8.rawValue: .int(Int64(value.i8))
        case AMQP_FIELD_KIND_U8.rawValue: .int(Int64(value.u8))
        case AMQP_FIELD_KIND_I16.rawValue: .int(Int64(value.i16))
        case AMQP_FIELD_KIND_U16.rawValue: .int(Int64(value.u16))
        case AMQP_FIELD_KIND_I32.rawValue: .int(Int64(value.i32))
        case AMQP_FIELD_KIND_U32.rawValue: .int(Int64(value.u32))
        case AMQP_FIELD_KIND_I64.rawValue: .int(value.i64)
        case AMQP_FIELD_KIND_U64.rawValue: .int(Int64(truncatingIfNeeded: value.u64))
        case AMQP_FIELD_KIND_F32.rawValue: .double(Double(value.f32))
        case AMQP_FIELD_KIND_F64.rawValue: .double(value.f64)
        case AMQP_FIELD_KIND_UTF8.rawValue: .string(value.bytes.string)
        case AMQP_FIELD_KIND_BYTES.rawValue: .bytes(value.bytes.array)
        case AMQP_FIELD_KIND_TIMESTAMP.rawValue: .timestamp(value.u64)
        case AMQP_FIELD_KIND_TABLE.rawValue: .table(value.table.swiftValue)
        case AMQP_FIELD_KIND_ARRAY.rawValue:
            .array(
                (0..<Int(value.array.num_entries)).map { value.array.entries[$0].swiftValue }
            )
        default: .void
        }
    }
}
