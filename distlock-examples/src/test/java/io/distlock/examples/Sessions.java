package io.distlock.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;

import com.fasterxml.jackson.databind.JsonNode;

/** What both examples' tests check: two sessions take turns on one lock through the running example. */
final class Sessions {

    private Sessions() { }

    static void takeTurns(URI endpoint) {
        try (Browser alice = new Browser(endpoint); Browser bob = new Browser(endpoint)) {
            assertThat(alice.request("connect", "alice").get("status").asText()).isEqualTo("OK");
            assertThat(bob.request("connect", "bob").get("status").asText()).isEqualTo("OK");

            JsonNode first = alice.request("lock", "doc-42");
            assertThat(first.get("status").asText()).as("%s", first).isEqualTo("LOCKED");
            JsonNode waiting = bob.request("lock", "doc-42");
            assertThat(waiting.get("status").asText()).as("%s", waiting).isEqualTo("WAIT");
            assertThat(waiting.get("holder").asText()).isEqualTo("alice");

            assertThat(alice.request("unlock", "doc-42").get("status").asText()).isEqualTo("OK");
            JsonNode retry = bob.next();
            assertThat(retry.get("status").asText()).as("%s", retry).isEqualTo("RETRY");
            assertThat(retry.get("lock").asText()).isEqualTo("doc-42");

            JsonNode second = bob.request("lock", "doc-42");
            assertThat(second.get("status").asText()).as("%s", second).isEqualTo("LOCKED");
            assertThat(second.get("token").asLong()).isGreaterThan(first.get("token").asLong());
        }
    }
}
