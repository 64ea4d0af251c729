package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A Redis Cluster (3 primaries, 3 replicas) loses the primary that serves the hot lock's slot. */
class ClusterFaultsTest {

    static final Duration LEASE = Duration.ofSeconds(8);

    @Test
    void primaryOfTheHotLocksSlotKilled(@TempDir Path dir) {
        ScenarioRun run = new ScenarioRun("cluster-kill-primary");
        try (RedisClusterGroup redis = RedisClusterGroup.start(Duration.ofSeconds(2));
             Nodes nodes = Nodes.withRedisConfig(redis.writeRedissonConfig(dir), 2, LEASE)) {
            Workload load = Workload.builder(run.history()).nodes(nodes.clientUris()).locks(List.of("hot"))
                    .longHolds(0.1, Duration.ofSeconds(6)).requestTimeout(Duration.ofSeconds(20)).build();
            try (load) {
                load.start();
                run.awaitGrants(load, 20, Await.seconds(60));
                // one failover per run (a second needs the old primary back as a replica); the soak runs longer around it
                run.awaitGrants(load, FaultProfile.cycles(0, 100), Await.seconds(600));
                RedisProcess primary = redis.primaryForKey("distlock:lock:hot");
                run.fault("kill -9 the primary of the slot of 'hot' :" + primary.port());
                primary.kill();
                RedisProcess promoted = redis.awaitFailoverFrom(primary, Await.seconds(60));
                run.heal("cluster promoted :" + promoted.port());
                run.awaitGrants(load, FaultProfile.cycles(20, 100), Await.seconds(600));
                Checkers.Report report = run.finish(load);
                assertThat(report.ok()).as(report.summary()).isTrue();
            }
        }
    }
}
