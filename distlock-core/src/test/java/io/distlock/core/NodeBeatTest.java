package io.distlock.core;

import static io.distlock.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import io.distlock.testing.TestRedis;

/**
 * {@code node-beat.lua} against records it did not write: a later version's (more fields after
 * the expiry), a damaged one, one expired. A node of this version, beside newer ones in a rolling
 * upgrade, must neither erase their records (its beat would then hide their leases from every
 * node) nor fail its every beat on one record it cannot read.
 */
class NodeBeatTest {

    private static final String NODES = "distlock:nodes";

    private RedissonClient redisson;
    private RedisLockStore store;

    @BeforeEach
    void start() {
        TestRedis.flushAll();
        Config config = new Config();
        config.useSingleServer().setAddress(TestRedis.url());
        redisson = Redisson.create(config);
        store = new RedisLockStore(redisson, LockConfig.defaults(), "node-a");
    }

    @AfterEach
    void stop() {
        redisson.shutdown();
    }

    private static long redisNowMillis() {
        java.util.List<?> time = (java.util.List<?>) TestRedis.command("TIME");
        return Long.parseLong(time.get(0).toString()) * 1000 + Long.parseLong(time.get(1).toString()) / 1000;
    }

    @Test
    void aBeatReadsOtherNodesRecordsAsFarAsItKnowsThemAndDropsOnlyExpiredOnes() {
        long later = redisNowMillis() + 60_000;
        TestRedis.command("HSET", NODES, "newer", "20000|" + later + "|more");
        TestRedis.command("HSET", NODES, "damaged", "garbage");
        TestRedis.command("HSET", NODES, "absurd", "123456789012345678901|" + later);
        TestRedis.command("HSET", NODES, "endless", "5000|123456789012345678901");
        TestRedis.command("HSET", NODES, "gone", "5000|" + (later - 120_000));

        assertThat(result(store.beat(false))).containsExactly(20000L);
        assertThat(TestRedis.command("HEXISTS", NODES, "newer")).isEqualTo(1L);
        assertThat(TestRedis.command("HEXISTS", NODES, "damaged")).isEqualTo(1L);
        assertThat(TestRedis.command("HEXISTS", NODES, "absurd")).isEqualTo(1L);
        assertThat(TestRedis.command("HEXISTS", NODES, "endless")).isEqualTo(1L);
        assertThat(TestRedis.command("HEXISTS", NODES, "gone")).isEqualTo(0L);
        assertThat(TestRedis.command("HGET", NODES, "node-a").toString()).startsWith(LockConfig.defaults().lease().toMillis() + "|");
        long ttl = (Long) TestRedis.command("PTTL", NODES);
        assertThat(ttl).isBetween(50_000L, 60_000L); // the latest record's expiry: the hash goes with it

        result(store.beat(true));
        assertThat(TestRedis.command("HEXISTS", NODES, "node-a")).isEqualTo(0L);
    }
}
