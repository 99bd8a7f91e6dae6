import DocflowStore
import Testing

/// A list's cursor reads back as the place it was made for, and nothing else reads as one.
@Suite("Page cursor")
struct PageCursorTests {
    let cursor = PageCursor(
        list: .executions, time: "2026-06-01T12:00:00.250Z", id: "2e885a55-6cc5-4d5c-88d3-b47f1dcc7caf")

    @Test func aTokenReadsBackAsItsPlace() {
        #expect(PageCursor(token: cursor.token, of: .executions) == cursor)
    }

    @Test func aTokenIsBase64URLWithoutPadding() {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        #expect(cursor.token.allSatisfy(allowed.contains))
    }

    @Test func aTokenOfAnotherListIsRefused() {
        #expect(PageCursor(token: cursor.token, of: .workflows) == nil)
    }

    @Test(arguments: [
        "", "bad cursor", "abc=", "Zm9v",  // "foo"
        String(repeating: "A", count: 600),
    ])
    func somethingElseIsRefused(_ token: String) {
        #expect(PageCursor(token: token, of: .executions) == nil)
    }

    @Test func anEditedTokenIsRefused() {
        // "e|yesterday|x": the right shape, but no time.
        let edited = PageCursor(list: .executions, time: "yesterday", id: "x").token
        #expect(PageCursor(token: edited, of: .executions) == nil)
        let noID = PageCursor(list: .executions, time: cursor.time, id: "").token
        #expect(PageCursor(token: noID, of: .executions) == nil)
    }
}
