package io.distlock.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The checks on many simulated runs ({@link QueueSimulation}): a correct server is never
 * flagged, whatever the delays and orders (no false alarm), and a server with a flaw is
 * flagged for it (each flaw its negative control).
 */
class QueueSimulationTest {

    private static final int SEEDS = 200;

    private record Tally(long runs, long flagged, long grants, long queued, long shared, Violations worst) { }

    private static Tally tally(QueueSimulation.Flaw flaw, int sessions, int readers, java.util.function.ToLongFunction<Violations> what) {
        long flagged = 0;
        long grants = 0;
        long queued = 0;
        long shared = 0;
        Violations worst = null;
        for (long seed = 1; seed <= SEEDS; seed++) {
            List<History> run = QueueSimulation.run(seed * 7919, sessions, 40, readers, flaw);
            Violations v = Violations.check(run, 1);
            grants += v.grants;
            queued += v.queuedGrants;
            shared += v.sharedGrants;
            if (what.applyAsLong(v) > 0) {
                flagged++;
                if (worst == null || what.applyAsLong(v) > what.applyAsLong(worst)) {
                    worst = v;
                }
            }
        }
        return new Tally(SEEDS, flagged, grants, queued, shared, worst);
    }

    @Test
    void aCorrectServerIsNeverFlagged() {
        for (int sessions : new int[] {2, 5, 12}) {
            for (int readers : new int[] {0, 50, 90, 100}) {
                Tally t = tally(QueueSimulation.Flaw.NONE, sessions, readers, Violations::total);
                assertThat(t.flagged()).as("%d sessions, %d%% readers: %s", sessions, readers, t.worst() == null ? ""
                        : "overlaps " + t.worst().overlaps + ", tokens " + t.worst().tokenRegressions + ", out of order "
                        + t.worst().outOfOrder + ", misplaced " + t.worst().misplaced).isZero();
                assertThat(t.grants()).isEqualTo((long) SEEDS * sessions * 40);
                if (readers < 100) {
                    assertThat(t.queued()).as("queued grants, %d sessions, %d%% readers", sessions, readers).isPositive();
                }
            }
        }
    }

    @Test
    void handingTheLockToTheNewestWaiterIsFlaggedAsFifoViolations() {
        Tally t = tally(QueueSimulation.Flaw.LIFO, 8, 0, Violations::fifo);
        assertThat(t.flagged()).isGreaterThan(SEEDS * 9 / 10);
        assertThat(t.worst().overlaps + t.worst().tokenRegressions).isZero();
    }

    @Test
    void readersLetInPastAQueuedWriterAreFlaggedOutOfOrder() {
        Tally t = tally(QueueSimulation.Flaw.READERS_PASS_WRITERS, 8, 90, v -> v.outOfOrder);
        assertThat(t.flagged()).isGreaterThan(SEEDS / 2);
        assertThat(t.worst().overlaps + t.worst().tokenRegressions).isZero();
    }

    @Test
    void grantsWithoutExclusionAreFlaggedAsOverlaps() {
        // (in a run of sessions that rarely meet, a server without exclusion may be lucky)
        assertThat(tally(QueueSimulation.Flaw.NO_EXCLUSION, 4, 50, v -> v.overlaps).flagged()).isGreaterThan(SEEDS * 9 / 10);
    }

    @Test
    void aReusedTokenIsFlaggedAsARegression() {
        assertThat(tally(QueueSimulation.Flaw.STALE_TOKENS, 4, 0, v -> v.tokenRegressions).flagged()).isEqualTo(SEEDS);
    }
}
