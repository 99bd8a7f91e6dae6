/// Reads CSV text (RFC 4180: quoted fields may hold delimiters, doubled quotes and line breaks)
/// into one line per record with the cells joined by " | ". The delimiter is a comma unless the
/// first record has none and has semicolons or tabs instead. Blank records are dropped.
enum CSVReader {
    static func text(_ csv: String) -> String {
        rows(csv).map { $0.joined(separator: " | ") }.joined(separator: "\n")
    }

    static func rows(_ csv: String) -> [[String]] {
        let scalars = Array(csv.unicodeScalars)
        let delimiter = self.delimiter(scalars)
        var rows: [[String]] = []
        var row: [String] = []
        var field = String.UnicodeScalarView()
        var quoted = false
        var index = 0
        func endRecord() {
            row.append(String(field))
            if row != [""] { rows.append(row) }
            row = []
            field = String.UnicodeScalarView()
        }
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            if quoted {
                if scalar == "\"" {
                    if index < scalars.count, scalars[index] == "\"" {
                        field.append("\"")
                        index += 1
                    } else {
                        quoted = false
                    }
                } else if scalar == "\r" || scalar == "\n" {
                    // A line break inside a cell would split the record's line.
                    if scalar == "\r", index < scalars.count, scalars[index] == "\n" { index += 1 }
                    field.append(" ")
                } else {
                    field.append(scalar)
                }
            } else if scalar == "\"", field.isEmpty {
                quoted = true
            } else if scalar == delimiter {
                row.append(String(field))
                field = String.UnicodeScalarView()
            } else if scalar == "\r" || scalar == "\n" {
                if scalar == "\r", index < scalars.count, scalars[index] == "\n" { index += 1 }
                endRecord()
            } else {
                field.append(scalar)
            }
        }
        if !field.isEmpty || !row.isEmpty { endRecord() }
        return rows
    }

    private static func delimiter(_ scalars: [Unicode.Scalar]) -> Unicode.Scalar {
        var counts: [Unicode.Scalar: Int] = [:]
        var quoted = false
        for scalar in scalars {
            if scalar == "\"" { quoted.toggle() }
            if quoted { continue }
            if scalar == "\n" || scalar == "\r" { break }
            if scalar == "," || scalar == ";" || scalar == "\t" { counts[scalar, default: 0] += 1 }
        }
        let semicolons = counts[";", default: 0]
        let tabs = counts["\t", default: 0]
        if counts[","] != nil || semicolons + tabs == 0 { return "," }
        return semicolons >= tabs ? ";" : "\t"
    }
}
