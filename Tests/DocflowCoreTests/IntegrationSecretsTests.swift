import Foundation
import Testing

@testable import DocflowCore

/// Which integration fields are secrets, how replies mask them, and the rule that a stored secret
/// never follows an update to another scheme, host or port.
@Suite struct IntegrationSecretsTests {
    static let webhook = Integration(
        id: "i", workflowID: nil, name: "ERP", type: .webhook,
        config: [
            "url": "https://hooks.example.com/in", "headers": ["Authorization": "Bearer t", "X-Tenant": "acme"],
            "secret": "whsec", "method": "POST",
        ],
        createdAt: Date(), updatedAt: Date())

    static func update(_ config: JSONValue, existing: Integration = webhook) -> Result<
        IntegrationValidator.Draft, ValidationFailure
    > {
        IntegrationValidator.validate(["config": config], existing: existing)
    }

    static func fields(_ result: Result<IntegrationValidator.Draft, ValidationFailure>) -> [String] {
        guard case .failure(let failure) = result else { return [] }
        return failure.details.map(\.field).sorted()
    }

    @Test func aNewHostWithoutTheSecretsNamesEachOne() throws {
        let result = Self.update(["url": "https://evil.example/collect"])
        #expect(Self.fields(result) == ["config.headers", "config.secret"])
        guard case .failure(let failure) = result else { return }
        #expect(
            failure.detail(for: "config.headers")?.message
                == "must be sent again: config.url changes the destination from hooks.example.com to evil.example, and secrets are not carried to a new destination"
        )
    }

    @Test func aNewPortOrSchemeIsANewDestination() {
        let port = Self.update(["url": "https://hooks.example.com:8443/in"])
        #expect(Self.fields(port) == ["config.headers", "config.secret"])
        guard case .failure(let failure) = port else { return }
        #expect(
            failure.details.first?.message.contains("from hooks.example.com:443 to hooks.example.com:8443") == true)
        let scheme = Self.update(["url": "http://hooks.example.com/in"])
        guard case .failure(let downgrade) = scheme else {
            Issue.record("a scheme change was accepted")
            return
        }
        #expect(
            downgrade.details.first?.message.contains("from https://hooks.example.com to http://hooks.example.com")
                == true)
    }

    @Test func maskedValuesAreNotSentAgain() {
        let result = Self.update([
            "url": "https://evil.example/collect", "headers": ["Authorization": "********", "X-Tenant": "acme"],
            "secret": "********",
        ])
        #expect(Self.fields(result) == ["config.headers.Authorization", "config.secret"])
    }

    @Test func secretsSentAgainOrRemovedMayMove() throws {
        let resent = try Self.update([
            "url": "https://new.example/in", "headers": ["Authorization": "Bearer u"], "secret": "whsec-2",
        ]).get()
        #expect(resent.config["headers"] == ["Authorization": "Bearer u"])
        #expect(resent.config["secret"] == "whsec-2")
        let dropped = try Self.update(["url": "https://new.example/in", "headers": [:], "secret": .null]).get()
        #expect(dropped.config["headers"] == [:])
    }

    @Test func theSameOriginKeepsStoredSecrets() throws {
        let moved = try Self.update(["url": "https://HOOKS.example.com:443/other?x=1", "secret": "********"]).get()
        #expect(moved.config["secret"] == "whsec")
        #expect(moved.config["headers"]?["Authorization"] == "Bearer t")
    }

    @Test func aNewSlackWebhookURLIsItsOwnSecret() throws {
        let slack = Integration(
            id: "s", workflowID: nil, name: "Slack", type: .slack,
            config: ["webhook_url": "https://hooks.slack.com/services/T/B/old", "channel": "#a"],
            createdAt: Date(), updatedAt: Date())
        let moved = try Self.update(["webhook_url": "https://other.example/services/T/B/new"], existing: slack).get()
        #expect(moved.config["webhook_url"] == "https://other.example/services/T/B/new")
        let kept = try Self.update(["webhook_url": "********", "channel": "#b"], existing: slack).get()
        #expect(kept.config["webhook_url"] == "https://hooks.slack.com/services/T/B/old")
    }

    @Test func theMaskWithNothingStoredBehindItIsRefused() {
        let newHeader = Self.update(["headers": ["Authorization": "********", "X-New": "********"]])
        #expect(Self.fields(newHeader) == ["config.headers.X-New"])
        let created = IntegrationValidator.validate([
            "name": "h", "integration_type": "webhook",
            "config": ["url": "https://a.example", "headers": ["Authorization": "********"]],
        ])
        #expect(Self.fields(created) == ["config.headers.Authorization"])
    }

    @Test func repliesMaskEverySecretField() {
        let config = Self.webhook.json()["config"]
        #expect(config?["headers"] == ["Authorization": "********", "X-Tenant": "********"])
        #expect(config?["secret"] == "********")
        #expect(config?["url"] == "https://hooks.example.com/in")
        #expect(Integration.secretKeys(of: .email).isEmpty)
    }
}
