package io.distlock.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** Which names and modes the sessions of each scenario ask for. */
class WorkloadTest {

    @Test
    void theSharedScenarioAsksForHotNamesSharedAsOftenAsReadersSays() {
        Workload w = new Workload(Scenario.SHARED, 16, 2, 90, "p");
        SplittableRandom random = new SplittableRandom(1);
        int shared = 0;
        Set<String> names = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            Workload.Op op = w.next(i % 16, i, random);
            shared += op.shared() ? 1 : 0;
            names.addAll(op.names());
            assertThat(op.names()).hasSize(1);
        }
        assertThat(shared).isBetween(8_800, 9_200);
        assertThat(names).containsExactlyInAnyOrder("p-hot-0", "p-hot-1");
        assertThat(w.nameCount()).isEqualTo(16 * Workload.OWN + 2);
    }

    @Test
    void allReadersAndAllWriters() {
        SplittableRandom random = new SplittableRandom(2);
        Workload readers = new Workload(Scenario.SHARED, 4, 1, 100, "p");
        Workload writers = new Workload(Scenario.SHARED, 4, 1, 0, "p");
        for (int i = 0; i < 1000; i++) {
            assertThat(readers.next(0, i, random).shared()).isTrue();
            assertThat(writers.next(0, i, random).shared()).isFalse();
        }
    }

    @Test
    void theOtherScenariosAskExclusive() {
        SplittableRandom random = new SplittableRandom(3);
        for (Scenario s : new Scenario[] {Scenario.UNCONTENDED, Scenario.CONTENDED, Scenario.MIXED}) {
            Workload w = new Workload(s, 4, 2, 90, "p");
            for (int i = 0; i < 1000; i++) {
                assertThat(w.next(i % 4, i, random).shared()).isFalse();
            }
        }
    }
}
