import GRDB

/// How a failure reads in a log: an SQLite error with its extended result code, which says what
/// the primary code does not (for `SQLITE_IOERR`, 266 is a failed read, 4874 a shared-memory
/// size error, and so on: https://www.sqlite.org/rescode.html).
package func logDescription(of error: any Error) -> String {
    guard let database = error as? DatabaseError else { return "\(error)" }
    return "\(database) (SQLite extended code \(database.extendedResultCode.rawValue))"
}
