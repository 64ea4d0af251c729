package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Redis primary failures under Sentinel (a primary, two replicas, three sentinels), with two
 * server nodes and simulated browsers. Replication runs through proxies that delay it, so a
 * grant the primary acknowledged is missing on the replicas for a while: exactly the window
 * in which an asynchronous failover can lose a lock. (Only the first failover of a run goes
 * through the proxies: Sentinel points the remaining replica straight at the new primary.)
 *
 * <p>The lease (8 s) is longer than a failover (about 3 s here) on purpose: with a lease
 * shorter than one and a half failovers, every holder is told {@code LOST} (two thirds of
 * the lease without a renewal) before the promoted replica serves anyone, and nothing could
 * go wrong to measure.
 */
class SentinelFaultsTest {

    static final Duration LEASE = Duration.ofSeconds(8);
    static final Duration REPLICATION_LAG = Duration.ofMillis(300);

    @TempDir
    Path dir;
    private RedisSentinelGroup redis;
    private Nodes nodes;
    private Workload workload;
    // a second workload on the same nodes and failovers: version 2 clients that queue
    private ScenarioRun queueRun;
    private Workload queueLoad;

    @AfterEach
    void stop() {
        if (queueLoad != null) {
            queueLoad.close();
        }
        if (workload != null) {
            workload.close();
        }
        if (nodes != null) {
            nodes.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    private Workload start(ScenarioRun run, RedisSentinelGroup.Options options, double longHolds, int warmupGrants,
                           String... nodeArgs) {
        redis = RedisSentinelGroup.start(options);
        for (int i = 0; i < 2; i++) {
            redis.replicationLink(i).delay(REPLICATION_LAG);
        }
        nodes = Nodes.withRedisConfig(redis.writeRedissonConfig(dir), 2, LEASE, nodeArgs);
        workload = Workload.builder(run.history()).nodes(nodes.clientUris()).multiLocks(StandaloneFaultsTest.MULTI_LOCKS)
                .longHolds(longHolds, Duration.ofSeconds(6)).requestTimeout(Duration.ofSeconds(20)).build();
        workload.start();
        run.awaitGrants(workload, warmupGrants, Await.seconds(60));
        return workload;
    }

    /**
     * Starts, beside the scenario's workload, clients that queue (protocol version 2: readers
     * and writers, cancels, closes, timeouts; {@link QueueFaultsTest#queueing}) on locks of their
     * own, with a history and a result line of their own ({@code name}), through the same faults.
     */
    private void alsoQueue(String name) {
        queueRun = new ScenarioRun(name);
        queueLoad = QueueFaultsTest.queueing(queueRun.history()).nodes(nodes.clientUris())
                .locks(java.util.List.of("queued-1", "queued-2")).multiLocks(StandaloneFaultsTest.MULTI_LOCKS).firstProcess(100)
                .longHolds(0.1, Duration.ofSeconds(6)).requestTimeout(Duration.ofSeconds(20)).build();
        queueLoad.start();
        queueRun.awaitGrants(queueLoad, 20, Await.seconds(60));
    }

    private void fault(ScenarioRun run, String description) {
        run.fault(description);
        if (queueRun != null) {
            queueRun.fault(description);
        }
    }

    private void heal(ScenarioRun run, String description) {
        run.heal(description);
        if (queueRun != null) {
            queueRun.heal(description);
        }
    }

    /**
     * Kills the primary right after a grant (at most 100 ms old, so within the replication lag),
     * waits for the failover, and for work to resume.
     */
    private void killPrimaries(ScenarioRun run, Workload load, int cycles, int grantsAfter) {
        for (int cycle = 0; cycle < cycles; cycle++) {
            awaitFreshGrant(run);
            RedisProcess primary = redis.currentPrimary();
            fault(run, "kill -9 Redis primary :" + primary.port() + ", with the replication stream in flight lost");
            // What a crash loses: writes the primary acknowledged but had not yet handed to its
            // replicas. Here they sit in the delaying proxies; resetting those drops them.
            for (int i = 0; i < 2; i++) {
                redis.replicationLink(i).cut();
            }
            primary.kill();
            for (int i = 0; i < 2; i++) {
                redis.replicationLink(i).heal();
            }
            RedisProcess promoted = redis.awaitFailoverFrom(primary, Await.seconds(60));
            heal(run, "Sentinel promoted :" + promoted.port());
            run.awaitGrants(load, grantsAfter, Await.seconds(90));
            if (queueRun != null) {
                queueRun.awaitGrants(queueLoad, grantsAfter, Await.seconds(90));
            }
            if (cycle + 1 < cycles) {
                // the old primary comes back empty, as a replica of the new one
                primary.restart();
                primary.command("REPLICAOF", "127.0.0.1", Integer.toString(promoted.port()));
                redis.awaitReady();
            }
        }
    }

    private static void awaitFreshGrant(ScenarioRun run) {
        org.awaitility.Awaitility.await("a fresh grant").atMost(Await.seconds(60)).pollInterval(Duration.ofMillis(5))
                .until(() -> Liveness.heldSince(run.history(), Duration.ofMillis(100)));
    }

    /**
     * With queue clients beside ({@code queue-sentinel-kill-primary}): hand-overs do not wait for
     * a replica; a failover that loses one loses the release with it, and the grantee is told
     * {@code LOST} at its node's next renewal. Places queued after the replication point are
     * lost: their nodes' keep-place finds them gone and says {@code CANCELLED} (backend).
     */
    @Test
    void primaryKilledWithReplicaSync() {
        ScenarioRun run = new ScenarioRun("sentinel-kill-primary");
        Workload load = start(run, RedisSentinelGroup.Options.defaults(), 0.1, 20);
        alsoQueue("queue-sentinel-kill-primary");
        killPrimaries(run, load, FaultProfile.cycles(1, 5), 20);
        Checkers.Report report = run.finish(load);
        Checkers.Report queued = queueRun.finish(queueLoad);
        // grants wait for a replica (WAIT), so the promoted one has every lock it granted
        assertThat(report.ok()).as(report.summary()).isTrue();
        // a waiter is told RETRY through the failover: late perhaps (the failover, the quarantine), never not at all
        assertThat(report.missingRetries()).as(report.summary()).isZero();
        QueueFaultsTest.assertSafeAcrossFailover(queued);
        assertThat(queueRun.history().count(History.Op.QUEUED, History.Kind.OK)).as("requests queued").isPositive();
    }

    /**
     * Negative control: replica sync and the data-loss quarantine off, and a grant the replicas
     * never see (replication blackholed before it, the stream in flight dropped when the
     * primary dies). The promoted replica thinks the lock is free; the waiter, told
     * {@code RETRY} when its node re-checks after the failover, gets it while the first holder
     * still works: {@code no-overlap} must fire. The 30 s lease makes the holder's own node
     * notice only at its next renewal (every 5 s), so the window is seconds, not milliseconds.
     * Tokens still grow (they come from Redis's clock), so the register refuses stale writes.
     */
    @Test
    void withoutReplicaSyncOrQuarantineALostGrantIsFound() {
        ScenarioRun run = new ScenarioRun("control-sentinel-no-sync");
        redis = RedisSentinelGroup.start(RedisSentinelGroup.Options.defaults());
        nodes = Nodes.withRedisConfig(redis.writeRedissonConfig(dir), 2, Duration.ofSeconds(30),
                "--replica-sync-ms", "0", "--no-data-loss-quarantine");
        for (int i = 0; i < 2; i++) {
            redis.replicationLink(i).blackhole();
        }
        run.fault("replication blackholed");
        workload = Workload.builder(run.history()).nodes(nodes.clientUris()).clients(2).locks(java.util.List.of("hot"))
                .hold(Duration.ofSeconds(20), Duration.ofSeconds(20)).requestTimeout(Duration.ofSeconds(30)).build();
        workload.start();
        run.awaitGrants(workload, 1, Await.seconds(60));
        RedisProcess primary = redis.currentPrimary();
        run.fault("kill -9 Redis primary :" + primary.port() + ", the replication stream in flight lost");
        for (int i = 0; i < 2; i++) {
            redis.replicationLink(i).cut();
        }
        primary.kill();
        RedisProcess promoted = redis.awaitFailoverFrom(primary, Await.seconds(60));
        run.heal("Sentinel promoted :" + promoted.port());
        run.awaitGrants(workload, 1, Await.seconds(60));
        Checkers.Report report = run.finish(workload);
        assertThat(report.violations(Checkers.NO_OVERLAP)).as(report.summary()).isPositive();
        assertThat(report.violations(Checkers.FENCED_REGISTER)).as(report.summary()).isZero();
    }

    /**
     * The primary freezes past the failover; when it wakes up it still thinks it is the primary.
     * Exclusion holds, with or without {@code min-replicas-to-write}: the nodes follow Sentinel to
     * the promoted replica (where the quarantine covers a grant it missed), and what the resumed
     * old primary still runs (commands its clients sent while it was frozen, answered long after
     * their timeout) it cannot answer as a grant: replica sync waits for a replica, and its
     * replicas follow the new primary. A partition that leaves the old primary a replica and
     * clients is another matter (docs/safety.md): not this scenario.
     */
    @Test
    void splitBrainWithoutMinReplicasToWrite() {
        pausePrimary("sentinel-split-brain", RedisSentinelGroup.Options.defaults());
    }

    @Test
    void splitBrainWithMinReplicasToWrite() {
        pausePrimary("sentinel-split-brain-min-replicas", RedisSentinelGroup.Options.defaults().minReplicasToWrite(1));
    }

    private void pausePrimary(String name, RedisSentinelGroup.Options options) {
        ScenarioRun run = new ScenarioRun(name);
        Workload load = start(run, options, 0.1, 20);
        awaitFreshGrant(run);
        RedisProcess primary = redis.currentPrimary();
        run.fault("SIGSTOP Redis primary :" + primary.port());
        primary.pause();
        RedisProcess promoted = redis.awaitFailoverFrom(primary, Await.seconds(60));
        run.heal("Sentinel promoted :" + promoted.port() + "; old primary resumes");
        primary.resume();
        run.awaitGrants(load, 20, Await.seconds(90));
        Checkers.Report report = run.finish(load);
        // every checker, no-overlap (exclusion) and tokens-grow included; fenced-register cannot fire (fencing on)
        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(report.missingRetries()).as(report.summary()).isZero();
    }
}
