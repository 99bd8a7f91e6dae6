import AMQPClient
import DocflowClient
import Foundation
import Logging

/// Moves a message that can never be processed to the dead-letter exchange, with the reason in
/// an `x-docflow-error` header, and only then acks it (contract section 5). `DeadLetter` (in
/// DocflowClient) reads these headers back.
struct DeadLetters: Sendable {
    let channel: AMQPChannel
    let names: Names
    let logger: Logger

    func deadLetter(_ delivery: AMQPDelivery, reason: String) async {
        var properties = delivery.properties
        properties.headers["x-docflow-error"] = .string(reason)
        properties.headers["x-docflow-original-exchange"] = .string(delivery.exchange)
        properties.headers["x-docflow-original-routing-key"] = .string(delivery.routingKey)
        // The age `docflow dead-letters list` shows; the message's own timestamp is its publisher's.
        properties.headers["x-docflow-dead-lettered-at"] = .timestamp(UInt64(Date().timeIntervalSince1970))
        properties.persistent = true
        do {
            try await channel.publish(
                AMQPMessage(
                    exchange: names.deadLetterExchange, routingKey: delivery.routingKey, body: delivery.body,
                    properties: properties))
            delivery.ack()
            logger.warning(
                "dead-lettered a message", metadata: ["reason": "\(reason)", "routing_key": "\(delivery.routingKey)"])
        } catch {
            // Not moved: leave it to the broker, whose delivery limit dead-letters it in the end.
            logger.error("could not dead-letter a message", metadata: ["reason": "\(reason)", "error": "\(error)"])
            delivery.nack(requeue: true)
        }
    }
}
