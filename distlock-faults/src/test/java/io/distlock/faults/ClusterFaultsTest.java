package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Redis Cluster (3 primaries, 3 replicas) loses the primary that serves the hot locks' slot.
 * Beside the version 1 clients, clients that queue (protocol version 2, {@link
 * QueueFaultsTest#queueing}) work on locks of the same slot, with a history and a result line of
 * their own ({@code queue-cluster-kill-primary}). Every lock name carries the hash tag
 * {@code {hot}}, so that both workloads can also take their two locks at once ({@code mlock},
 * which a Cluster refuses over several slots).
 */
class ClusterFaultsTest {

    static final Duration LEASE = Duration.ofSeconds(8);

    @Test
    void primaryOfTheHotLocksSlotKilled(@TempDir Path dir) {
        ScenarioRun run = new ScenarioRun("cluster-kill-primary");
        try (RedisClusterGroup redis = RedisClusterGroup.start(Duration.ofSeconds(2));
             Nodes nodes = Nodes.withRedisConfig(redis.writeRedissonConfig(dir), 2, LEASE)) {
            List<String> hot = List.of("{hot}:1", "{hot}:2");
            List<String> queued = List.of("{hot}:q1", "{hot}:q2");
            Workload load = Workload.builder(run.history()).nodes(nodes.clientUris()).locks(hot)
                    .multiLocks(StandaloneFaultsTest.MULTI_LOCKS)
                    .longHolds(0.1, Duration.ofSeconds(6)).requestTimeout(Duration.ofSeconds(20)).build();
            ScenarioRun queueRun = new ScenarioRun("queue-cluster-kill-primary");
            Workload queueLoad = QueueFaultsTest.queueing(queueRun.history()).nodes(nodes.clientUris()).locks(queued)
                    .multiLocks(StandaloneFaultsTest.MULTI_LOCKS)
                    .firstProcess(100).longHolds(0.1, Duration.ofSeconds(6)).requestTimeout(Duration.ofSeconds(20)).build();
            RedisProcess primary = redis.primaryForKey("distlock:lock:" + hot.get(0));
            for (String lock : List.of(hot.get(1), queued.get(0), queued.get(1))) {
                assertThat(redis.primaryForKey("distlock:lock:" + lock)).as(lock).isEqualTo(primary);
            }
            try (load; queueLoad) {
                load.start();
                queueLoad.start();
                run.awaitGrants(load, 20, Await.seconds(60));
                queueRun.awaitGrants(queueLoad, 20, Await.seconds(60));
                // one failover per run (a second needs the old primary back as a replica); the soak runs longer around it
                run.awaitGrants(load, FaultProfile.cycles(0, 100), Await.seconds(600));
                String fault = "kill -9 the primary of the slot of " + hot + " (and of " + queued + ") :" + primary.port();
                run.fault(fault);
                queueRun.fault(fault);
                primary.kill();
                RedisProcess promoted = redis.awaitFailoverFrom(primary, Await.seconds(60));
                run.heal("cluster promoted :" + promoted.port());
                queueRun.heal("cluster promoted :" + promoted.port());
                run.awaitGrants(load, FaultProfile.cycles(20, 100), Await.seconds(600));
                queueRun.awaitGrants(queueLoad, FaultProfile.cycles(20, 100), Await.seconds(600));
                Checkers.Report report = run.finish(load);
                Checkers.Report queuedReport = queueRun.finish(queueLoad);
                assertThat(report.ok()).as(report.summary()).isTrue();
                // a waiter is told RETRY through the failover: late perhaps, never not at all
                assertThat(report.missingRetries()).as(report.summary()).isZero();
                QueueFaultsTest.assertSafeAcrossFailover(queuedReport);
                assertThat(queueRun.history().count(History.Op.QUEUED, History.Kind.OK)).as("requests queued").isPositive();
            }
        }
    }
}
