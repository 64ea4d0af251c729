package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** One ask per session and lock, and per connection and lock, per interval, on a clock the test moves. */
class AskLimiterTest {

    private static final long INTERVAL = 10_000_000_000L;

    @Test
    void aSecondAskForOneLockWithinTheIntervalIsRefusedAndAllowedExactlyAtIt() {
        AskLimiter asks = new AskLimiter(INTERVAL);
        long t0 = 123_456_789L;
        assertThat(asks.tryAsk("s1", "c1", "doc", t0)).isTrue();
        assertThat(asks.tryAsk("s1", "c1", "doc", t0)).isFalse();
        assertThat(asks.tryAsk("s1", "c1", "doc", t0 + INTERVAL - 1)).isFalse();
        assertThat(asks.tryAsk("s1", "c1", "other", t0 + INTERVAL - 1)).as("another lock").isTrue();
        assertThat(asks.tryAsk("s2", "c2", "doc", t0 + INTERVAL - 1)).as("another session, on another connection").isTrue();
        assertThat(asks.tryAsk("s1", "c1", "doc", t0 + INTERVAL)).isTrue();
        // A refused ask does not restart the interval; an allowed one does.
        assertThat(asks.tryAsk("s1", "c1", "doc", t0 + 2 * INTERVAL - 1)).isFalse();
        assertThat(asks.tryAsk("s1", "c1", "doc", t0 + 2 * INTERVAL)).isTrue();
    }

    @Test
    void aNewSessionOnTheSameConnectionOrTheSameSessionOnAnotherKeepsThePace() {
        AskLimiter asks = new AskLimiter(INTERVAL);
        long t0 = 5;
        assertThat(asks.tryAsk("s1", "c1", "doc", t0)).isTrue();
        assertThat(asks.tryAsk("s2", "c1", "doc", t0 + 1)).as("close, connect again, ask").isFalse();
        assertThat(asks.tryAsk("s1", "c2", "doc", t0 + 1)).as("resumed on another connection").isFalse();
        assertThat(asks.tryAsk("s2", "c2", "doc", t0 + 1)).as("another session on another connection").isTrue();
        assertThat(asks.tryAsk("s3", "c1", "doc", t0 + INTERVAL)).isTrue();
    }

    @Test
    void anAskGivenBackHoldsUpNothingButALaterAskStays() {
        AskLimiter asks = new AskLimiter(INTERVAL);
        assertThat(asks.tryAsk("s1", "c1", "doc", 1)).isTrue();
        asks.giveBack("s1", "c1", "doc", 1);
        assertThat(asks.tryAsk("s1", "c1", "doc", 2)).as("the ask given back kept no pace").isTrue();
        asks.giveBack("s1", "c1", "doc", 1); // late, for the first ask: the second's pace stays
        assertThat(asks.tryAsk("s1", "c1", "doc", 3)).isFalse();
    }

    @Test
    void expiredAsksAreSweptSoTheMapStaysAsLargeAsTheAsksOfOneInterval() {
        AskLimiter asks = new AskLimiter(INTERVAL);
        long now = 0;
        for (int i = 0; i < 100_000; i++) {
            now += INTERVAL / 1000; // 1,000 asks per interval, each of another session
            assertThat(asks.tryAsk("s" + i, "c" + i, "doc", now)).isTrue();
        }
        assertThat(asks.size()).isLessThanOrEqualTo(2 * (2 * 1024 + 1000));
        assertThat(asks.tryAsk("s99999", "c99999", "doc", now)).as("a recent ask survives the sweeps").isFalse();
    }
}
