package io.distlock.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.logging.Level;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.distlock.testing.FakeTime;
import io.distlock.testing.LogRecorder;

/**
 * How long a quarantine lasts when the nodes of a prefix have other leases: the longest seen
 * within that lease, never less than the node's own; and a warning each time the set of other
 * leases changes. (The whole of it against Redis: {@code DataLossTest.aQuarantineLastsTheLongestLeaseOfTheNodes}.)
 */
class NodeLeasesTest {

    private final FakeTime time = new FakeTime();
    private final NodeLeases leases = new NodeLeases(1_000, time, "distlock");
    private LogRecorder log;

    @BeforeEach
    void listen() {
        log = LogRecorder.of(NodeLeases.class);
    }

    @AfterEach
    void stopListening() {
        log.close();
    }

    @Test
    void aloneOrAmongEqualsTheQuarantineIsTheNodesOwnLeaseAndNothingIsSaid() {
        assertThat(leases.quarantineMillis()).isEqualTo(1_000);
        leases.seen(List.of());
        leases.seen(List.of(1_000L, 1_000L));
        assertThat(leases.quarantineMillis()).isEqualTo(1_000);
        assertThat(log.records()).isEmpty();
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
        assertThat(log.messages(Level.WARNING)).singleElement().asString()
                .contains("Nodes of key prefix \"distlock\" use other leases than this node's 1000 ms: [30000] ms", "docs/safety.md");
        leases.seen(List.of(30_000L, 5_000L));
        assertThat(log.messages(Level.WARNING)).hasSize(2).last().asString().contains("[5000, 30000] ms");
        leases.seen(List.of(1_000L)); // the others left, or changed to this node's lease
        leases.seen(List.of(30_000L));
        assertThat(log.messages(Level.WARNING)).hasSize(3);
    }

    @Test
    void beatsFailingForALeaseAreWarnedOfOnce() {
        RuntimeException failure = new RuntimeException("NOPERM this user has no permissions to access one of the keys");
        leases.beatFailed(failure);
        time.advance(Duration.ofMillis(999));
        leases.beatFailed(failure);
        assertThat(log.messages(Level.WARNING)).isEmpty();
        time.advance(Duration.ofMillis(1));
        leases.beatFailed(failure);
        leases.beatFailed(failure);
        assertThat(log.messages(Level.WARNING)).singleElement().asString()
                .contains("Could not record this node's lease in Redis", "for a lease", "NOPERM", "docs/safety.md");
        leases.seen(List.of()); // a beat came through: the next run of failures counts anew
        time.advance(Duration.ofMillis(1_000));
        leases.beatFailed(failure);
        assertThat(log.messages(Level.WARNING)).hasSize(1);
    }
}
