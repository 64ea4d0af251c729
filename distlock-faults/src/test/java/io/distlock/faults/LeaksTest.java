package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import io.distlock.core.LockConfig;
import io.distlock.core.LockListener;
import io.distlock.core.LockResult;
import io.distlock.core.LockService;
import io.distlock.core.LockSession;
import io.distlock.testing.RedisProcess;
import io.distlock.testing.RespConnection;

import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The negative controls of {@link Leaks}: on a real Redis, what a leak leaves behind (a lock a
 * live session holds, a queue, a shared holder or a session record left behind, a key kept
 * forever or unknown, a subscription nobody should hold) is found, each by its own check, and
 * what may stay passes.
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

    /** The first check, against what the core writes: a lock a live session holds (its node renews it) is not released. */
    @Test
    void aLockALiveSessionHoldsIsFound() {
        try (LockService node = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(2)).newRedis(true).build())) {
            LockSession session = node.openSession("leaker", LockListener.NONE);
            assertThat(session.lock("doc").toCompletableFuture().join()).isInstanceOf(LockResult.Locked.class);
            assertThatThrownBy(() -> Leaks.assertNothingLeft(redis, Duration.ZERO, 1)).isInstanceOf(ConditionTimeoutException.class)
                    .hasMessageContaining("every lock released");
        }
    }

    @Test
    void aQueueASharedHolderOrASessionRecordLeftBehindIsFound() {
        for (String[] leftover : new String[][] {
                {"distlock:queued:doc", "every queue and shared holder gone"},
                {"distlock:shared:doc", "every queue and shared holder gone"},
                {"distlock:session:s1", "every session record gone"}}) {
            redis.command("HSET", leftover[0], "x", "1");
            assertThatThrownBy(() -> Leaks.assertNothingLeft(redis, Duration.ZERO, 0)).as(leftover[0])
                    .isInstanceOf(ConditionTimeoutException.class).hasMessageContaining(leftover[1]);
            redis.command("DEL", leftover[0]);
        }
        Leaks.assertNothingLeft(redis, Duration.ZERO, 0);
    }

    @Test
    void anUnexpectedKeyOrANodesHashThatOutlivesALeaseIsFound() {
        redis.command("SET", "distlock:other", "x", "PX", "1000");
        assertThatThrownBy(() -> Leaks.assertNothingLeft(redis, Duration.ZERO, 0)).isInstanceOf(AssertionError.class)
                .hasMessageContaining("distlock:other");
        redis.command("DEL", "distlock:other");
        redis.command("HSET", "distlock:nodes", "n1", "1");
        assertThatThrownBy(() -> Leaks.assertNothingLeft(redis, Duration.ofSeconds(1), 0)).isInstanceOf(AssertionError.class)
                .hasMessageContaining("expiry of distlock:nodes");
        redis.command("PEXPIRE", "distlock:nodes", "500");
        Leaks.assertNothingLeft(redis, Duration.ofSeconds(1), 0);
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
