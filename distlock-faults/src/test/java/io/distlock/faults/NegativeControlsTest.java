package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;

/**
 * Runs built to break, proving the checkers can fail: if these found nothing, a clean run of
 * the other scenarios would mean nothing.
 */
class NegativeControlsTest {

    static final Duration LEASE = Duration.ofSeconds(2);

    /**
     * A node frozen for twice the lease while its client is early in a long hold: Redis lets
     * the lock go, a client of the other node takes it and writes, and the frozen node's
     * client, unaware, writes with its older token. The register with fencing off accepts
     * those stale writes; the checker must report them.
     */
    @Test
    void withoutFencingTheRegisterAcceptsStaleWrites() {
        try (RedisProcess redis = RedisProcess.start();
             Nodes nodes = Nodes.standalone(redis, 2, LEASE)) {
            ScenarioRun run = new ScenarioRun("control-fencing-off");
            Workload load = Workload.builder(run.history()).nodes(nodes.clientUris())
                    .clients(4).locks(java.util.List.of("hot")).fencing(false)
                    .longHolds(1.0, LEASE.multipliedBy(3)).writesPerHold(6).build();
            try (load) {
                load.start();
                for (int cycle = 0; cycle < FaultProfile.cycles(2, 5); cycle++) {
                    // Whichever node's client holds the lock: the lock is not fair, and a client that
                    // releases it often takes it again at once, so waiting for one given node can take long.
                    int victim = org.awaitility.Awaitility.await("a client of some node holds the lock")
                            .atMost(Await.seconds(30)).pollInterval(Duration.ofMillis(10))
                            .until(() -> holdingNode(run, nodes.size()), node -> node >= 0);
                    run.fault("SIGSTOP node " + victim + " for " + LEASE.multipliedBy(2).toMillis() + " ms");
                    nodes.node(victim).pause();
                    ScenarioRun.lasting(LEASE.multipliedBy(2));
                    nodes.node(victim).resume();
                    run.heal("SIGCONT node " + victim);
                    run.awaitGrants(load, 2, Await.seconds(60));
                }
                Checkers.Report report = run.finish(load);
                assertThat(report.violations(Checkers.FENCED_REGISTER)).as(report.summary()).isPositive();
                assertThat(report.violations(Checkers.NO_OVERLAP)).as(report.summary()).isPositive();
                Leaks.assertNothingLeft(redis, LEASE, nodes.size());
            }
        }
    }

    /** A node one of whose clients holds the lock now, or -1. */
    private static int holdingNode(ScenarioRun run, int nodes) {
        for (int node = 0; node < nodes; node++) {
            if (!Liveness.holdersOn(run.history(), node).isEmpty()) {
                return node;
            }
        }
        return -1;
    }
}
