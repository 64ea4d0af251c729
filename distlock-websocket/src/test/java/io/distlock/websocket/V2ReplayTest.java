package io.distlock.websocket;

import java.io.IOException;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A version 2 conversation replayed frame by frame against a transcript, compared byte for
 * byte as {@link V1ReplayTest} does (same format, same masking): the exact shape of version 2's
 * replies and pushes, and the example of {@code docs/protocol.md}, which is taken from it. A
 * change here is a change of the protocol: make it on purpose, with the docs.
 */
class V2ReplayTest {

    @ParameterizedTest
    @ValueSource(strings = {"tyrus", "jetty"})
    void aVersion2ConversationIsByteForByteTheDocumentedOne(String container) throws IOException {
        V1ReplayTest.replay(container, "v2-conversation.txt");
    }
}
