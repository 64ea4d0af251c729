package io.distlock.faults;

import static io.distlock.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import io.distlock.core.LockConfig;
import io.distlock.core.LockListener;
import io.distlock.core.LockMode;
import io.distlock.core.LockOptions;
import io.distlock.core.LockResult;
import io.distlock.core.LockService;
import io.distlock.core.LockSession;
import io.distlock.core.ResumeResult;
import io.distlock.core.SessionOptions;

/**
 * A session resumed on another node of a Redis Cluster: the registry record is a key of its own
 * slot, never in a script with lock keys, and the locks it lists live in other slots.
 */
class ClusterResumeTest {

    private RedisClusterGroup cluster;
    private final List<RedissonClient> clients = new ArrayList<>();

    @AfterEach
    void stop() {
        clients.forEach(c -> c.shutdown(0, 2, TimeUnit.SECONDS));
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aSessionWithLocksInSeveralSlotsIsResumedOnAnotherNode(@TempDir Path dir) throws Exception {
        cluster = RedisClusterGroup.start(Duration.ofMillis(2000));
        for (int i = 0; i < 2; i++) {
            clients.add(Redisson.create(Config.fromYAML(cluster.writeRedissonConfig(dir).toFile())));
        }
        LockConfig config = LockConfig.builder().dataLossQuarantine(false).lease(Duration.ofSeconds(3)).build();
        try (LockService a = LockService.create(clients.get(0), config); LockService b = LockService.create(clients.get(1), config)) {
            LockSession session = a.openSession("alice", LockListener.NONE, new SessionOptions(Duration.ofSeconds(20), null));
            List<String> locks = List.of("doc-1", "doc-2", "doc-3");
            List<Long> tokens = new ArrayList<>();
            for (String lock : locks) {
                tokens.add(((LockResult.Locked) result(session.lock(lock))).token());
            }
            LockSession other = b.openSession("bob", LockListener.NONE);
            result(other.lock("q"));
            assertThat(result(session.lock("q", LockOptions.DEFAULT.queue()))).isInstanceOf(LockResult.Queued.class);
            RedissonClient redisson = clients.get(0);
            Set<Integer> slots = new java.util.HashSet<>();
            for (String lock : locks) {
                slots.add(redisson.getKeys().getSlot("distlock:lock:" + lock));
            }
            assertThat(slots).hasSizeGreaterThan(1);
            result(session.detach()); // writes the record with what it holds and queues for

            ResumeResult r = result(b.resume(session.id(), session.resumeSecret().orElseThrow(), LockListener.NONE));
            assertThat(r).isInstanceOf(ResumeResult.Resumed.class);
            ResumeResult.Resumed resumed = (ResumeResult.Resumed) r;
            for (int i = 0; i < locks.size(); i++) {
                assertThat(resumed.locks()).containsEntry(locks.get(i), new ResumeResult.Held(tokens.get(i), LockMode.EXCLUSIVE));
            }
            assertThat(resumed.queued()).containsExactly("q");
            LockSession probe = b.openSession("probe", LockListener.NONE);
            for (String lock : locks) {
                assertThat(result(probe.lock(lock))).isInstanceOf(LockResult.Waiting.class);
            }
            result(other.unlock("q"));
            org.awaitility.Awaitility.await().atMost(io.distlock.testing.Await.seconds(10))
                    .until(() -> resumed.session().heldLocks().containsKey("q"));
        }
    }
}
