package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/** The demo store's buckets on a clock moved by hand: bursts, the rate after them, and what is kept. */
class SaveThrottleTest {

    private static final long SHARE = TimeUnit.SECONDS.toNanos(1) / SaveThrottle.PER_ADDRESS_PER_SECOND;

    @Test
    void anAddressGetsItsBurstThenOneSaveAShareAndOthersAreNotHeldBack() {
        AtomicLong now = new AtomicLong(123_456_789);
        SaveThrottle throttle = new SaveThrottle(now::get);
        for (int i = 0; i < SaveThrottle.PER_ADDRESS_BURST; i++) {
            assertThat(throttle.acquire("192.0.2.7").taken()).as("save %s of the burst", i).isTrue();
        }
        SaveThrottle.Verdict refused = throttle.acquire("192.0.2.7");
        assertThat(refused.taken()).isFalse();
        assertThat(refused.node()).isFalse();
        assertThat(refused.waitNanos()).isEqualTo(SHARE);
        assertThat(refused.retryAfterSeconds()).isEqualTo(1);
        assertThat(throttle.acquire("192.0.2.8").taken()).as("another address").isTrue();

        now.addAndGet(SHARE - 1);
        assertThat(throttle.acquire("192.0.2.7").taken()).as("a moment before its share").isFalse();
        now.addAndGet(1);
        assertThat(throttle.acquire("192.0.2.7").taken()).isTrue();
        assertThat(throttle.acquire("192.0.2.7").taken()).as("one save per share").isFalse();
    }

    @Test
    void theNodeTakesItsBurstFromEveryoneThenItsRate() {
        AtomicLong now = new AtomicLong(-5); // any origin, negative too
        SaveThrottle throttle = new SaveThrottle(now::get);
        for (int i = 0; i < SaveThrottle.PER_NODE_BURST; i++) {
            assertThat(throttle.acquire("10.0.0." + i).taken()).isTrue();
        }
        SaveThrottle.Verdict refused = throttle.acquire("10.1.0.1");
        assertThat(refused.taken()).isFalse();
        assertThat(refused.node()).isTrue();
        assertThat(refused.retryAfterSeconds()).isEqualTo(1);
        now.addAndGet(TimeUnit.SECONDS.toNanos(1));
        int taken = 0;
        for (int i = 0; i < 1_000; i++) {
            taken += throttle.acquire("10.2.0." + i).taken() ? 1 : 0;
        }
        assertThat(taken).as("a second later").isEqualTo(SaveThrottle.PER_NODE_PER_SECOND);
    }

    @Test
    void addressesWhoseBucketIsFullAgainAreForgotten() {
        AtomicLong now = new AtomicLong();
        SaveThrottle throttle = new SaveThrottle(now::get);
        for (int i = 0; i < 50; i++) {
            throttle.acquire("10.0.0." + i);
        }
        assertThat(throttle.keys()).isEqualTo(50);
        now.addAndGet(TimeUnit.SECONDS.toNanos(1) + SHARE); // every bucket full again, a sweep due
        throttle.acquire("10.0.1.1");
        assertThat(throttle.keys()).isEqualTo(1);
    }
}
