import Testing

@testable import AMQPClient

/// The heartbeat decisions of a connection, against a clock the test moves.
@Suite("HeartbeatMonitor")
struct HeartbeatMonitorTests {
    typealias Instant = ContinuousClock.Instant
    let start = ContinuousClock.now

    private func at(_ milliseconds: Int) -> Instant { start + .milliseconds(milliseconds) }

    @Test func aSilentBrokerIsDeclaredDeadAtTheFirstTickTwoIntervalsAfterItsLastTraffic() {
        var monitor = HeartbeatMonitor(interval: .seconds(1), now: at(0))
        monitor.received(at: at(1000))
        monitor.sent(at: at(2900))
        #expect(monitor.tick(at: at(2999)) == nil)
        #expect(monitor.tick(at: at(3000)) == .declareDead(silence: .seconds(2)))
    }

    @Test func theBrokerIsDeclaredDeadOnlyOnce() {
        var monitor = HeartbeatMonitor(interval: .seconds(1), now: at(0))
        #expect(monitor.tick(at: at(2500)) == .declareDead(silence: .milliseconds(2500)))
        #expect(monitor.tick(at: at(2750)) == nil)
        #expect(monitor.tick(at: at(9000)) == nil)
    }

    @Test func anIdleConnectionWithABrokerThatSendsHeartbeatsStaysUpAndSendsOneEveryHalfInterval() {
        var monitor = HeartbeatMonitor(interval: .seconds(1), now: at(0))
        var heartbeats = 0
        var now = at(0)
        while now < at(60_000) {
            // RabbitMQ's own cadence: a heartbeat every half interval on an idle connection.
            monitor.received(at: at(Int((now - start) / .milliseconds(500)) * 500))
            switch monitor.tick(at: now) {
            case .sendHeartbeat:
                heartbeats += 1
                monitor.sent(at: now)
            case .declareDead(let silence): Issue.record("declared dead after \(silence) at \(now - start)")
            case nil: break
            }
            now = monitor.nextTick
        }
        #expect((100...120).contains(heartbeats), "\(heartbeats) heartbeats in 60 s")
    }

    @Test func traffickingJustUnderTwoIntervalsApartKeepsTheConnection() {
        var monitor = HeartbeatMonitor(interval: .seconds(5), now: at(0))
        for second in stride(from: 9, through: 90, by: 9) {
            #expect(monitor.tick(at: at(second * 1000 - 1)).map { $0 == .sendHeartbeat } ?? true)
            monitor.received(at: at(second * 1000))
        }
    }

    @Test func aHeartbeatIsAskedForOnceNothingWasSentForHalfAnInterval() {
        var monitor = HeartbeatMonitor(interval: .seconds(2), now: at(0))
        monitor.received(at: at(900))
        #expect(monitor.tick(at: at(999)) == nil)
        #expect(monitor.tick(at: at(1000)) == .sendHeartbeat)
        // Asked again at every tick until one is reported sent.
        #expect(monitor.tick(at: at(1500)) == .sendHeartbeat)
        monitor.sent(at: at(1500))
        #expect(monitor.tick(at: at(1750)) == nil)
        #expect(monitor.tick(at: at(2500)) == .sendHeartbeat)
    }

    @Test func otherTrafficSentMakesAHeartbeatUnnecessary() {
        var monitor = HeartbeatMonitor(interval: .seconds(2), now: at(0))
        for now in stride(from: 250, through: 3750, by: 250) {
            monitor.sent(at: at(now - 100))  // a publish, an ack
            monitor.received(at: at(now - 100))
            #expect(monitor.tick(at: at(now)) == nil)
        }
    }

    @Test func olderInstantsReportedLateMoveNothingBack() {
        var monitor = HeartbeatMonitor(interval: .seconds(1), now: at(0))
        monitor.received(at: at(1500))
        monitor.received(at: at(200))
        monitor.sent(at: at(1500))
        monitor.sent(at: at(100))
        #expect(monitor.lastReceived == at(1500))
        #expect(monitor.lastSent == at(1500))
        #expect(monitor.tick(at: at(3499)) == .sendHeartbeat)
        #expect(monitor.tick(at: at(3500)) == .declareDead(silence: .seconds(2)))
    }

    @Test func ticksComeEveryQuarterIntervalAndAtLeastTwiceASecond() {
        var monitor = HeartbeatMonitor(interval: .seconds(1), now: at(0))
        #expect(monitor.tickInterval == .milliseconds(250))
        #expect(monitor.nextTick == at(0))
        _ = monitor.tick(at: at(100))
        #expect(monitor.nextTick == at(350))
        #expect(HeartbeatMonitor(interval: .seconds(5), now: at(0)).tickInterval == .milliseconds(500))
        #expect(HeartbeatMonitor(interval: .seconds(30), now: at(0)).tickInterval == .milliseconds(500))
    }

    /// The documented bound: ticking whenever `nextTick` says, a broker that falls silent at any
    /// moment is declared dead within two intervals and one tick interval of its last traffic.
    @Test(arguments: [1, 2, 5, 30])
    func aFreezeAtAnyMomentIsNoticedWithinTwoIntervalsAndOneTick(seconds: Int) {
        let interval = Duration.seconds(seconds)
        for freezeOffset in stride(from: 0, to: 1000, by: 37) {
            var monitor = HeartbeatMonitor(interval: interval, now: at(0))
            let frozen = at(10_000 + freezeOffset)
            var now = at(0)
            var noticed: Instant?
            while noticed == nil, now < frozen + interval * 4 {
                monitor.received(at: min(now, frozen))  // traffic until the freeze
                switch monitor.tick(at: now) {
                case .declareDead: noticed = now
                case .sendHeartbeat: monitor.sent(at: now)
                case nil: break
                }
                now = monitor.nextTick
            }
            let took = noticed.map { $0 - frozen }
            #expect(took != nil && took! >= interval * 2 && took! <= interval * 2 + monitor.tickInterval)
        }
    }
}
