package io.distlock.faults;

import static io.distlock.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.core.LockSession;
import io.distlock.core.LockListener;
import io.distlock.core.MultiLockResult;
import io.distlock.core.Refusal;
import io.distlock.core.Refused;
import io.distlock.core.UnlockResult;

/** A multi-lock over several hash slots of a Redis Cluster is a client error, answered before anything is sent. */
class ClusterMultiLockTest {

    private RedisClusterGroup cluster;
    private RedissonClient redisson;

    @AfterEach
    void stop() {
        if (redisson != null) {
            redisson.shutdown(0, 2, TimeUnit.SECONDS);
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void locksInSeveralSlotsAreRefusedAsABadNameAndLocksSharingAHashTagAreTaken(@TempDir Path dir) throws Exception {
        cluster = RedisClusterGroup.start(Duration.ofMillis(2000));
        redisson = Redisson.create(Config.fromYAML(cluster.writeRedissonConfig(dir).toFile()));
        LockConfig config = LockConfig.builder().dataLossQuarantine(false).build();
        try (LockService service = LockService.create(redisson, config)) {
            LockSession session = service.openSession("alice", LockListener.NONE);
            List<String> spread = List.of("doc-1", "doc-2", "doc-3");
            assertThat(spread.stream().map(lock -> redisson.getKeys().getSlot("distlock:lock:" + lock)).distinct().count())
                    .isGreaterThan(1);

            MultiLockResult refused = result(session.lockAll(spread));
            assertThat(refused).isInstanceOf(Refused.class);
            assertThat(((Refused) refused).reason()).isEqualTo(Refusal.BAD_NAME);
            assertThat(((Refused) refused).message()).contains("{hash tag}");
            for (String lock : spread) {
                assertThat(redisson.getKeys().countExists("distlock:lock:" + lock)).as(lock).isZero();
            }
            assertThat(session.heldLocks()).isEmpty();

            List<String> tagged = List.of("{doc}:text", "{doc}:images");
            assertThat(result(session.lockAll(tagged))).isInstanceOf(MultiLockResult.Locked.class);
            UnlockResult spreadUnlock = result(session.unlockAll(List.of("{doc}:text", "doc-3")));
            assertThat(spreadUnlock).isInstanceOf(Refused.class);
            assertThat(((Refused) spreadUnlock).reason()).isEqualTo(Refusal.BAD_NAME);
            assertThat(session.heldLocks()).containsOnlyKeys(tagged);
            assertThat(result(session.unlockAll(tagged))).isEqualTo(UnlockResult.UNLOCKED);
        }
    }
}
