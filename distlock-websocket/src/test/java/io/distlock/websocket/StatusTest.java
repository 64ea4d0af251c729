package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

/** The protocol's status words, spelled once. */
class StatusTest {

    @Test
    void theWireWordsAreTheProtocolsAndOnlyRetryLostGrantedCancelledAskedAndChangedArePushes() {
        assertThat(Arrays.stream(Status.values()).map(Enum::name))
                .containsExactly("OK", "LOCKED", "WAIT", "QUEUED", "RETRY", "LOST", "GRANTED", "CANCELLED", "ASKED", "CHANGED", "FAIL");
        assertThat(Arrays.stream(Status.values()).filter(Status::isPush))
                .containsExactly(Status.RETRY, Status.LOST, Status.GRANTED, Status.CANCELLED, Status.ASKED, Status.CHANGED);
        assertThat(Frames.push(Status.LOST, "doc")).contains("\"status\":\"LOST\"", "\"lock\":\"doc\"");
    }

    @Test
    void version2sActionsAreUnknownToVersion1() {
        assertThat(Action.of("cancel", 1)).isNull();
        assertThat(Action.of("cancel", 2)).isEqualTo(Action.CANCEL);
        for (Action a : Action.values()) {
            assertThat(Action.of(a.wire, 2)).isEqualTo(a);
            assertThat(Action.of(a.wire, 1)).isEqualTo(a.since == 1 ? a : null);
        }
        assertThat(Action.of("Cancel", 2)).isNull();
    }
}
