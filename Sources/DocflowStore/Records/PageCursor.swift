import Foundation

/// One page of a list, and the cursor of the page after it (nil on the last page).
package struct Page<Item: Sendable>: Sendable {
    package var items: [Item]
    package var next: PageCursor?
}

/// Where the next page of a list starts: the sort key of the last item of the page before.
///
/// Lists page by keyset, never by offset, so a page costs the same deep in a long list as at
/// its start, and rows added meanwhile neither shift nor repeat what the client already saw.
/// Clients see an opaque base64url token; it holds the place only, no filter, so a client
/// sends the same filters with it.
package struct PageCursor: Sendable, Equatable {
    /// The list a cursor belongs to: a cursor of one is refused by the other.
    package enum List: String, Sendable {
        case executions = "e"
        case workflows = "w"
    }

    package var list: List
    /// The item's time as stored (`started_at` or `created_at`, with milliseconds), compared as
    /// text: replies show whole seconds, which would skip or repeat items within a second.
    package var time: String
    package var id: String

    package init(list: List, time: String, id: String) {
        self.list = list
        self.time = time
        self.id = id
    }

    /// The token clients pass back as `cursor`.
    package var token: String {
        Data("\(list.rawValue)|\(time)|\(id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Reads a token of `list`; nil for anything else, such as an edited token or another
    /// list's.
    package init?(token: String, of list: List) {
        // A token is a few dozen characters; anything much longer is not one.
        guard (1...512).contains(token.utf8.count),
            token.utf8.allSatisfy({ $0.isBase64URL })
        else { return nil }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else {
            return nil
        }
        let parts = text.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0] == list.rawValue, (try? StoredDate.date(parts[1])) != nil, !parts[2].isEmpty,
            parts[2].unicodeScalars.allSatisfy({ !$0.properties.isWhitespace && $0.value >= 0x20 })
        else { return nil }
        self.init(list: list, time: parts[1], id: parts[2])
    }
}

extension UInt8 {
    fileprivate var isBase64URL: Bool {
        switch self {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }
}
