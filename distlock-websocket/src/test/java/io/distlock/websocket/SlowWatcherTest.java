package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;

import io.distlock.testing.Await;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * A watcher that reads slowly (a phone on a bad network, a busy tab) of a lock that changes
 * fast: only the last state of a lock matters to it, so a {@code CHANGED} still waiting to be
 * sent is replaced by the next one of the same lock instead of piling up until the connection
 * is given up as a slow consumer (which would close its session and release its own locks).
 * Real sockets on Tyrus; the watcher's receive buffer is 4 KiB and it reads nothing while the
 * lock changes 2,000 times, each state some 5 KB.
 */
class SlowWatcherTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int TOGGLES = 1000;
    private static final int READERS = 8;
    /** Far fewer frames than the changes, so that without coalescing the watcher would be given up. */
    private static final int MAX_QUEUED_PUSHES = 50;

    @Test
    void aWatcherThatDoesNotReadKeepsItsConnectionAndGetsTheLastState() {
        EndpointOptions options = EndpointOptions.builder().maxQueuedPushes(MAX_QUEUED_PUSHES)
                .rateLimit(100_000, 100_000).pingInterval(Duration.ofMinutes(10)).build();
        // Each state of "hot" lists its shared holders with a 500-byte info each: ~6 KB a CHANGED,
        // 12 MB for all the changes, more than the kernel's socket buffers take on loopback.
        Map<String, Object> info = Map.of("about", "x".repeat(480));
        List<WsClient> readers = new ArrayList<>();
        try (GuardedNode node = GuardedNode.start("watch-bystander", List.of(options), TestServer::tyrus);
             RawWebSocket watcher = RawWebSocket.open(node.server.uri(GuardedNode.MAIN), 4096);
             WsClient toggler = WsClient.open(node.server.uri(GuardedNode.MAIN))) {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            new EndpointMetrics(node.endpoints.get(0)).bindTo(registry);
            for (int i = 0; i < READERS; i++) {
                WsClient reader = WsClient.open(node.server.uri(GuardedNode.MAIN));
                readers.add(reader);
                reader.request("OK", "action", "connect", "param", "reader-" + i, "version", 2, "info", info);
                reader.request("LOCKED", "action", "lock", "param", "hot", "mode", "shared");
            }
            watcher.sendText(WsClient.json("action", "connect", "param", "watcher", "version", 2));
            assertThat(watcher.readText(WsClient.TIMEOUT)).contains("\"OK\"");
            watcher.sendText(WsClient.json("action", "lock", "param", "own"));
            assertThat(watcher.readText(WsClient.TIMEOUT)).contains("\"LOCKED\"");
            watcher.sendText(WsClient.json("action", "watch", "param", "hot"));
            assertThat(watcher.readText(WsClient.TIMEOUT)).contains("\"OK\"");

            toggler.request("OK", "action", "connect", "param", "toggler", "version", 2, "info", info);
            for (int i = 0; i < TOGGLES; i++) { // the watcher reads nothing meanwhile
                toggler.request("LOCKED", "action", "lock", "param", "hot", "mode", "shared");
                toggler.request("OK", "action", "unlock", "param", "hot");
            }
            WsClient last = WsClient.open(node.server.uri(GuardedNode.MAIN));
            readers.add(last);
            last.request("OK", "action", "connect", "param", "last", "version", 2);
            last.request("LOCKED", "action", "lock", "param", "hot", "mode", "shared"); // the last change: a state seen once

            // Now it reads: CHANGEDs of "hot", fewer than the changes, up to the last state; no close.
            int changed = 0;
            JsonNode state;
            do {
                RawWebSocket.Frame frame = watcher.readFrame(Await.seconds(30));
                assertThat(frame).as("a frame within 30 s, after %d CHANGEDs", changed).isNotNull();
                assertThat(frame.opcode()).as("a text frame, not a close (%s, after %d CHANGEDs)", frame, changed).isEqualTo(1);
                JsonNode changedFrame = parse(frame.text());
                assertThat(changedFrame.path("status").asText()).as("a frame to the slow watcher: %s", changedFrame).isEqualTo("CHANGED");
                assertThat(changedFrame.path("lock").asText()).isEqualTo("hot");
                state = changedFrame.path("state");
                changed++;
            } while (!state.path("holders").toString().contains("\"last\""));
            assertThat(state.path("holders")).as("the last state: the readers and the last one").hasSize(READERS + 1);
            assertThat(changed).as("CHANGED frames read, of %d changes", 2 * TOGGLES + 1).isLessThan(2 * TOGGLES);
            System.out.printf("slow watcher: %d CHANGED frames for %d changes%n", changed, 2 * TOGGLES + 1);
            // distlock.websocket.pushes counts the CHANGEDs sent, every one the watcher read, no more
            // (Tyrus takes every send into its own queue: none waited long enough here to be replaced).
            assertThat(registry.get("distlock.websocket.pushes").tag("status", "CHANGED").counter().count())
                    .as("CHANGED pushes counted").isEqualTo(changed);

            // Still connected, with its session and its lock.
            watcher.sendText(WsClient.json("action", "lock", "param", "own", "id", "again"));
            JsonNode again = read(watcher);
            assertThat(again.path("status").asText()).as("%s", again).isEqualTo("LOCKED");
            assertThat(node.service.sessionCount()).isEqualTo(4 + READERS); // bystander, watcher, toggler, last, readers
            node.assertBystanderUnharmed();
        } finally {
            readers.forEach(WsClient::close);
        }
    }

    private static JsonNode read(RawWebSocket ws) {
        return parse(ws.readText(Await.seconds(10)));
    }

    private static JsonNode parse(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }
}
