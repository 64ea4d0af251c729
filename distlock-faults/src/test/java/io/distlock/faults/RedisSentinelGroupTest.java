package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redisson.Redisson;
import org.redisson.api.RBucket;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.Config;

/** {@link RedisSentinelGroup}: a real primary, two replicas through proxies, three Sentinels. */
class RedisSentinelGroupTest {

    private RedisSentinelGroup group;
    private RedissonClient redisson;

    @AfterEach
    void stop() {
        if (redisson != null) {
            redisson.shutdown(0, 2, TimeUnit.SECONDS);
        }
        if (group != null) {
            group.close();
            group.close(); // idempotent
        }
    }

    @Test
    void aRedissonClientFromTheYamlRidesOutAFailover(@TempDir Path dir) throws Exception {
        long t0 = System.nanoTime();
        group = RedisSentinelGroup.start(RedisSentinelGroup.Options.defaults());
        group.awaitReady();
        log("started and ready", t0);
        RedisProcess primary = group.currentPrimary();
        assertThat(primary).isSameAs(group.dataNodes().get(0));
        assertThat(group.sentinelAddresses()).hasSize(3).allMatch(a -> a.startsWith("redis://127.0.0.1:"));
        // The Sentinels see the replicas at their own ports, though they replicate through proxies.
        assertThat(RedisSentinelGroup.info(group.dataNodes().get(1).port(), "replication"))
                .containsEntry("master_port", Integer.toString(group.replicationLink(0).port()));

        redisson = Redisson.create(Config.fromYAML(group.writeRedissonConfig(dir).toFile()));
        RBucket<String> bucket = redisson.getBucket("before-failover", StringCodec.INSTANCE);
        bucket.set("v1");
        assertThat(bucket.get()).isEqualTo("v1");
        assertThat(primary.command("EXISTS", "before-failover")).isEqualTo(1L);

        long killedAt = System.nanoTime();
        primary.kill();
        RedisProcess promoted = group.awaitFailoverFrom(primary, Await.seconds(30));
        log("SIGKILL to the Sentinels agreeing on " + promoted, killedAt);
        assertThat(promoted).isNotSameAs(primary).isIn(group.dataNodes().subList(1, 3));
        assertThat(group.currentPrimary()).isSameAs(promoted);

        RBucket<String> after = redisson.getBucket("after-failover", StringCodec.INSTANCE);
        await().atMost(Await.seconds(30)).pollInterval(Duration.ofMillis(100)).ignoreExceptions().untilAsserted(() -> {
            after.set("v2");
            assertThat(after.get()).isEqualTo("v2");
        });
        log("SIGKILL to Redisson writing again", killedAt);
        assertThat(promoted.command("GET", "after-failover")).isEqualTo("v2");
    }

    @Test
    void aDelayedReplicationLinkMakesItsReplicaLag() {
        group = RedisSentinelGroup.start(RedisSentinelGroup.Options.defaults());
        RedisProcess primary = group.dataNodes().get(0);
        RedisProcess slowReplica = group.dataNodes().get(1);
        RedisProcess fastReplica = group.dataNodes().get(2);
        Duration delay = Duration.ofMillis(500);
        group.replicationLink(0).delay(delay);

        long writtenAt = System.nanoTime();
        primary.command("SET", "lagging", "v");
        AtomicLong seenAfterNanos = new AtomicLong();
        await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(10)).until(() -> {
            seenAfterNanos.set(System.nanoTime() - writtenAt);
            return "v".equals(slowReplica.command("GET", "lagging"));
        });
        await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(10))
                .until(() -> "v".equals(fastReplica.command("GET", "lagging")));
        long seenAfterMillis = TimeUnit.NANOSECONDS.toMillis(seenAfterNanos.get());
        System.out.printf("[sentinel] a write reached the replica behind a %d ms delay after %d ms%n",
                delay.toMillis(), seenAfterMillis);
        // The proxy holds every chunk at least the delay after it read it, and it read the write
        // after we sent it: a lower bound only, the upper one depends on the machine.
        assertThat(seenAfterMillis).isGreaterThanOrEqualTo(delay.toMillis());

        group.replicationLink(0).heal();
        group.awaitReady();
    }

    @Test
    void withMinReplicasToWriteThePrimaryRefusesWritesOnceReplicationIsCut() {
        group = RedisSentinelGroup.start(RedisSentinelGroup.Options.defaults().minReplicasToWrite(1));
        RedisProcess primary = group.dataNodes().get(0);
        assertThat(primary.command("SET", "k", "before")).isEqualTo("OK");

        long cutAt = System.nanoTime();
        group.replicationLink(0).cut();
        group.replicationLink(1).cut();
        await().atMost(Await.seconds(15)).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
                assertThatThrownBy(() -> primary.command("SET", "k", "during"))
                        .hasMessageContaining("NOREPLICAS"));
        log("both links cut to NOREPLICAS", cutAt);

        long healedAt = System.nanoTime();
        group.replicationLink(0).heal();
        await().atMost(Await.seconds(15)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> "OK".equals(primary.command("SET", "k", "after")));
        log("one link healed to writes accepted", healedAt);
        // no failover: the Sentinels still name the first primary
        assertThat(group.currentPrimary()).isSameAs(primary);
    }

    private static void log(String what, long sinceNanos) {
        System.out.printf("[sentinel] %s: %d ms%n", what, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sinceNanos));
    }
}
