import DocflowStore
import GRDB
import Testing

/// Logged SQLite failures carry their extended result code: "disk I/O error" alone does not say
/// whether a read failed, a file went away or shared memory did.
@Suite struct StoreErrorDescriptionTests {
    @Test func anSQLiteErrorNamesItsExtendedCode() {
        let error = DatabaseError(resultCode: .SQLITE_IOERR_READ, message: "disk I/O error")
        let text = logDescription(of: error)
        #expect(text.contains("disk I/O error"))
        #expect(text.hasSuffix("(SQLite extended code 266)"), "\(text)")
    }

    @Test func otherErrorsReadAsThemselves() {
        struct Other: Error, CustomStringConvertible { var description: String { "not a database error" } }
        #expect(logDescription(of: Other()) == "not a database error")
    }
}
