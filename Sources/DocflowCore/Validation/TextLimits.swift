/// Fixed limits on the free text that names and describes workflows, integrations and schemas.
/// They are constants of this version, not settings (docs/operations.md, "Limits").
public enum TextLimits {
    /// Counted after trimming surrounding whitespace.
    public static let maxNameLength = 200
    public static let maxDescriptionLength = 10_000

    static let controlCharacterMessage = "must not contain control characters"

    /// Length as the limits count it: in Unicode scalars, so combining marks cannot hide any
    /// amount of text inside one user-perceived character.
    static func length(_ text: String) -> Int {
        text.unicodeScalars.count
    }

    /// C0 controls, DEL and C1 controls (general category Cc): NUL, line breaks, tabs, escapes.
    static func hasControlCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }

    /// The message for a name that is too long or holds a control character, nil when it is neither.
    static func nameProblem(_ name: String, tooLong: String) -> String? {
        if hasControlCharacter(name) { return controlCharacterMessage }
        if length(name) > maxNameLength { return tooLong }
        return nil
    }

    static func isDescriptionTooLong(_ text: String) -> Bool {
        // No string of fewer UTF-8 bytes than the limit can exceed it, and counting bytes is free.
        text.utf8.count > maxDescriptionLength && length(text) > maxDescriptionLength
    }

    static let descriptionTooLongMessage = "must be at most \(maxDescriptionLength) characters"
}

extension FieldErrorCollector {
    /// A description: a string within the length limit; any characters, line breaks included.
    mutating func description(_ value: JSONValue, at path: String, typeMessage: String = "must be a string")
        -> String?
    {
        guard case .string(let text) = value else {
            add(path, typeMessage)
            return nil
        }
        guard !TextLimits.isDescriptionTooLong(text) else {
            add(path, TextLimits.descriptionTooLongMessage)
            return nil
        }
        return text
    }
}
