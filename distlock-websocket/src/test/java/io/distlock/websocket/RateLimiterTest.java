package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.distlock.websocket.RateLimiter.Verdict;

/** The token bucket, on a clock the test moves. */
class RateLimiterTest {

    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void allowsTheBurstThenTheSustainedRate() {
        long now = 1_000_000 * MS;
        RateLimiter limiter = new RateLimiter(200, 400, now);
        for (int i = 0; i < 400; i++) {
            assertThat(limiter.acquire(now)).isEqualTo(Verdict.ALLOWED);
        }
        assertThat(limiter.acquire(now)).isEqualTo(Verdict.LIMITED);
        now += 5 * MS; // one token per 5 ms at 200/s
        assertThat(limiter.acquire(now)).isEqualTo(Verdict.ALLOWED);
        assertThat(limiter.acquire(now)).isEqualTo(Verdict.LIMITED);
        // a steady 200/s is never refused
        for (int i = 0; i < 1000; i++) {
            now += 5 * MS;
            assertThat(limiter.acquire(now)).isEqualTo(Verdict.ALLOWED);
        }
    }

    @Test
    void theBucketRefillsOnlyToTheBurst() {
        long now = 0;
        RateLimiter limiter = new RateLimiter(10, 3, now);
        now += 60_000 * MS;
        for (int i = 0; i < 3; i++) {
            assertThat(limiter.acquire(now)).isEqualTo(Verdict.ALLOWED);
        }
        assertThat(limiter.acquire(now)).isEqualTo(Verdict.LIMITED);
    }

    @Test
    void moreRefusalsThanTheBurstWithinASecondIsAFlood() {
        long now = 0;
        RateLimiter limiter = new RateLimiter(1, 5, now);
        for (int i = 0; i < 5; i++) {
            limiter.acquire(now);
        }
        for (int i = 0; i < 5; i++) {
            assertThat(limiter.acquire(now)).isEqualTo(Verdict.LIMITED);
        }
        assertThat(limiter.acquire(now)).isEqualTo(Verdict.FLOOD);
    }

    @Test
    void refusalsSpreadOverSecondsAreNoFlood() {
        long now = 0;
        RateLimiter limiter = new RateLimiter(1, 2, now);
        limiter.acquire(now);
        limiter.acquire(now);
        for (int second = 0; second < 10; second++) {
            assertThat(limiter.acquire(now)).isEqualTo(Verdict.LIMITED);
            assertThat(limiter.acquire(now)).isEqualTo(Verdict.LIMITED);
            now += 1100 * MS;
            assertThat(limiter.acquire(now)).isEqualTo(Verdict.ALLOWED);
        }
    }
}
