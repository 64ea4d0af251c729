package io.distlock.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The driver ({@link Phase}, {@link Worker}) against a lock server in memory ({@link MemoryTarget}):
 * queued grants, the version 1 way, shared locks, and servers that get the queue or the
 * protocol wrong, which the bench must report.
 */
class PhaseTest {

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final StringWriter printed = new StringWriter();

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    private PhaseResult run(MemoryTarget.Flaw flaw, Scenario scenario, int sessions, boolean queue) throws Exception {
        BenchSettings settings = new BenchSettings(List.of(), sessions, Duration.ofMillis(1500), 0, Duration.ZERO, scenario,
                Workload.defaultHotLocks(scenario, sessions), queue, false, 90, "redis://unused:1", null, null, null, null, 1,
                List.of(), WatchingNode.Spec.NONE, true);
        try (MemoryTarget target = new MemoryTarget(flaw)) {
            return new Phase(target, "memory", queue, settings, new PrintWriter(printed), null, null, scheduler, "t", WatchingNode.Spec.NONE).run();
        }
    }

    @Test
    void queuedSessionsWaitForTheirGrantsAndTheQueueIsChecked() throws Exception {
        PhaseResult r = run(MemoryTarget.Flaw.NONE, Scenario.CONTENDED, 8, true);

        assertThat(r.errors).as("%s %s", r.errorKinds, printed).isZero();
        assertThat(r.violations.total()).isZero();
        assertThat(r.pairs()).isPositive();
        assertThat(r.queuedReplies).isPositive();
        assertThat(r.waits).isZero(); // nobody was told to come back
        assertThat(r.stats.handoverTotal.getTotalCount()).isPositive();
        assertThat(r.violations.queuedGrants).isPositive();
        assertThat(r.toJson().get("fifo_out_of_order").asLong()).isZero();
    }

    @Test
    void withoutWaitSessionsAskAgainOnRetry() throws Exception {
        PhaseResult r = run(MemoryTarget.Flaw.NONE, Scenario.CONTENDED, 8, false);

        assertThat(r.errors).as("%s", r.errorKinds).isZero();
        assertThat(r.violations.total()).isZero();
        assertThat(r.waits).isPositive();
        assertThat(r.queuedReplies).isZero();
        assertThat(r.violations.queuedGrants).isZero();
    }

    @Test
    void readersAndWritersShareHotNames() throws Exception {
        for (boolean queue : new boolean[] {true, false}) {
            PhaseResult r = run(MemoryTarget.Flaw.NONE, Scenario.SHARED, 8, queue);

            assertThat(r.errors).as("%s", r.errorKinds).isZero();
            assertThat(r.violations.total()).isZero();
            assertThat(r.violations.sharedGrants).isPositive();
            assertThat(r.violations.sharedGrants).isLessThan(r.violations.grants);
        }
    }

    @Test
    void theMixedScenarioQueuesSingleNamesAndRetriesMlocks() throws Exception {
        PhaseResult r = run(MemoryTarget.Flaw.NONE, Scenario.MIXED, 8, true);

        assertThat(r.errors).as("%s", r.errorKinds).isZero();
        assertThat(r.violations.total()).isZero();
        assertThat(r.pairs()).isPositive();
    }

    @Test
    void aServerThatServesItsQueueNewestFirstIsCaught() throws Exception {
        PhaseResult r = run(MemoryTarget.Flaw.LIFO, Scenario.CONTENDED, 8, true);

        assertThat(r.violations.fifo()).isPositive();
        assertThat(r.violations.overlaps).isZero();
    }

    @Test
    void aGrantNamingTheWrongRequestIsAnError() throws Exception {
        PhaseResult r = run(MemoryTarget.Flaw.WRONG_REQUEST, Scenario.CONTENDED, 4, true);

        assertThat(r.errorKinds.keySet()).anyMatch(k -> k.startsWith("GRANTED names request"));
    }
}
