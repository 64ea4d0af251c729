package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

/** The protocol's status words, spelled once. */
class StatusTest {

    @Test
    void theWireWordsAreTheProtocolsAndOnlyRetryAndLostArePushes() {
        assertThat(Arrays.stream(Status.values()).map(Enum::name)).containsExactly("OK", "LOCKED", "WAIT", "RETRY", "LOST", "FAIL");
        assertThat(Arrays.stream(Status.values()).filter(Status::isPush)).containsExactly(Status.RETRY, Status.LOST);
        assertThat(Frames.push(Status.LOST, "doc")).contains("\"status\":\"LOST\"", "\"lock\":\"doc\"");
    }
}
