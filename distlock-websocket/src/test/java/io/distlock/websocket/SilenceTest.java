package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** When a connection counts as silent: standing on the boundaries, with ticks on time and late. */
class SilenceTest {

    private static final long I = 1_000_000_000L; // one ping interval

    @Test
    void ticksOnTimeCloseAClientSilentForTwoIntervalsExactly() {
        Silence s = new Silence(I, 0);
        assertThat(s.silentAt(I)).isFalse();
        assertThat(s.silentAt(2 * I - 1)).isFalse();
        assertThat(s.silentAt(2 * I)).isTrue();
    }

    @Test
    void aClientHeardWithinTwoIntervalsStaysOpen() {
        Silence s = new Silence(I, 0);
        for (long t = I; t <= 20 * I; t += I) {
            s.heard(t - I / 10); // its pong to the previous tick's ping
            assertThat(s.silentAt(t)).as("at %d intervals", t / I).isFalse();
        }
    }

    @Test
    void aTickLateBecauseTheNodeStoodStillJudgesNobodyAndTheNextOneDoes() {
        Silence s = new Silence(I, 0);
        assertThat(s.silentAt(I)).isFalse();
        // the node stood still for three intervals: the client's pong waits unread
        assertThat(s.silentAt(4 * I)).isFalse();
        s.heard(4 * I + 1); // read right after
        assertThat(s.silentAt(5 * I)).isFalse();

        Silence dead = new Silence(I, 0);
        assertThat(dead.silentAt(I)).isFalse();
        assertThat(dead.silentAt(4 * I)).isFalse();
        assertThat(dead.silentAt(5 * I)).isTrue(); // nothing came after the ping: closed one interval later
    }

    @Test
    void theLateBoundIsHalfAnInterval() {
        Silence s = new Silence(I, 0);
        assertThat(s.silentAt(I)).isFalse();
        assertThat(s.silentAt(I + I + I / 2 - 1)).isTrue(); // not late enough to pass: judged, and silent
        Silence late = new Silence(I, 0);
        assertThat(late.silentAt(I)).isFalse();
        assertThat(late.silentAt(I + I + I / 2)).isFalse(); // late by half an interval: passes
    }

    @Test
    void aTimerThatIsAlwaysLateStillJudgesEveryOtherTick() {
        Silence s = new Silence(I, 0);
        assertThat(s.silentAt(2 * I)).isFalse(); // late: passes
        assertThat(s.silentAt(4 * I)).isTrue(); // late again, but the last one passed: judged
    }
}
