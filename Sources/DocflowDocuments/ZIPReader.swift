import Foundation
import ZIPFoundation

/// A read-only ZIP archive held in memory that never reads out of bounds: it finds entries through
/// the central directory (ZIP64 included) and inflates them through ZIPFoundation's zlib binding.
/// Every offset and size is checked against the bytes, so damaged input throws rather than traps.
///
/// ZIPFoundation's `Archive` is not used for reading: on damaged input its in-memory archive traps
/// (weichsel/ZIPFoundation#394) and a truncated deflate stream makes its extraction spin forever.
struct ZIPReader {
    /// Why an archive or an entry cannot be read.
    struct Failure: Error {
        let reason: String
    }

    /// One file of the archive as its central directory describes it.
    struct Entry {
        let name: String
        let flags: UInt16
        let method: UInt16
        let crc32: UInt32
        let compressedSize: UInt64
        let uncompressedSize: UInt64
        let localHeaderOffset: UInt64
    }

    private let bytes: [UInt8]
    let entries: [Entry]

    init(_ data: Data) throws(Failure) {
        bytes = [UInt8](data)
        entries = try Self.readCentralDirectory(bytes)
    }

    func entry(named name: String) -> Entry? {
        entries.first { $0.name == name }
    }

    /// The entry's uncompressed contents; throws past `limit` bytes, on a checksum mismatch, for
    /// encrypted entries and for compression methods other than stored and deflate.
    func contents(of entry: Entry, limit: Int) throws(Failure) -> Data {
        guard entry.flags & 1 == 0 else { throw Failure(reason: "\(entry.name) is encrypted") }
        guard entry.uncompressedSize <= UInt64(limit) else {
            throw Failure(reason: "\(entry.name) is larger than \(limit >> 20) MiB")
        }
        let header = try offset(entry.localHeaderOffset)
        guard try u32(header) == 0x0403_4B50 else { throw Failure(reason: "\(entry.name) has no local header") }
        let start = header + 30 + Int(try u16(header + 26)) + Int(try u16(header + 28))
        let size = try offset(entry.compressedSize)
        guard start <= bytes.count, size <= bytes.count - start else {
            throw Failure(reason: "\(entry.name) runs past the end of the archive")
        }
        let compressed = bytes[start..<start + size]
        var contents = Data()
        let checksum: CRC32
        switch entry.method {
        case CompressionMethod.none.rawValue:
            guard size <= limit else { throw Failure(reason: "\(entry.name) is larger than \(limit >> 20) MiB") }
            contents = Data(compressed)
            checksum = contents.crc32(checksum: 0)
        case CompressionMethod.deflate.rawValue:
            do {
                checksum = try Data.decompress(
                    size: Int64(size), bufferSize: 16 * 1024, skipCRC32: false,
                    provider: { position, chunkSize in
                        // Past the entry's bytes the stream is truncated; ZIPFoundation would wait forever.
                        guard position >= 0, position < Int64(size) else { throw Failure(reason: "it ends early") }
                        let from = compressed.startIndex + Int(position)
                        return Data(compressed[from..<min(from + chunkSize, compressed.endIndex)])
                    },
                    consumer: { chunk in
                        // The size in the directory may lie.
                        guard contents.count + chunk.count <= limit else {
                            throw Failure(reason: "it is larger than \(limit >> 20) MiB")
                        }
                        contents.append(chunk)
                    }
                )
            } catch let failure as Failure {
                throw Failure(reason: "\(entry.name) cannot be inflated: \(failure.reason)")
            } catch {
                throw Failure(reason: "\(entry.name) cannot be inflated: its compressed data is corrupt")
            }
        default:
            throw Failure(reason: "\(entry.name) uses unsupported compression method \(entry.method)")
        }
        guard checksum == entry.crc32 else { throw Failure(reason: "\(entry.name) fails its checksum") }
        return contents
    }

    // MARK: - Central directory

    private static func readCentralDirectory(_ bytes: [UInt8]) throws(Failure) -> [Entry] {
        let reader = ZIPReader(unchecked: bytes)
        guard bytes.count >= 22,
            let end = stride(from: bytes.count - 22, through: max(0, bytes.count - 22 - 0xFFFF), by: -1)
                .first(where: { (try? reader.u32($0)) == 0x0605_4B50 })
        else { throw Failure(reason: "it has no end of central directory record") }
        var count = UInt64(try reader.u16(end + 10))
        var size = UInt64(try reader.u32(end + 12))
        var start = UInt64(try reader.u32(end + 16))
        if count == 0xFFFF || size == 0xFFFF_FFFF || start == 0xFFFF_FFFF {
            let locator = end - 20
            guard locator >= 0, try reader.u32(locator) == 0x0706_4B50 else {
                throw Failure(reason: "its ZIP64 end of central directory locator is missing")
            }
            let record = try reader.offset(try reader.u64(locator + 8))
            guard try reader.u32(record) == 0x0606_4B50 else {
                throw Failure(reason: "its ZIP64 end of central directory record is missing")
            }
            count = try reader.u64(record + 32)
            size = try reader.u64(record + 40)
            start = try reader.u64(record + 48)
        }
        let first = try reader.offset(start)
        let length = try reader.offset(size)
        guard length <= bytes.count - first else { throw Failure(reason: "its central directory is out of bounds") }
        var entries: [Entry] = []
        var position = first
        while UInt64(entries.count) < count {
            guard position + 46 <= first + length, try reader.u32(position) == 0x0201_4B50 else {
                throw Failure(reason: "its central directory is damaged")
            }
            let nameLength = Int(try reader.u16(position + 28))
            let extraLength = Int(try reader.u16(position + 30))
            let commentLength = Int(try reader.u16(position + 32))
            let nameStart = position + 46
            guard nameStart + nameLength + extraLength <= bytes.count else {
                throw Failure(reason: "its central directory is damaged")
            }
            var compressedSize = UInt64(try reader.u32(position + 20))
            var uncompressedSize = UInt64(try reader.u32(position + 24))
            var localHeaderOffset = UInt64(try reader.u32(position + 42))
            try reader.applyZIP64Extra(
                from: nameStart + nameLength, length: extraLength,
                uncompressedSize: &uncompressedSize, compressedSize: &compressedSize, offset: &localHeaderOffset
            )
            let name = String(decoding: bytes[nameStart..<nameStart + nameLength], as: UTF8.self)
            entries.append(
                Entry(
                    name: name.replacingOccurrences(of: "\\", with: "/"), flags: try reader.u16(position + 8),
                    method: try reader.u16(position + 10), crc32: try reader.u32(position + 16),
                    compressedSize: compressedSize, uncompressedSize: uncompressedSize,
                    localHeaderOffset: localHeaderOffset
                )
            )
            position = nameStart + nameLength + extraLength + commentLength
        }
        return entries
    }

    private init(unchecked bytes: [UInt8]) {
        self.bytes = bytes
        self.entries = []
    }

    /// Replaces the 32-bit fields saturated at 0xFFFFFFFF with their ZIP64 extra field values.
    private func applyZIP64Extra(
        from start: Int, length: Int, uncompressedSize: inout UInt64, compressedSize: inout UInt64,
        offset: inout UInt64
    ) throws(Failure) {
        var field = start
        while field + 4 <= start + length {
            let id = try u16(field)
            let size = Int(try u16(field + 2))
            if id == 0x0001 {
                var value = field + 4
                if uncompressedSize == 0xFFFF_FFFF, value + 8 <= field + 4 + size {
                    uncompressedSize = try u64(value)
                    value += 8
                }
                if compressedSize == 0xFFFF_FFFF, value + 8 <= field + 4 + size {
                    compressedSize = try u64(value)
                    value += 8
                }
                if offset == 0xFFFF_FFFF, value + 8 <= field + 4 + size {
                    offset = try u64(value)
                }
                return
            }
            field += 4 + size
        }
    }

    // MARK: - Bounds-checked little-endian reads

    private func offset(_ value: UInt64) throws(Failure) -> Int {
        guard value <= UInt64(bytes.count) else {
            throw Failure(reason: "an offset points past the end of the archive")
        }
        return Int(value)
    }

    private func u16(_ at: Int) throws(Failure) -> UInt16 {
        UInt16(truncatingIfNeeded: try little(at, count: 2))
    }

    private func u32(_ at: Int) throws(Failure) -> UInt32 {
        UInt32(truncatingIfNeeded: try little(at, count: 4))
    }

    private func u64(_ at: Int) throws(Failure) -> UInt64 {
        try little(at, count: 8)
    }

    private func little(_ at: Int, count: Int) throws(Failure) -> UInt64 {
        guard at >= 0, at <= bytes.count - count else { throw Failure(reason: "it ends early") }
        var value: UInt64 = 0
        for index in (at..<at + count).reversed() { value = value << 8 | UInt64(bytes[index]) }
        return value
    }
}
