package io.distlock.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * How many renewals (or keep-place commands) lease renewal lets out for one grant while Redis
 * does not answer: one more once the last has been out for its whole timeout, none while two
 * are out unreported. Time is the tick's: every tick comes a timeout after the one before.
 */
class OutstandingTest {

    private static final long TIMEOUT = 1_000;

    @Test
    void oneMoreGoesOutOnceTheLastHasBeenOutForItsTimeoutButNotAThirdWhileTwoAreUnreported() {
        Outstanding out = new Outstanding();
        assertThat(out.busy(0, TIMEOUT)).isFalse();
        out.sent(0);
        assertThat(out.busy(TIMEOUT - 1, TIMEOUT)).isTrue();
        assertThat(out.busy(TIMEOUT, TIMEOUT)).as("out for its whole timeout: most likely failed").isFalse();
        out.sent(TIMEOUT);
        assertThat(out.busy(3 * TIMEOUT, TIMEOUT)).as("two out, neither reported").isTrue();
        out.done(TIMEOUT);
        assertThat(out.busy(3 * TIMEOUT, TIMEOUT)).as("the last one reported").isFalse();
    }

    /**
     * The first one's failure is reported just after the tick that sent the second (the two come
     * together): the second alone is out then, so the next tick sends a third. Before this, the
     * late report freed nothing, and a stalled link got a renewal only every second tick: a stall
     * of a third of the lease, healed a little late, lost a lock (found by review 2026-12-06, in
     * the fault suite's redis-partition-0.3x margin).
     */
    @Test
    void aFailureReportedAfterTheNextWentOutLeavesOneOut() {
        Outstanding out = new Outstanding();
        out.sent(TIMEOUT);
        out.sent(2 * TIMEOUT); // the tick came before the first one's timeout was reported
        out.done(TIMEOUT); // then that report
        assertThat(out.busy(3 * TIMEOUT - 1, TIMEOUT)).as("the second is out, not yet for its timeout").isTrue();
        assertThat(out.busy(3 * TIMEOUT, TIMEOUT)).as("the next tick: only the second is out, for its whole timeout").isFalse();
        out.sent(3 * TIMEOUT);
        assertThat(out.busy(4 * TIMEOUT, TIMEOUT)).as("the second and third out, unreported").isTrue();
        out.done(2 * TIMEOUT);
        assertThat(out.busy(4 * TIMEOUT, TIMEOUT)).isFalse();
    }

    @Test
    void anAnswerToTheLastFreesTheNextAndClearForgetsAll() {
        Outstanding out = new Outstanding();
        out.sent(0);
        out.sent(TIMEOUT);
        out.done(TIMEOUT);
        assertThat(out.busy(TIMEOUT + 1, TIMEOUT)).isFalse();
        out.sent(2 * TIMEOUT);
        out.sent(3 * TIMEOUT);
        out.clear();
        assertThat(out.busy(3 * TIMEOUT + 1, TIMEOUT)).isFalse();
    }
}
