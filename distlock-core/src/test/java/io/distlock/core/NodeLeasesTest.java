package io.distlock.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.distlock.testing.FakeTime;

/**
 * How long a quarantine lasts when the nodes of a prefix have other leases: the longest seen
 * within that lease, never less than the node's own; and a warning each time the set of other
 * leases changes. (The whole of it against Redis: {@code DataLossTest.aQuarantineLastsTheLongestLeaseOfTheNodes}.)
 */
class NodeLeasesTest {

    private final FakeTime time = new FakeTime();
    private final NodeLeases leases = new NodeLeases(1_000, time, "distlock");
    private final List<String> warnings = new CopyOnWriteArrayList<>();
    private final Logger log = Logger.getLogger(NodeLeases.class.getName());
    private final Handler recording = new Handler() {
        @Override
        public void publish(LogRecord record) {
            warnings.add(record.getMessage());
        }

        @Override
        public void flush() { }

        @Override
        public void close() { }
    };

    @BeforeEach
    void listen() {
        log.addHandler(recording);
    }

    @AfterEach
    void stopListening() {
        log.removeHandler(recording);
    }

    @Test
    void aloneOrAmongEqualsTheQuarantineIsTheNodesOwnLeaseAndNothingIsSaid() {
        assertThat(leases.quarantineMillis()).isEqualTo(1_000);
        leases.seen(List.of());
        leases.seen(List.of(1_000L, 1_000L));
        assertThat(leases.quarantineMillis()).isEqualTo(1_000);
        assertThat(warnings).isEmpty();
    }

    @Test
    void aLongerLeaseCountsForAsLongAsItselfAfterItWasLastSeen() {
        leases.seen(List.of(1_000L, 30_000L, 5_000L));
        assertThat(leases.quarantineMillis()).isEqualTo(30_000);
        // Redis lost the record (the loss the quarantine is for): what was seen still counts...
        leases.seen(List.of());
        time.advance(Duration.ofMillis(29_999));
        assertThat(leases.quarantineMillis()).isEqualTo(30_000);
        // ...until a whole lease passed without that node renewing
        time.advance(Duration.ofMillis(2));
        assertThat(leases.quarantineMillis()).isEqualTo(1_000);
    }

    @Test
    void aShorterLeaseNeverShortensTheQuarantine() {
        leases.seen(List.of(300L));
        assertThat(leases.quarantineMillis()).isEqualTo(1_000);
    }

    @Test
    void otherLeasesAreWarnedOfOncePerChange() {
        leases.seen(List.of(30_000L));
        leases.seen(List.of(30_000L));
        assertThat(warnings).singleElement().asString()
                .contains("Nodes of key prefix \"distlock\" use other leases than this node's 1000 ms: [30000] ms", "docs/safety.md");
        leases.seen(List.of(30_000L, 5_000L));
        assertThat(warnings).hasSize(2).last().asString().contains("[5000, 30000] ms");
        leases.seen(List.of(1_000L)); // the others left, or changed to this node's lease
        leases.seen(List.of(30_000L));
        assertThat(warnings).hasSize(3);
    }
}
