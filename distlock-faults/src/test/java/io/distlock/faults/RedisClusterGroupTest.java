package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

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

/** {@link RedisClusterGroup}: three primaries and three replicas, formed without redis-cli. */
class RedisClusterGroupTest {

    private RedisClusterGroup cluster;
    private RedissonClient redisson;

    @AfterEach
    void stop() {
        if (redisson != null) {
            redisson.shutdown(0, 2, TimeUnit.SECONDS);
        }
        if (cluster != null) {
            cluster.close();
            cluster.close(); // idempotent
        }
    }

    @Test
    void aRedissonClientFromTheYamlWritesEverySlotRangeAndRidesOutAFailover(@TempDir Path dir) throws Exception {
        long t0 = System.nanoTime();
        cluster = RedisClusterGroup.start(Duration.ofMillis(2000));
        log("formed", t0);
        List<RedisProcess> primaries = cluster.primaries();
        assertThat(primaries).containsExactlyElementsOf(cluster.nodes().subList(0, 3));
        assertThat(cluster.replicas()).containsExactlyElementsOf(cluster.nodes().subList(3, 6));
        for (int i = 0; i < 3; i++) {
            assertThat(cluster.replicaOf(primaries.get(i))).isSameAs(cluster.nodes().get(i + 3));
        }
        assertThat(cluster.nodeAddresses()).hasSize(6).allMatch(a -> a.startsWith("redis://127.0.0.1:"));

        redisson = Redisson.create(Config.fromYAML(cluster.writeRedissonConfig(dir).toFile()));
        Map<RedisProcess, Integer> keysPerPrimary = new HashMap<>();
        for (int i = 0; i < 30; i++) {
            String key = "key-" + i;
            redisson.getBucket(key, StringCodec.INSTANCE).set("v" + i);
            RedisProcess owner = cluster.primaryForKey(key);
            assertThat(owner.command("GET", key)).isEqualTo("v" + i);
            keysPerPrimary.merge(owner, 1, Integer::sum);
        }
        assertThat(keysPerPrimary.keySet()).containsExactlyInAnyOrderElementsOf(primaries);

        RedisProcess oldPrimary = cluster.primaryForKey("x");
        RedisProcess replica = cluster.replicaOf(oldPrimary);
        RBucket<String> x = redisson.getBucket("x", StringCodec.INSTANCE);
        x.set("before");
        long killedAt = System.nanoTime();
        oldPrimary.kill();
        RedisProcess promoted = cluster.awaitFailoverFrom(oldPrimary, Await.seconds(30));
        log("SIGKILL to failover done (cluster_state:ok everywhere)", killedAt);
        assertThat(promoted).isSameAs(replica);
        assertThat(cluster.primaryForKey("x")).isSameAs(replica);
        assertThat(cluster.primaries()).contains(replica).doesNotContain(oldPrimary);

        await().atMost(Await.seconds(30)).pollInterval(Duration.ofMillis(100)).ignoreExceptions().untilAsserted(() -> {
            x.set("after");
            assertThat(x.get()).isEqualTo("after");
        });
        log("SIGKILL to Redisson writing x again", killedAt);
        assertThat(replica.command("GET", "x")).isEqualTo("after");
    }

    private static void log(String what, long sinceNanos) {
        System.out.printf("[cluster] %s: %d ms%n", what, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sinceNanos));
    }
}
