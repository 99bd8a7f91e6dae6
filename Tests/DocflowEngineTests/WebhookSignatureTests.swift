import DocflowCore
import Foundation
import GRDB
import Testing

@testable import DocflowEngine
@testable import DocflowStore

/// What identifies one signed webhook request, and how long docflow remembers it.
@Suite struct WebhookSignatureTests {
    @Test func copiesOfOneSignedRequestShareADigestAndANewTimestampDoesNot() throws {
        let body = Data(#"{"a": 1}"#.utf8)
        let now = Date()
        let t = Int(now.timeIntervalSince1970)
        let header = WebhookSignature.sign(body, secret: "s", timestamp: t)
        let first = try WebhookSignature.verify(header, body: body, secret: "s", now: now)
        let padded = try WebhookSignature.verify(
            "v1=abcd, " + header.replacingOccurrences(of: ",", with: " , "), body: body, secret: "s", now: now)
        let resigned = try WebhookSignature.verify(
            WebhookSignature.sign(body, secret: "s", timestamp: t - 1), body: body, secret: "s", now: now)
        #expect(first.timestamp == t)
        #expect(first.digest.count == 32)
        #expect(padded == first)
        #expect(resigned.digest != first.digest)
    }

    @Test func seenSignaturesArePrunedOnceTheirTimestampLeavesTheWindow() async throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("docflow-signatures-\(UUID().uuidString)").appendingPathComponent("db.sqlite").path
        let store = try Store(path: path)
        let now = 1_700_000_000
        let old = Data(repeating: 1, count: 32)
        let recent = Data(repeating: 2, count: 32)
        try await store.write { db in
            try WebhookSignaturesSeen.record(db, workflowID: "w", digest: old, signedAt: now - 400, executionID: "e1")
            try WebhookSignaturesSeen.record(
                db, workflowID: "w", digest: recent, signedAt: now - 100, executionID: "e2")
        }
        let removed = try await store.write { db in try WebhookSignaturesSeen.prune(db, before: now - 300) }
        #expect(removed == 1)
        let left = try await store.read { db in
            (
                try WebhookSignaturesSeen.execution(db, workflowID: "w", digest: old),
                try WebhookSignaturesSeen.execution(db, workflowID: "w", digest: recent),
                try WebhookSignaturesSeen.execution(db, workflowID: "other", digest: recent)
            )
        }
        #expect(left.0 == nil)
        #expect(left.1 == "e2")
        #expect(left.2 == nil)
        try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
    }
}
