package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.core.LockService;
import io.distlock.testing.Await;

/**
 * Abuse from one client: cross-site handshakes (a foreign page with the user's cookie), many
 * sockets at once, many names from one session. The node must refuse what the limits say,
 * release everything when the abuser leaves, and never let it touch a bystander's lock.
 * Runs on Tyrus with the default limits (1,000 locks a session, 64 names a request).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AbuseLimitsTest {

    static final String MAIN = "/distlock/lock";
    static final String SECURE = "/secure";
    static final String GOOD_ORIGIN = "https://app.example";

    private GuardedNode node;
    private LockService service;
    private TestServer server;
    /** Handshakes the authenticator saw: a refused origin must be refused before it reads the cookie. */
    private final AtomicInteger authenticated = new AtomicInteger();

    @BeforeAll
    void start() {
        EndpointOptions secure = EndpointOptions.builder()
                .path(SECURE)
                .allowedOrigins(List.of(GOOD_ORIGIN))
                .allowMissingOrigin(false)
                .authenticator(handshake -> {
                    authenticated.incrementAndGet();
                    String cookie = handshake.header("cookie");
                    return cookie != null && cookie.contains("sid=") ? Optional.of(cookie) : Optional.empty();
                })
                .build();
        node = GuardedNode.start("abuse-bystander", List.of(EndpointOptions.defaults(), secure), TestServer::tyrus);
        service = node.service;
        server = node.server;
    }

    @AfterAll
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    /** The bystander holds its lock with the same token, and a newcomer is told to wait. */
    @AfterEach
    void bystanderUnharmed() {
        node.assertBystanderUnharmed();
    }

    /**
     * Waits until only the bystander is left (the previous test's clients are released
     * asynchronously), and returns that baseline: open connections, then sessions.
     */
    int[] baseline() {
        await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> node.openConnections() == 1 && service.sessionCount() == 1);
        return new int[] {1, 1};
    }

    // ---- cross-site handshakes ----

    @Test
    void aForeignOriginWithTheUsersCookieIsRefusedWith403AndOpensNothing() {
        URI secure = server.uri(SECURE);
        int connections = baseline()[0];
        int sessions = baseline()[1];
        int authenticatedBefore = authenticated.get();
        for (String origin : List.of("https://evil.example", "null", "http://app.example", "https://app.example.evil.example",
                "https://app.example:444", "https://evil.example/https://app.example")) {
            Map<String, String> headers = Map.of("Origin", origin, "Cookie", "sid=alice-session");
            assertThat(RawWebSocket.handshakeStatus(secure, headers)).as("raw handshake from %s", origin).isEqualTo(403);
            assertThat(WsClient.refusedHandshake(secure, headers)).as("JDK handshake from %s", origin).isEqualTo(403);
        }
        assertThat(authenticated.get()).as("the cookie of a foreign origin is never read").isEqualTo(authenticatedBefore);
        assertThat(node.openConnections()).isEqualTo(connections);
        assertThat(service.sessionCount()).isEqualTo(sessions);

        // The same cookie from the right origin is accepted (the test is not vacuous).
        try (WsClient good = WsClient.open(secure, Map.of("Origin", GOOD_ORIGIN, "Cookie", "sid=alice-session"))) {
            good.request("OK", "action", "connect", "param", "alice");
            assertThat(service.sessionCount()).isEqualTo(sessions + 1);
        }
        await().atMost(Await.seconds(5)).until(() -> service.sessionCount() == sessions);
    }

    // ---- many sockets ----

    @Test
    void twoHundredSocketsFromOneClientAreServedAndAllReleased() throws Exception {
        int connections = baseline()[0];
        int sessions = baseline()[1];
        int count = 200;
        List<RawWebSocket> sockets = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<RawWebSocket>> opening = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                int n = i;
                opening.add(pool.submit(() -> {
                    RawWebSocket ws = RawWebSocket.open(server.uri(MAIN));
                    ws.sendText(WsClient.json("action", "connect", "param", "many-" + n));
                    assertThat(ws.readText(WsClient.TIMEOUT)).contains("Open session");
                    ws.sendText(WsClient.json("action", "lock", "param", "many-lock-" + n));
                    assertThat(ws.readText(WsClient.TIMEOUT)).contains("LOCKED");
                    return ws;
                }));
            }
            for (Future<RawWebSocket> f : opening) {
                sockets.add(f.get());
            }
        } finally {
            pool.shutdown();
        }
        assertThat(node.openConnections()).isEqualTo(connections + count);
        assertThat(service.sessionCount()).isEqualTo(sessions + count);

        // Responsive meanwhile: a newcomer is served, and told to wait for an abuser's lock.
        try (WsClient fresh = WsClient.open(server.uri(MAIN))) {
            fresh.request("OK", "action", "connect", "param", "newcomer");
            assertThat(fresh.request("WAIT", "action", "lock", "param", "many-lock-7").path("holder").asText()).isEqualTo("many-7");
        }

        // Gone in three ways: a close frame, a TCP FIN without one, a TCP reset.
        for (int i = 0; i < count; i++) {
            RawWebSocket ws = sockets.get(i);
            switch (i % 3) {
                case 0 -> {
                    ws.sendClose(1000, new byte[0]);
                    ws.close();
                }
                case 1 -> ws.close();
                default -> ws.drop();
            }
        }
        await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> node.openConnections() == connections && service.sessionCount() == sessions);

        // Every lock is free again: one session takes them all.
        try (WsClient taker = WsClient.open(server.uri(MAIN))) {
            taker.request("OK", "action", "connect", "param", "taker");
            for (int from = 0; from < count; from += 50) {
                List<String> names = IntStream.range(from, from + 50).mapToObj(i -> "many-lock-" + i).toList();
                takeAll(taker, names);
            }
        }
    }

    /**
     * {@code mlock} of {@code names} until LOCKED: a release still under way answers WAIT,
     * and then one RETRY comes for each lock held, after which the next try is due.
     */
    static JsonNode takeAll(WsClient c, List<String> names) {
        for (int attempt = 0; attempt < 5; attempt++) {
            c.send("action", "mlock", "params", names);
            JsonNode reply = c.next();
            if (reply.path("status").asText().equals("LOCKED")) {
                return reply;
            }
            assertThat(reply.path("status").asText()).as("%s", reply).isEqualTo("WAIT");
            for (int i = 0; i < reply.path("holders").size(); i++) {
                c.expectNext("RETRY");
            }
        }
        throw new AssertionError("could not take " + names);
    }

    // ---- many names ----

    @Test
    void aSessionHoldsAtMost1000LocksAndReleasesThemAllWhenItGoes() {
        List<String> names = IntStream.range(0, 1000).mapToObj(i -> "names-" + i).toList();
        WsClient hog = WsClient.open(server.uri(MAIN));
        try {
            hog.request("OK", "action", "connect", "param", "hog");
            for (int from = 0; from < names.size(); from += 50) {
                hog.request("LOCKED", "action", "mlock", "params", names.subList(from, from + 50));
            }
            hog.send("action", "lock", "param", "names-1000", "id", 1);
            assertThat(hog.expectFail("TOO_MANY_LOCKS").path("id").asInt()).isEqualTo(1);
            hog.send("action", "mlock", "params", List.of("names-0", "names-1000"));
            hog.expectFail("TOO_MANY_LOCKS");
            List<String> sixtyFive = IntStream.range(0, 65).mapToObj(i -> "names-" + i).toList();
            hog.send("action", "mlock", "params", sixtyFive);
            hog.expectFail("TOO_MANY_LOCKS"); // 65 names in one request, even held ones
            hog.request("LOCKED", "action", "lock", "param", "names-999"); // held already: not counted
            hog.request("LOCKED", "action", "mlock", "params", sixtyFive.subList(0, 64));
            hog.request("OK", "action", "unlock", "param", "names-999");
            hog.request("LOCKED", "action", "lock", "param", "names-1000"); // room for one again

            try (WsClient other = WsClient.open(server.uri(MAIN))) {
                other.request("OK", "action", "connect", "param", "other");
                JsonNode wait = other.request("WAIT", "action", "mlock", "params", List.of("names-0", "names-500", "names-1000"));
                assertThat(wait.path("holders").size()).isEqualTo(3);
            }
        } finally {
            hog.abort(); // vanishes without a close frame
        }
        // Everything is released: another session takes every one of them.
        try (WsClient taker = WsClient.open(server.uri(MAIN))) {
            taker.request("OK", "action", "connect", "param", "taker");
            List<String> all = new ArrayList<>(names);
            all.set(999, "names-1000");
            for (int from = 0; from < all.size(); from += 50) {
                assertThat(takeAll(taker, all.subList(from, from + 50)).path("tokens").size()).isEqualTo(50);
            }
        }
    }
}
