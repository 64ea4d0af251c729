package io.distlock.faults;

import static io.distlock.testing.Await.result;
import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import io.distlock.core.LockConfig;
import io.distlock.core.LockMode;
import io.distlock.core.LockOptions;
import io.distlock.core.LockResult;
import io.distlock.core.LockService;
import io.distlock.core.LockState;
import io.distlock.core.LockWatch;
import io.distlock.core.LockSession;
import io.distlock.core.MultiLockResult;
import io.distlock.testing.Pushes;
import io.distlock.testing.Pushes.Kind;

/**
 * The queue on a Redis Cluster, two nodes with their own clients: a lock's queue, queued requests
 * and shared holders live in the lock's hash slot (a script touching them would fail with
 * CROSSSLOT otherwise), for plain names and for names with a {hash tag}.
 */
class ClusterQueueTest {

    private RedisClusterGroup cluster;
    private RedissonClient first;
    private RedissonClient second;

    @AfterEach
    void stop() {
        for (RedissonClient client : new RedissonClient[] {first, second}) {
            if (client != null) {
                client.shutdown(0, 2, TimeUnit.SECONDS);
            }
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void queuedAndSharedLocksWorkInEverySlot(@TempDir Path dir) throws Exception {
        cluster = RedisClusterGroup.start(Duration.ofMillis(2000));
        Path config = cluster.writeRedissonConfig(dir);
        first = Redisson.create(Config.fromYAML(config.toFile()));
        second = Redisson.create(Config.fromYAML(config.toFile()));
        LockConfig lockConfig = LockConfig.builder().dataLossQuarantine(false).build();
        try (LockService a = LockService.create(first, lockConfig); LockService b = LockService.create(second, lockConfig)) {
            for (String lock : List.of("doc-1", "doc-2", "doc-3", "{doc}:text")) {
                LockSession holder = a.openSession("holder", new Pushes());
                Pushes pushes = new Pushes();
                LockSession waiter = b.openSession("waiter", pushes);
                assertThat(result(holder.lock(lock))).isInstanceOf(LockResult.Locked.class);
                assertThat(result(waiter.lock(lock, LockOptions.shared().queue()))).as(lock).isEqualTo(new LockResult.Queued(1, "holder"));
                result(holder.unlock(lock));
                Pushes.Push granted = pushes.expect(Kind.GRANTED, lock, seconds(10));
                assertThat(granted.detail()).endsWith("shared");
                assertThat(result(holder.lock(lock, LockOptions.shared()))).as(lock).isInstanceOf(LockResult.Locked.class);
                holder.close();
                waiter.close();
            }
            LockSession r1 = a.openSession("r1", new Pushes());
            LockSession r2 = b.openSession("r2", new Pushes());
            List<String> tagged = List.of("{doc}:text", "{doc}:images");
            assertThat(result(r1.lockAll(tagged, LockMode.SHARED))).isInstanceOf(MultiLockResult.Locked.class);
            assertThat(result(r2.lockAll(tagged, LockMode.SHARED))).isInstanceOf(MultiLockResult.Locked.class);
            LockSession writer = a.openSession("writer", new Pushes());
            assertThat(result(writer.lockAll(List.of("{doc}:text", "{doc}:more")))).isInstanceOf(MultiLockResult.Waiting.class);
        }
    }

    @Test
    void queryWatchAndStealWorkInEverySlot(@TempDir Path dir) throws Exception {
        cluster = RedisClusterGroup.start(Duration.ofMillis(2000));
        Path config = cluster.writeRedissonConfig(dir);
        first = Redisson.create(Config.fromYAML(config.toFile()));
        second = Redisson.create(Config.fromYAML(config.toFile()));
        LockConfig lockConfig = LockConfig.builder().dataLossQuarantine(false).build();
        try (LockService a = LockService.create(first, lockConfig); LockService b = LockService.create(second, lockConfig)) {
            List<Map.Entry<String, LockState>> seen = new CopyOnWriteArrayList<>();
            LockWatch byPrefix = b.watch((lock, state) -> seen.add(Map.entry(lock, state)));
            result(byPrefix.watchPrefix("doc-"));
            for (String lock : List.of("doc-1", "doc-2", "doc-3")) {
                Pushes pushes = new Pushes();
                LockSession holder = a.openSession("holder", pushes);
                LockSession thief = b.openSession("thief", new Pushes());
                assertThat(result(holder.lock(lock))).isInstanceOf(LockResult.Locked.class);
                assertThat(result(b.query(List.of(lock))).get(lock).holders()).extracting(LockState.Entry::name).containsExactly("holder");
                await().atMost(seconds(10)).until(() -> seen.contains(Map.entry(lock, result(b.query(List.of(lock))).get(lock))));

                assertThat(result(thief.lock(lock, LockOptions.exclusive().stealing()))).as(lock).isInstanceOf(LockResult.Locked.class);

                assertThat(pushes.expect(Kind.LOST, lock, seconds(10)).detail()).isEqualTo("stolen by thief");
                await().atMost(seconds(10)).until(() -> seen.stream().anyMatch(c -> c.getKey().equals(lock)
                        && c.getValue().holders().stream().anyMatch(h -> h.name().equals("thief"))));
                holder.close();
                thief.close();
            }
            byPrefix.close();
        }
    }
}
