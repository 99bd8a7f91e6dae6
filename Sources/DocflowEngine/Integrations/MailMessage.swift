import Foundation

/// An RFC 5322 message with a UTF-8 subject (RFC 2047) and a base64 UTF-8 text body.
package enum MailMessage {
    package static func build(
        from: String, to: [String], subject: String, body: String, date: Date = Date(),
        messageID: String = UUID().uuidString.lowercased()
    ) -> Data {
        let domain = from.split(separator: "@").last.map(String.init) ?? "docflow.local"
        let lines = [
            "Date: \(rfc5322Date(date))",
            "From: \(from)",
            "To: \(to.joined(separator: ", "))",
            "Subject: \(encodedWord(subject))",
            "Message-ID: <\(messageID)@\(domain)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: base64",
            "",
        ]
        var text = lines.joined(separator: "\r\n") + "\r\n"
        let encoded = Data(body.utf8).base64EncodedString()
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            text += encoded[index..<end] + "\r\n"
            index = end
        }
        return Data(text.utf8)
    }

    /// ASCII stays as it is; anything else becomes `=?UTF-8?B?...?=`.
    static func encodedWord(_ text: String) -> String {
        let clean = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if clean.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 32 }) { return clean }
        return "=?UTF-8?B?\(Data(clean.utf8).base64EncodedString())?="
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
