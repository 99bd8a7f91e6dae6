import AMQPClient
import Foundation
import Synchronization

/// One system under load: where events go in, where their completions come out, and the
/// processes whose CPU the run is charged with.
struct LoadTarget: Sendable {
    let name: String
    let publisher: EventPublisher
    let monitor: StatusMonitor
    /// The worker under test (`docflow serve`); none for the ceiling, whose worker is the bench.
    let worker: ProcessSampler?
    let broker: ProcessSampler?
    /// `docflow worker`s running the steps `docflow serve` dispatches (the worker mode).
    var stepWorkers: [ProcessSampler] = []
    let bench = ProcessSampler(pid: getpid(), includesDescendants: false)

    private static let sequence = Atomic<Int>(0)

    /// CPU readings of every process involved, at one instant.
    struct Reading: Sendable {
        var instant: UInt64
        var worker: ProcessSampler.Sample?
        var broker: ProcessSampler.Sample?
        /// CPU seconds of all the step workers together; nil when there are none.
        var stepWorkers: Double?
        var bench: ProcessSampler.Sample
        /// Busy CPU seconds of the whole machine.
        var machine: Double?
    }

    func read() -> Reading {
        Reading(
            instant: Nanos.now(), worker: worker?.sample(), broker: broker?.sample(),
            stepWorkers: stepWorkers.isEmpty ? nil : stepWorkers.reduce(0) { $0 + $1.sample().cpuSeconds },
            bench: bench.sample(), machine: ProcessSampler.machineBusySeconds())
    }

    /// Publishes `count` new `document.uploaded` events, registered with `flight` as meant to be
    /// sent at `intended`.
    func send(_ count: Int, intended: UInt64, flight: Flight) {
        send(intended: Array(repeating: intended, count: count), flight: flight)
    }

    /// Publishes one new event per instant of `intended`, as one batch, each registered with
    /// `flight` as meant to be sent at its instant.
    func send(intended: [UInt64], flight: Flight) {
        var messages: [AMQPMessage] = []
        messages.reserveCapacity(intended.count)
        for instant in intended {
            let id = UUID().uuidString.lowercased()
            let sequence = Self.sequence.add(1, ordering: .relaxed).newValue
            flight.expect(id, intendedAt: instant)
            messages.append(publisher.message(eventID: id, sequence: sequence))
        }
        publisher.send(messages)
    }
}
