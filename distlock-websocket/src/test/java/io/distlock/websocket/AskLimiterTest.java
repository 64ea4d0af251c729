package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** One ask per lock per interval, on a clock the test moves. */
class AskLimiterTest {

    private static final long INTERVAL = 10_000_000_000L;

    @Test
    void aSecondAskForOneLockWithinTheIntervalIsRefusedAndAllowedExactlyAtIt() {
        AskLimiter asks = new AskLimiter(INTERVAL);
        long t0 = 123_456_789L;
        assertThat(asks.tryAsk("doc", t0)).isTrue();
        assertThat(asks.tryAsk("doc", t0)).isFalse();
        assertThat(asks.tryAsk("doc", t0 + INTERVAL - 1)).isFalse();
        assertThat(asks.tryAsk("other", t0 + INTERVAL - 1)).as("another lock").isTrue();
        assertThat(asks.tryAsk("doc", t0 + INTERVAL)).isTrue();
        // A refused ask does not restart the interval; an allowed one does.
        assertThat(asks.tryAsk("doc", t0 + 2 * INTERVAL - 1)).isFalse();
        assertThat(asks.tryAsk("doc", t0 + 2 * INTERVAL)).isTrue();
    }
}
