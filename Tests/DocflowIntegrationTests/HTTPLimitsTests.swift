import DocflowService
import NIOCore
import Testing

@Suite("HTTP limits: connection timeouts")
struct HTTPConnectionTimeoutsTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let read = TimeAmount.seconds(10)
    let idle = TimeAmount.seconds(60)

    func connection() -> HTTPConnectionTimeouts {
        HTTPConnectionTimeouts(readTimeout: read, idleTimeout: idle, now: start)
    }

    @Test func aNewConnectionMustSendItsFirstRequestWithinTheReadTimeout() {
        let timeouts = connection()
        #expect(timeouts.deadline == start + read)
        #expect(timeouts.timerFired(now: start + read) == .close)
        #expect(timeouts.timerFired(now: start + .seconds(1)) == .schedule(start + read))
    }

    @Test func aRequestIsTimedFromItsFirstByteNotItsLast() {
        var timeouts = connection()
        #expect(timeouts.headRead(now: start + .seconds(1)) == .nothing)
        #expect(timeouts.endRead(now: start + .seconds(2)) == .cancelTimer)
        #expect(timeouts.responseEnded(now: start + .seconds(3)) == .schedule(start + .seconds(3) + idle))
        // Bytes of the next request start its read deadline; more bytes do not move it.
        let next = start + .seconds(20)
        #expect(timeouts.bytesArrived(now: next) == .schedule(next + read))
        #expect(timeouts.bytesArrived(now: next + .seconds(5)) == .nothing)
        #expect(timeouts.headRead(now: next + .seconds(6)) == .nothing)
        #expect(timeouts.timerFired(now: next + read) == .close)
    }

    @Test func whileAnsweringNothingIsTimed() {
        var timeouts = connection()
        _ = timeouts.headRead(now: start)
        _ = timeouts.endRead(now: start)
        #expect(timeouts.phase == .answering)
        #expect(timeouts.bytesArrived(now: start + .seconds(1)) == .nothing)
        #expect(timeouts.timerFired(now: start + .seconds(600)) == .nothing)
    }

    @Test func aBodyStillArrivingAfterItsAnswerKeepsItsReadDeadline() {
        var timeouts = connection()
        _ = timeouts.headRead(now: start)
        // A 413 written before the body ended: the rest is read on the request's deadline.
        #expect(timeouts.responseEnded(now: start + .seconds(1)) == .nothing)
        #expect(timeouts.phase == .reading(until: start + read))
        #expect(timeouts.endRead(now: start + .seconds(2)) == .schedule(start + .seconds(2) + idle))
    }

    @Test func aPipelinedRequestIsTimedOnceTheOneBeforeIsAnswered() {
        var timeouts = connection()
        _ = timeouts.headRead(now: start)
        _ = timeouts.endRead(now: start)
        #expect(timeouts.headRead(now: start + .seconds(1)) == .nothing)
        let answered = start + .seconds(30)
        #expect(timeouts.responseEnded(now: answered) == .schedule(answered + read))
        #expect(timeouts.endRead(now: answered + .seconds(1)) == .cancelTimer)
        #expect(timeouts.responseEnded(now: answered + .seconds(2)) == .schedule(answered + .seconds(2) + idle))
    }
}
