import AMQPClient
import Testing

/// Reading broker URLs: one, or the nodes of a cluster.
struct AMQPConfigurationTests {
    @Test func commaSeparatedURLsAreEndpointsInOrder() throws {
        let configuration = try AMQPConfiguration(
            url: "amqp://a:pa@node1:5672/%2F, amqp://b:pb@node2:5673/prod,amqp://node3")
        #expect(
            configuration.endpoints == [
                AMQPEndpoint(host: "node1", port: 5672, username: "a", password: "pa", virtualHost: "/"),
                AMQPEndpoint(host: "node2", port: 5673, username: "b", password: "pb", virtualHost: "prod"),
                AMQPEndpoint(host: "node3"),
            ])
        #expect(configuration.host == "node1")
    }

    @Test func repeatedURLsAndListsAddUp() throws {
        let configuration = try AMQPConfiguration(urls: ["amqp://node1", "amqp://node2,amqp://node3"])
        #expect(configuration.endpoints.map(\.host) == ["node1", "node2", "node3"])
    }

    @Test func redactedListsEveryEndpointWithoutCredentials() throws {
        let configuration = try AMQPConfiguration(url: "amqp://u:secret@node1/%2F,amqp://u:secret@node2:5673/v")
        #expect(configuration.redacted == "amqp://node1:5672/%2F,amqp://node2:5673/v")
    }

    @Test func aBadURLInTheListIsRefusedWithoutItsPassword() {
        #expect {
            try AMQPConfiguration(url: "amqp://node1,http://u:secret@node2")
        } throws: { error in
            "\(error)".contains("node2") && !"\(error)".contains("secret")
        }
    }

    @Test func anEmptyListIsRefused() {
        #expect(throws: AMQPConfiguration.URLError.self) { try AMQPConfiguration(url: " , ") }
    }
}
