package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Asks alone never end the holder's session (docs/protocol.md, Take-over): askers that each keep
 * their pace (one ask per lock, session and connection per 10 s) must not fill the connection of a
 * holder that reads slowly, which the node would close as a slow consumer and whose locks would go
 * to the askers at the head of the queues: a take-over without the right to steal (review
 * 2026-12-07: 60 askers of 40 locks, 1,000-byte infos, closed the holder with 1008 and the first
 * asker was GRANTED its locks). On Tyrus, the runnable server's container.
 */
class AsksFromManySessionsTest {

    static final int LOCKS = 60;
    static final int ASKERS = 100;

    @Test
    void asksFromManySessionsDoNotEndTheSessionOfAHolderThatReadsSlowly() {
        // Commands get 3 s (a sixth of a 30 s lease, at most 3 s): 6,000 asks in a few seconds keep Redis busy on a shared
        // machine, and with 0.8 s (a 5 s lease) one timed out there (BACKEND_UNAVAILABLE) in a CI rehearsal.
        try (GuardedNode node = GuardedNode.start("asks-bystander", List.of(EndpointOptions.defaults()), TestServer::tyrus,
                Duration.ofSeconds(30))) {
            RawWebSocket holder = RawWebSocket.open(node.server.uri(GuardedNode.MAIN), 4096);
            List<WsClient> askers = new ArrayList<>();
            try {
                holder.sendText(WsClient.json("action", "connect", "param", "holder", "version", 2));
                assertThat(holder.readText(WsClient.TIMEOUT)).contains("\"OK\"");
                for (int i = 0; i < LOCKS; i++) {
                    holder.sendText(WsClient.json("action", "lock", "param", "asked-" + i, "id", i));
                    assertThat(holder.readText(WsClient.TIMEOUT)).contains("\"LOCKED\"");
                }
                // From here the holder reads nothing until every ask is answered (a slow link, a busy device).
                String pad = "\u00e9".repeat(250); // 500 bytes of UTF-8, written as 1,500 (escaped) in every ASKED
                for (int a = 0; a < ASKERS; a++) {
                    WsClient asker = WsClient.open(node.server.uri(GuardedNode.MAIN));
                    askers.add(asker);
                    asker.request("OK", "action", "connect", "param", "asker-" + a, "version", 2, "info", Map.of("pad", pad));
                }
                for (WsClient asker : askers) { // one asker after another, each asking for every lock at once
                    for (int i = 0; i < LOCKS; i++) {
                        asker.send("action", "lock", "param", "asked-" + i, "wait", true, "ask", true, "id", i);
                    }
                    for (int i = 0; i < LOCKS; i++) {
                        JsonNode reply = asker.next();
                        assertThat(reply.path("status").asText()).as("%s", reply).isEqualTo("QUEUED");
                    }
                }

                // The holder reads on: every frame up to its ping's answer, which proves the session alive.
                holder.sendText(WsClient.json("action", "ping", "id", "alive"));
                int asked = 0;
                while (true) {
                    RawWebSocket.Frame frame = holder.readFrame(WsClient.TIMEOUT);
                    assertThat(frame).as("a frame within %s", WsClient.TIMEOUT).isNotNull();
                    assertThat(frame.opcode()).as("the holder's connection was closed: %s", frame).isNotIn(-1, 8);
                    if (frame.opcode() != 1) {
                        continue;
                    }
                    String text = frame.text();
                    if (text.contains("\"ASKED\"")) {
                        asked++;
                    } else if (text.contains("\"alive\"")) {
                        assertThat(text).contains("\"OK\"");
                        break;
                    }
                }
                assertThat(asked).as("ASKED read by the holder").isPositive();

                // Every lock is still the holder's: no asker was granted one.
                try (WsClient observer = WsClient.open(node.server.uri(GuardedNode.MAIN))) {
                    observer.request("OK", "action", "connect", "param", "observer", "version", 2);
                    List<String> names = new ArrayList<>();
                    for (int i = 0; i < LOCKS; i++) {
                        names.add("asked-" + i);
                    }
                    JsonNode state = observer.request("OK", "action", "query", "params", names).path("state");
                    for (String name : names) {
                        assertThat(state.path(name).path("holders").path(0).path("name").asText()).as("holder of %s", name)
                                .isEqualTo("holder");
                    }
                }
                node.assertBystanderUnharmed();
            } finally {
                askers.forEach(WsClient::close);
                holder.close();
            }
        }
    }
}
