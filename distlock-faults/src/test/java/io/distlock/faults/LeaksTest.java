package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import io.distlock.testing.RedisProcess;
import io.distlock.testing.RespConnection;

import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The negative controls of {@link Leaks}: on a real Redis, with no node at all, what a leak
 * leaves behind (a key kept forever, a subscription nobody should hold) is found, and what may
 * stay passes.
 */
class LeaksTest {

    private RedisProcess redis;

    @BeforeEach
    void start() {
        redis = RedisProcess.start();
    }

    @AfterEach
    void stop() {
        redis.close();
    }

    @Test
    void aLockHashWithoutAnExpiryIsFound() {
        Leaks.assertNothingLeft(redis, Duration.ZERO, 0);
        redis.command("HSET", "distlock:lock:doc", "token", "1700000000000000"); // a last token kept forever

        assertThatThrownBy(() -> Leaks.assertNothingLeft(redis, Duration.ZERO, 0)).isInstanceOf(AssertionError.class)
                .hasMessageContaining("expiry of distlock:lock:doc");

        redis.command("PEXPIRE", "distlock:lock:doc", "60000"); // the token memory: it may stay that long
        Leaks.assertNothingLeft(redis, Duration.ZERO, 0);
    }

    @Test
    void aSubscriptionNoNodeWithoutAWatchHoldsIsFound() {
        try (RespConnection node = redis.connect()) {
            node.command("SUBSCRIBE", "distlock:changed"); // a node that listens on after its last watch ended
            assertThatThrownBy(() -> Leaks.assertNothingLeft(redis, Duration.ZERO, 1)).isInstanceOf(ConditionTimeoutException.class)
                    .hasMessageContaining("distlock:changed: 1 subscribers");
        }
    }

    @Test
    void moreSubscribersOfTheReleaseChannelThanRunningNodesAreFound() {
        try (RespConnection one = redis.connect(); RespConnection two = redis.connect()) {
            one.command("SUBSCRIBE", "distlock:released");
            two.command("SUBSCRIBE", "distlock:released");
            Leaks.assertNothingLeft(redis, Duration.ZERO, 2); // two nodes' own

            assertThatThrownBy(() -> Leaks.assertNothingLeft(redis, Duration.ZERO, 1)).isInstanceOf(ConditionTimeoutException.class)
                    .hasMessageContaining("distlock:released: 2 subscribers (1 nodes running)");
        }
    }
}
