/// jq programs in docflow use no modules: docflow ships no module library, and a module path
/// would name files on the worker's disk. The `docflow-jq` helper refuses them too.
enum JQModules {
    static let message = "jq modules (import/include) are not supported"

    /// Whether `program` starts with a module directive (`module`, `import`, `include`), after
    /// blanks and `#` comments: jq's grammar allows them nowhere else.
    static func used(in program: String) -> Bool {
        var bytes = program.utf8[...]
        while let first = bytes.first {
            if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") || first == UInt8(ascii: "\n")
                || first == UInt8(ascii: "\r")
            {
                bytes = bytes.dropFirst()
            } else if first == UInt8(ascii: "#") {
                bytes = bytes.drop { $0 != UInt8(ascii: "\n") }
            } else {
                break
            }
        }
        let word = bytes.prefix { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                true
            default: false
            }
        }
        return ["import", "include", "module"].contains { word.elementsEqual($0.utf8) }
    }
}
