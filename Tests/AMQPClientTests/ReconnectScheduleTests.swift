import Testing

@testable import AMQPClient

/// Which endpoint a connection tries next, and when, without a broker.
struct ReconnectScheduleTests {
    let start = ContinuousClock.now

    func schedule(endpoints: Int) -> ReconnectSchedule {
        ReconnectSchedule(
            endpointCount: endpoints, initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(400),
            stableAfter: .seconds(1), now: start)
    }

    @Test func theFirstAttemptIsAtTheFirstEndpointAtOnce() {
        let schedule = schedule(endpoints: 3)
        #expect(schedule.next == .init(endpoint: 0, notBefore: start))
    }

    @Test func aFailedEndpointIsFollowedAtOnceByTheNextUntilAllFailed() {
        var schedule = schedule(endpoints: 3)
        #expect(schedule.failed(at: start) == .zero)
        #expect(schedule.next == .init(endpoint: 1, notBefore: start))
        #expect(schedule.failed(at: start) == .zero)
        #expect(schedule.next == .init(endpoint: 2, notBefore: start))
        #expect(schedule.failed(at: start) == .milliseconds(100))
        #expect(schedule.next == .init(endpoint: 0, notBefore: start + .milliseconds(100)))
    }

    @Test func theBackoffDoublesWithEachRoundOfFailuresUpToTheCap() {
        var schedule = schedule(endpoints: 1)
        let waits = (0..<5).map { _ in schedule.failed(at: start) }
        #expect(
            waits == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(400), .milliseconds(400),
            ])
        #expect(schedule.next.endpoint == 0)
    }

    @Test func losingAStableConnectionRetriesTheNextEndpointAtOnceWithTheBackoffStartedOver() {
        var schedule = schedule(endpoints: 2)
        schedule.failed(at: start)
        schedule.failed(at: start)  // backoff now 200 ms
        schedule.failed(at: start)
        #expect(schedule.next.endpoint == 1)
        schedule.connected(at: start)
        let lost = start + .seconds(30)
        #expect(schedule.lost(at: lost) == .zero)
        #expect(schedule.next == .init(endpoint: 0, notBefore: lost))
        // The endpoint that dropped the connection is still tried at once, as the last of the round.
        #expect(schedule.failed(at: lost) == .zero)
        #expect(schedule.next == .init(endpoint: 1, notBefore: lost))
        #expect(schedule.failed(at: lost) == .milliseconds(100))
    }

    @Test func aSingleEndpointIsRetriedAtOnceAfterAStableConnectionIsLost() {
        var schedule = schedule(endpoints: 1)
        schedule.connected(at: start)
        #expect(schedule.lost(at: start + .seconds(5)) == .zero)
        #expect(schedule.next == .init(endpoint: 0, notBefore: start + .seconds(5)))
    }

    @Test func aConnectionLostAtOnceCountsAsAFailureSoFlappingBacksOff() {
        var schedule = schedule(endpoints: 1)
        var waits: [Duration] = []
        for round in 0..<3 {
            let now = start + .milliseconds(10 * round)
            schedule.connected(at: now)
            waits.append(schedule.lost(at: now + .milliseconds(5)))
        }
        #expect(waits == [.milliseconds(100), .milliseconds(200), .milliseconds(400)])
    }
}
