package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.core.LockConfig;
import io.distlock.core.LockListener;
import io.distlock.core.LockResult;
import io.distlock.core.LockService;
import io.distlock.core.LockSession;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;
import jakarta.websocket.server.ServerEndpointConfig;

/**
 * The protocol, conformance-tested over real WebSocket connections to a real container on a
 * real Redis. Run once per container by the subclasses: the same endpoint class, unchanged,
 * must pass the same contract everywhere.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class EndpointContractTest {

    static final String MAIN = "/distlock/lock";
    static final String LIMITED = "/limited";
    static final String HIDDEN = "/hidden";
    static final String SECURE = "/secure";
    static final String PINGED = "/pinged";
    static final String ANY_ORIGIN = "/any-origin";
    static final String HOSTS = "/hosts";
    static final String GOOD_ORIGIN = "http://good.example:8080";
    static final int MAX_LOCKS_PER_SESSION = 20;

    private RedisProcess redis;
    private LockService service;
    private final List<DistLockEndpoints> endpoints = new ArrayList<>();
    private final io.micrometer.core.instrument.simple.SimpleMeterRegistry hostsMeters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    private TestServer server;
    private final List<AutoCloseable> opened = new ArrayList<>();
    private String prefix;
    private static final AtomicInteger TESTS = new AtomicInteger();

    /** Starts the container under test serving {@code configs}. */
    abstract TestServer startServer(List<ServerEndpointConfig> configs);

    /**
     * Starts the container under test serving {@code endpoints}; by default their configs. A
     * container that needs more of an endpoint than its config (Tomcat: a filter that sends the
     * handshake's refusals) overrides this.
     */
    TestServer startEndpoints(List<DistLockEndpoints> endpoints) {
        return startServer(endpoints.stream().map(DistLockEndpoints::config).toList());
    }

    @BeforeAll
    void startNode() {
        redis = RedisProcess.start();
        service = LockService.connect(redis.url(), LockConfig.builder()
                .lease(Duration.ofSeconds(5))
                .maxLocksPerSession(MAX_LOCKS_PER_SESSION)
                .build());
        EndpointOptions secure = EndpointOptions.builder()
                .path(SECURE)
                .allowedOrigins(List.of(GOOD_ORIGIN))
                .allowMissingOrigin(false)
                .authenticator(EndpointContractTest::authenticate)
                .authorizer((principal, lock) -> lock.startsWith(principal + "-") || lock.startsWith("shared-"))
                .build();
        for (EndpointOptions options : List.of(
                EndpointOptions.defaults(),
                EndpointOptions.builder().path(LIMITED).rateLimit(20, 20).build(),
                EndpointOptions.builder().path(HIDDEN).hideHolder(true).build(),
                secure,
                EndpointOptions.builder().path(PINGED).pingInterval(Duration.ofMillis(200)).build(),
                EndpointOptions.builder().path(ANY_ORIGIN).allowedOrigins(List.of("*")).build(),
                EndpointOptions.builder().path(HOSTS).allowedHosts(List.of("Listed.example", "ported.example:8080")).build())) {
            endpoints.add(DistLockEndpoints.create(service, options));
        }
        new EndpointMetrics(endpoints.get(endpoints.size() - 1)).bindTo(hostsMeters);
        server = startEndpoints(endpoints);
    }

    /** Users are named by a bearer token (header) or a {@code token} query parameter: a test stand-in for real credentials. */
    private static Optional<Object> authenticate(HandshakeInfo handshake) {
        String authorization = handshake.header("authorization");
        if (authorization != null && authorization.startsWith("Bearer ")) {
            return Optional.of(authorization.substring("Bearer ".length()));
        }
        List<String> token = handshake.parameters().get("token");
        return token == null || token.isEmpty() || token.get(0).isBlank() ? Optional.empty() : Optional.of(token.get(0));
    }

    @AfterAll
    void stopNode() {
        endpoints.forEach(DistLockEndpoints::close);
        if (server != null) {
            server.close();
        }
        if (service != null) {
            service.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    @BeforeEach
    void name(TestInfo test) {
        prefix = test.getTestMethod().orElseThrow().getName() + "-" + TESTS.incrementAndGet();
    }

    @AfterEach
    void closeClients() throws Exception {
        for (AutoCloseable c : opened) {
            c.close();
        }
        opened.clear();
    }

    // ---- helpers ----

    /** A lock or session name unique to this test. */
    String n(String base) {
        return prefix + "-" + base;
    }

    WsClient client() {
        return client(MAIN, Map.of());
    }

    WsClient client(String path, Map<String, String> headers) {
        WsClient c = WsClient.open(server.uri(path), headers);
        opened.add(c);
        return c;
    }

    /** A client with a session named {@code name}. */
    WsClient connected(String name) {
        WsClient c = client();
        c.request("OK", "action", "connect", "param", n(name));
        return c;
    }

    /** Who holds {@code lock}, asked through the core by a session of its own (null if free). */
    String holderOf(String lock) {
        LockSession probe = service.openSession("probe", LockListener.NONE);
        try {
            LockResult result = Await.result(probe.lock(lock));
            return result instanceof LockResult.Waiting waiting ? waiting.holder() : null;
        } finally {
            probe.close();
        }
    }

    URI uri(String path) {
        return server.uri(path);
    }

    // ---- the original proof of concept's client, verbatim ----

    @Test
    void originalClientSequenceWithParam() {
        WsClient c = client();
        String session = n("user-1");
        String lock = n("doc");
        assertThat(c.request("OK", "action", "connect", "param", session, "time", System.currentTimeMillis())
                .path("message").asText()).isEqualTo("Open session: " + session);
        assertThat(c.request("LOCKED", "action", "lock", "param", lock, "time", System.currentTimeMillis())
                .path("message").asText()).isEqualTo(lock);
        assertThat(c.request("OK", "action", "unlock", "param", lock, "time", System.currentTimeMillis())
                .path("message").asText()).isEqualTo("Unlocked " + lock);
        c.request("LOCKED", "action", "lock", "param", lock, "time", System.currentTimeMillis());
        c.request("OK", "action", "unlock", "param", lock, "time", System.currentTimeMillis());
        JsonNode closed = c.request("OK", "action", "close", "time", System.currentTimeMillis());
        assertThat(closed.path("message").asText()).contains("Close session: ");
        c.expectNone(Duration.ofMillis(100));
    }

    @Test
    void originalClientSequenceWithParams() {
        WsClient c = client();
        String session = n("user-1");
        String lock = n("doc");
        c.request("OK", "action", "connect", "params", List.of(session), "time", System.currentTimeMillis());
        c.request("LOCKED", "action", "lock", "params", List.of(lock), "time", System.currentTimeMillis());
        c.request("OK", "action", "unlock", "params", List.of(lock), "time", System.currentTimeMillis());
        c.request("LOCKED", "action", "lock", "params", List.of(lock), "time", System.currentTimeMillis());
        c.request("OK", "action", "unlock", "params", List.of(lock), "time", System.currentTimeMillis());
        JsonNode closed = c.request("OK", "action", "close", "params", List.of(session), "time", System.currentTimeMillis());
        assertThat(closed.path("message").asText()).isEqualTo("Close session: " + session);
    }

    // ---- the action table ----

    @Test
    void connectAnswersTheSessionIdAndEchoesActionAndId() {
        WsClient c = client();
        JsonNode reply = c.request("OK", "action", "connect", "param", n("alice"), "id", "c-1");
        assertThat(reply.path("message").asText()).isEqualTo("Open session: " + n("alice"));
        assertThat(reply.path("session").asText()).isNotBlank();
        assertThat(reply.path("action").asText()).isEqualTo("connect");
        assertThat(reply.path("id").asText()).isEqualTo("c-1");
        assertThat(reply.has("code")).isFalse();
    }

    @Test
    void twoConnectionsWithTheSameNameAreTwoSessions() {
        WsClient a = client();
        WsClient b = client();
        String first = a.request("OK", "action", "connect", "param", n("same")).path("session").asText();
        String second = b.request("OK", "action", "connect", "param", n("same")).path("session").asText();
        assertThat(first).isNotEqualTo(second);
        a.request("LOCKED", "action", "lock", "param", n("doc"));
        assertThat(b.request("WAIT", "action", "lock", "param", n("doc")).path("holder").asText()).isEqualTo(n("same"));
        b.send("action", "unlock", "param", n("doc"));
        b.expectFail("NOT_OWNER");
    }

    @Test
    void connectTwiceIsAlreadyConnected() {
        WsClient c = connected("alice");
        c.send("action", "connect", "param", n("alice"), "id", 2);
        assertThat(c.expectFail("ALREADY_CONNECTED").path("id").asInt()).isEqualTo(2);
    }

    @Test
    void closeReleasesEveryLockAndTheSameSocketMayConnectAgain() {
        WsClient holder = connected("holder");
        WsClient waiter = connected("waiter");
        holder.request("LOCKED", "action", "lock", "param", n("a"));
        holder.request("LOCKED", "action", "mlock", "params", List.of(n("b"), n("c")));
        waiter.request("WAIT", "action", "lock", "param", n("a"));
        waiter.request("WAIT", "action", "mlock", "params", List.of(n("b"), n("c")));

        assertThat(holder.request("OK", "action", "close", "param", n("holder")).path("message").asText())
                .isEqualTo("Close session: " + n("holder"));
        List<String> retried = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            JsonNode push = waiter.expectNext("RETRY");
            assertThat(push.has("id")).isFalse();
            assertThat(push.path("message").asText()).isEqualTo(push.path("lock").asText());
            retried.add(push.path("lock").asText());
        }
        assertThat(retried).containsExactlyInAnyOrder(n("a"), n("b"), n("c"));
        assertThat(holderOf(n("a"))).isNull();
    }

    @Test
    void afterCloseTheSocketCanConnectAgain() {
        WsClient c = connected("first");
        c.request("LOCKED", "action", "lock", "param", n("doc"));
        c.request("OK", "action", "close");
        c.send("action", "lock", "param", n("doc"));
        c.expectFail("NOT_CONNECTED");
        c.request("OK", "action", "connect", "param", n("second"));
        c.request("LOCKED", "action", "lock", "param", n("doc"));
        assertThat(holderOf(n("doc"))).isEqualTo(n("second"));
    }

    @Test
    void lockIsIdempotentWithTheSameToken() {
        WsClient c = connected("alice");
        JsonNode first = c.request("LOCKED", "action", "lock", "param", n("doc"), "id", 1);
        JsonNode again = c.request("LOCKED", "action", "lock", "param", n("doc"), "id", 2);
        assertThat(first.path("lock").asText()).isEqualTo(n("doc"));
        assertThat(first.path("token").isIntegralNumber()).isTrue();
        assertThat(again.path("token").asLong()).isEqualTo(first.path("token").asLong());
        c.request("OK", "action", "unlock", "param", n("doc"));
        assertThat(c.request("LOCKED", "action", "lock", "param", n("doc")).path("token").asLong())
                .isGreaterThan(first.path("token").asLong());
    }

    @Test
    void waitNamesTheHolderAndUnlockPushesOneRetry() {
        WsClient holder = connected("holder");
        WsClient waiter = connected("waiter");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        JsonNode wait = waiter.request("WAIT", "action", "lock", "param", n("doc"), "id", 9);
        assertThat(wait.path("holder").asText()).isEqualTo(n("holder"));
        assertThat(wait.path("lock").asText()).isEqualTo(n("doc"));
        assertThat(wait.path("message").asText()).isEqualTo(n("doc"));
        assertThat(wait.path("id").asInt()).isEqualTo(9);

        JsonNode unlocked = holder.request("OK", "action", "unlock", "param", n("doc"));
        assertThat(unlocked.path("message").asText()).isEqualTo("Unlocked " + n("doc"));
        assertThat(unlocked.path("lock").asText()).isEqualTo(n("doc"));
        JsonNode retry = waiter.expectNext("RETRY");
        assertThat(retry.path("lock").asText()).isEqualTo(n("doc"));
        assertThat(retry.path("message").asText()).isEqualTo(n("doc"));
        assertThat(retry.has("id")).isFalse();

        // Exactly one RETRY per WAIT: lock and unlock again, nobody is told.
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        holder.request("OK", "action", "unlock", "param", n("doc"));
        waiter.expectNone(Duration.ofMillis(200));
        waiter.request("LOCKED", "action", "lock", "param", n("doc"));
    }

    @Test
    void unlockOfALockNotHeldIsNotOwnerAndChangesNothing() {
        WsClient holder = connected("holder");
        WsClient other = connected("other");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        other.send("action", "unlock", "param", n("doc"));
        assertThat(other.expectFail("NOT_OWNER").path("lock").asText()).isEqualTo(n("doc"));
        other.send("action", "unlock", "param", n("never-locked"));
        other.expectFail("NOT_OWNER");
        assertThat(holderOf(n("doc"))).isEqualTo(n("holder"));
    }

    @Test
    void aLockLostInRedisIsPushedAsLost() {
        WsClient c = connected("alice");
        c.request("LOCKED", "action", "lock", "param", n("doc"));
        redis.command("DEL", "distlock:lock:" + n("doc")); // as if its lease had run out unnoticed
        c.send("action", "unlock", "param", n("doc"), "id", 1);
        // Lease renewal may notice first; either way: one NOT_OWNER reply and one LOST push.
        List<JsonNode> frames = List.of(c.next(), c.next());
        JsonNode reply = frames.stream().filter(f -> f.has("id")).findFirst().orElseThrow();
        JsonNode lost = frames.stream().filter(f -> !f.has("id")).findFirst().orElseThrow();
        assertThat(reply.path("code").asText()).isEqualTo("NOT_OWNER");
        assertThat(lost.path("status").asText()).isEqualTo("LOST");
        assertThat(lost.path("lock").asText()).isEqualTo(n("doc"));
        assertThat(lost.path("message").asText()).isEqualTo(n("doc"));
        assertThat(lost.path("time").isIntegralNumber()).isTrue();
        c.request("LOCKED", "action", "lock", "param", n("doc"));
    }

    @Test
    void mlockTakesAllWithTokens() {
        WsClient c = connected("alice");
        JsonNode locked = c.request("LOCKED", "action", "mlock", "params", List.of(n("a"), n("b"), n("c")), "id", "m");
        assertThat(locked.path("locks")).extracting(JsonNode::asText).containsExactly(n("a"), n("b"), n("c"));
        assertThat(locked.path("tokens").size()).isEqualTo(3);
        assertThat(locked.path("tokens").path(n("b")).isIntegralNumber()).isTrue();
        assertThat(locked.path("action").asText()).isEqualTo("mlock");
        assertThat(holderOf(n("c"))).isEqualTo(n("alice"));
    }

    @Test
    void mlockIsAllOrNothingAndRetriesEachLockHeldByOthers() {
        WsClient holder = connected("holder");
        WsClient waiter = connected("waiter");
        holder.request("LOCKED", "action", "mlock", "params", List.of(n("a"), n("c")));
        JsonNode wait = waiter.request("WAIT", "action", "mlock", "params", List.of(n("a"), n("b"), n("c")));
        assertThat(wait.path("holders").path(n("a")).asText()).isEqualTo(n("holder"));
        assertThat(wait.path("holders").path(n("c")).asText()).isEqualTo(n("holder"));
        assertThat(wait.path("holders").has(n("b"))).isFalse();
        assertThat(holderOf(n("b"))).as("none is taken").isNull();

        holder.request("OK", "action", "munlock", "params", List.of(n("a"), n("c")));
        List<String> retried = List.of(waiter.expectNext("RETRY").path("lock").asText(),
                waiter.expectNext("RETRY").path("lock").asText());
        assertThat(retried).containsExactlyInAnyOrder(n("a"), n("c"));
        waiter.request("LOCKED", "action", "mlock", "params", List.of(n("a"), n("b"), n("c")));
    }

    @Test
    void mlockAcceptsASingleParam() {
        WsClient c = connected("alice");
        JsonNode locked = c.request("LOCKED", "action", "mlock", "param", n("only"));
        assertThat(locked.path("tokens").has(n("only"))).isTrue();
        c.request("OK", "action", "munlock", "param", n("only"));
    }

    @Test
    void munlockIsAllOrNothing() {
        WsClient c = connected("alice");
        c.request("LOCKED", "action", "mlock", "params", List.of(n("a"), n("b")));
        c.send("action", "munlock", "params", List.of(n("a"), n("not-mine")));
        assertThat(c.expectFail("NOT_OWNER").path("locks")).extracting(JsonNode::asText).containsExactly(n("a"), n("not-mine"));
        assertThat(holderOf(n("a"))).as("nothing released").isEqualTo(n("alice"));
        JsonNode ok = c.request("OK", "action", "munlock", "params", List.of(n("a"), n("b")));
        assertThat(ok.path("locks")).extracting(JsonNode::asText).containsExactly(n("a"), n("b"));
        assertThat(holderOf(n("a"))).isNull();
    }

    @Test
    void everyActionButConnectNeedsASession() {
        WsClient c = client();
        for (String action : List.of("lock", "unlock", "mlock", "munlock")) {
            c.send("action", action, "param", n("doc"), "id", action);
            assertThat(c.expectFail("NOT_CONNECTED").path("id").asText()).isEqualTo(action);
        }
        c.send("action", "close");
        c.expectFail("NOT_CONNECTED");
        c.send("action", "close", "param", n("who"));
        c.expectFail("NOT_CONNECTED");
    }

    // ---- every FAIL code ----

    @Test
    void badFramesAreAnsweredAndChangeNothing() {
        WsClient bystander = connected("bystander");
        bystander.request("LOCKED", "action", "lock", "param", n("theirs"));
        WsClient c = connected("alice");
        List<String> badRequests = List.of(
                "{not json",
                "",
                "[1,2]",
                "\"a string\"",
                "42",
                "null",
                "{\"action\":\"lock\",\"param\":\"x\"} trailing",
                "{}",
                "{\"param\":\"x\"}",
                "{\"action\":7,\"param\":\"x\"}",
                "{\"action\":null}",
                "{\"action\":\"lock\",\"param\":7}",
                "{\"action\":\"lock\",\"param\":[\"x\"]}",
                "{\"action\":\"lock\",\"params\":\"x\"}",
                "{\"action\":\"lock\",\"params\":[\"x\",3]}",
                "{\"action\":\"lock\",\"params\":[\"x\",\"y\"]}",
                "{\"action\":\"lock\",\"params\":[]}",
                "{\"action\":\"lock\"}",
                "{\"action\":\"lock\",\"param\":\"x\",\"params\":[\"y\"]}",
                "{\"action\":\"mlock\",\"param\":\"x\",\"params\":[\"x\",\"y\"]}",
                "{\"action\":\"mlock\",\"params\":[]}",
                "{\"action\":\"connect\"}",
                "{\"action\":\"close\",\"params\":[\"a\",\"b\"]}",
                "{\"action\":\"lock\",\"param\":\"x\",\"time\":\"now\"}",
                "{\"action\":\"lock\",\"param\":\"x\",\"id\":1.5}",
                "{\"action\":\"lock\",\"param\":\"x\",\"id\":{\"a\":1}}",
                "{\"action\":\"lock\",\"param\":\"x\",\"id\":true}",
                "{\"action\":\"lock\",\"param\":\"x\",\"id\":\"" + "i".repeat(65) + "\"}",
                "{\"action\":\"lock\",\"action\":\"unlock\",\"param\":\"x\"}");
        for (String bad : badRequests) {
            c.sendRaw(bad);
            JsonNode reply = c.expectFail("BAD_REQUEST");
            assertThat(reply.path("message").asText()).as("message for %s", bad).isNotBlank();
            // The same connection still works, and the bystander still holds its lock.
            c.request("LOCKED", "action", "lock", "param", n("mine"));
            c.request("OK", "action", "unlock", "param", n("mine"));
        }
        c.sendBinary(new byte[] {1, 2, 3});
        c.expectFail("BAD_REQUEST");
        assertThat(holderOf(n("theirs"))).isEqualTo(n("bystander"));
        bystander.request("OK", "action", "unlock", "param", n("theirs"));
    }

    @Test
    void badRequestsEchoWhatCouldBeRead() {
        WsClient c = connected("alice");
        c.sendRaw("{\"action\":\"lock\",\"param\":7,\"id\":\"x1\"}");
        JsonNode reply = c.expectFail("BAD_REQUEST");
        assertThat(reply.path("id").asText()).isEqualTo("x1");
        assertThat(reply.path("action").asText()).isEqualTo("lock");
        c.sendRaw("{\"action\":\"lock\",\"param\":\"x\",\"id\":[1]}");
        assertThat(c.expectFail("BAD_REQUEST").has("id")).as("an ill-typed id is not echoed").isFalse();
    }

    @Test
    void paramAndParamsThatAgreeAreAccepted() {
        WsClient c = connected("alice");
        c.sendRaw("{\"action\":\"lock\",\"param\":\"" + n("doc") + "\",\"params\":[\"" + n("doc") + "\"]}");
        c.expectNext("LOCKED");
    }

    @Test
    void unknownFieldsAndNullOptionalsAreIgnored() {
        WsClient c = connected("alice");
        c.sendRaw("{\"action\":\"lock\",\"param\":\"" + n("doc") + "\",\"options\":{\"mode\":\"shared\"},\"x\":[1],\"id\":null,\"time\":null}");
        JsonNode reply = c.expectNext("LOCKED");
        assertThat(reply.has("id")).isFalse();
    }

    @Test
    void unknownActionsAreCaseSensitive() {
        WsClient c = connected("alice");
        for (String action : List.of("LOCK", "Lock", "query", "resume", "")) {
            c.send("action", action, "param", n("doc"), "id", 5);
            JsonNode reply = c.expectFail("UNKNOWN_ACTION");
            assertThat(reply.path("action").asText()).isEqualTo(action);
            assertThat(reply.path("id").asInt()).isEqualTo(5);
        }
        c.request("LOCKED", "action", "lock", "param", n("doc"));
    }

    @Test
    void badSessionNames() {
        WsClient c = client();
        for (String name : List.of("", "s".repeat(129), "a\u0001b", "tab\there", "new\nline")) {
            c.send("action", "connect", "param", name);
            c.expectFail("BAD_NAME");
        }
        c.request("OK", "action", "connect", "param", "s".repeat(128));
    }

    @Test
    void badLockNames() {
        WsClient c = connected("alice");
        for (String name : List.of("", "l".repeat(257), "x\ny", "\u0000", "del\u007f")) {
            c.send("action", "lock", "param", name);
            c.expectFail("BAD_NAME");
        }
        c.send("action", "mlock", "params", List.of(n("fine"), ""));
        c.expectFail("BAD_NAME");
        assertThat(holderOf(n("fine"))).isNull();
        // A lone surrogate, sent as a JSON escape, is refused and echoed as valid JSON.
        c.sendRaw("{\"action\":\"lock\",\"param\":\"a\\ud800b\",\"id\":\"s\"}");
        JsonNode reply = c.expectFail("BAD_NAME");
        assertThat(reply.path("lock").asText()).isEqualTo("a\ud800b");
        c.request("LOCKED", "action", "lock", "param", "l".repeat(256 - prefix.length()) + prefix);
    }

    @Test
    void tooManyLocks() {
        WsClient c = connected("alice");
        List<String> sixtyFive = IntStream.range(0, 65).mapToObj(i -> n("m" + i)).toList();
        c.send("action", "mlock", "params", sixtyFive);
        c.expectFail("TOO_MANY_LOCKS");
        assertThat(holderOf(n("m0"))).isNull();

        List<String> all = IntStream.range(0, MAX_LOCKS_PER_SESSION).mapToObj(i -> n("h" + i)).toList();
        c.request("LOCKED", "action", "mlock", "params", all);
        c.send("action", "lock", "param", n("one-more"));
        c.expectFail("TOO_MANY_LOCKS");
        c.request("LOCKED", "action", "lock", "param", n("h0")); // held already: not counted
        c.send("action", "mlock", "params", List.of(n("h1"), n("one-more")));
        c.expectFail("TOO_MANY_LOCKS");
    }

    @Test
    void rateLimitedRequestsAreRefusedInOrderAndTheConnectionStaysOpen() {
        WsClient c = client(LIMITED, Map.of());
        int sent = 30; // burst 20, 20/s
        for (int i = 0; i < sent; i++) {
            c.send("action", "lock", "param", "x", "id", i);
        }
        int limited = 0;
        for (int i = 0; i < sent; i++) {
            JsonNode reply = c.expectNext("FAIL");
            assertThat(reply.path("id").asInt()).isEqualTo(i);
            assertThat(reply.path("code").asText()).isIn("NOT_CONNECTED", "RATE_LIMITED");
            if (reply.path("code").asText().equals("RATE_LIMITED")) {
                limited++;
            }
        }
        assertThat(limited).isGreaterThan(0);
        await().atMost(Await.seconds(5)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            c.send("action", "connect", "param", n("later"));
            assertThat(c.next().path("status").asText()).isEqualTo("OK");
        });
        c.request("LOCKED", "action", "lock", "param", n("doc"));
    }

    @Test
    void aFloodIsClosedWith1008AndReleasesTheSession() {
        WsClient waiter = connected("waiter");
        WsClient c = client(LIMITED, Map.of());
        c.request("OK", "action", "connect", "param", n("flooder"));
        c.request("LOCKED", "action", "lock", "param", n("doc"));
        waiter.request("WAIT", "action", "lock", "param", n("doc"));
        // Frame by frame, so that nothing is left unread when the server closes: unread data
        // would make its TCP stack reset the connection, and the close frame could be lost.
        WsClient.Closed closed = null;
        int refused = 0;
        for (int i = 0; i < 200 && closed == null; i++) {
            c.send("action", "lock", "param", n("doc"), "id", i);
            Object event = c.nextFrameOrClose();
            if (event instanceof WsClient.Closed close) {
                closed = close;
            } else if (((JsonNode) event).path("code").asText().equals("RATE_LIMITED")) {
                refused++;
            }
        }
        assertThat(closed).isNotNull();
        assertThat(closed.code()).isEqualTo(1008);
        assertThat(refused).as("refused before the close").isGreaterThanOrEqualTo(20);
        waiter.expectNext("RETRY");
    }

    @Test
    void unauthorizedLocksAreRefusedAndNothingIsTaken() {
        WsClient alice = client(SECURE, Map.of("Origin", GOOD_ORIGIN, "Authorization", "Bearer alice"));
        alice.request("OK", "action", "connect", "param", n("alice"));
        alice.request("LOCKED", "action", "lock", "param", "alice-" + n("doc"));
        alice.request("LOCKED", "action", "lock", "param", "shared-" + n("doc"));
        alice.send("action", "lock", "param", "bob-" + n("doc"), "id", 3);
        JsonNode refused = alice.expectFail("UNAUTHORIZED");
        assertThat(refused.path("id").asInt()).isEqualTo(3);
        alice.send("action", "mlock", "params", List.of("alice-" + n("x"), "bob-" + n("x")));
        alice.expectFail("UNAUTHORIZED");
        assertThat(holderOf("alice-" + n("x"))).isNull();

        // Principals are per connection: bob, by query parameter, at the same time.
        URI bobUri = URI.create(uri(SECURE) + "?token=bob");
        WsClient bob = WsClient.open(bobUri, Map.of("Origin", GOOD_ORIGIN));
        opened.add(bob);
        bob.request("OK", "action", "connect", "param", n("bob"));
        bob.request("LOCKED", "action", "lock", "param", "bob-" + n("doc"));
        bob.send("action", "lock", "param", "alice-" + n("doc"));
        bob.expectFail("UNAUTHORIZED");
        alice.send("action", "lock", "param", "bob-" + n("other"));
        alice.expectFail("UNAUTHORIZED");
    }

    @Test
    void handshakesFromOtherOriginsAreRefusedWith403() {
        URI secure = uri(SECURE);
        assertThat(RawWebSocket.handshakeStatus(secure, Map.of("Origin", "http://evil.example", "Authorization", "Bearer alice")))
                .as("foreign origin").isEqualTo(403);
        assertThat(WsClient.refusedHandshake(secure, Map.of("Origin", "http://evil.example", "Authorization", "Bearer alice")))
                .as("a foreign origin's refusal is a complete answer a WebSocket client can read").isEqualTo(403);
        assertThat(RawWebSocket.handshakeStatus(secure, Map.of("Origin", "http://good.example", "Authorization", "Bearer alice")))
                .as("same host, other port").isEqualTo(403);
        assertThat(RawWebSocket.handshakeStatus(secure, Map.of("Authorization", "Bearer alice")))
                .as("missing origin, not allowed here").isEqualTo(403);
        assertThat(RawWebSocket.handshakeStatus(secure, Map.of("Origin", GOOD_ORIGIN.toUpperCase(java.util.Locale.ROOT), "Authorization", "Bearer alice")))
                .as("origins compare case-insensitively").isEqualTo(101);
        client(SECURE, Map.of("Origin", GOOD_ORIGIN, "Authorization", "Bearer alice")).request("OK", "action", "connect", "param", n("a"));
        // Listed origins widen the same-origin rule, they do not replace it.
        assertThat(RawWebSocket.handshakeStatus(secure, Map.of("Origin", "http://127.0.0.1:" + secure.getPort(), "Authorization", "Bearer alice")))
                .as("same origin on an endpoint with a list").isEqualTo(101);
        // "*" takes any origin.
        client(ANY_ORIGIN, Map.of("Origin", "http://anywhere.example")).request("OK", "action", "connect", "param", n("b"));
        client(MAIN, Map.of()).request("OK", "action", "connect", "param", n("c"));
    }

    /** Cross-Site WebSocket Hijacking: by default a browser page from another origin must not connect with the user's cookies. */
    @Test
    void byDefaultOnlyTheSameOriginAndClientsWithoutOriginMayConnect() {
        URI main = uri(MAIN);
        int port = main.getPort();
        // Same origin: the Origin's host and port are the Host header's (a missing port is the scheme's default).
        assertThat(originStatus(main, "http://127.0.0.1:" + port, "127.0.0.1:" + port)).as("same origin").isEqualTo(101);
        assertThat(originStatus(main, "HTTP://LocalHost:" + port, "localhost:" + port)).as("case-insensitive").isEqualTo(101);
        assertThat(originStatus(main, "http://app.example", "APP.example")).as("both on port 80").isEqualTo(101);
        assertThat(originStatus(main, "http://app.example", "app.example:80")).as("http's port 80").isEqualTo(101);
        assertThat(originStatus(main, "https://app.example", "app.example:443")).as("https's port 443").isEqualTo(101);
        assertThat(originStatus(main, "http://[::1]:" + port, "[::1]:" + port)).as("IPv6").isEqualTo(101);
        assertThat(originStatus(main, "http://[::1]", "[::1]")).as("IPv6, default port").isEqualTo(101);
        assertThat(RawWebSocket.handshakeStatus(main, Map.of())).as("no Origin: not a browser").isEqualTo(101);
        client(MAIN, Map.of("Origin", "http://127.0.0.1:" + port)).request("OK", "action", "connect", "param", n("a"));

        // Cross-origin.
        assertThat(originStatus(main, "http://evil.example", "127.0.0.1:" + port)).as("other host").isEqualTo(403);
        assertThat(originStatus(main, "http://127.0.0.1:" + (port + 1), "127.0.0.1:" + port)).as("other port").isEqualTo(403);
        assertThat(originStatus(main, "http://127.0.0.1", "127.0.0.1:" + port)).as("port 80 is not this port").isEqualTo(403);
        assertThat(originStatus(main, "https://app.example", "app.example:80")).as("https is port 443").isEqualTo(403);
        assertThat(originStatus(main, "http://app.example", "app.example:443")).as("http is port 80").isEqualTo(403);
        assertThat(originStatus(main, "http://app.example.evil.example", "app.example")).as("suffix").isEqualTo(403);
        assertThat(originStatus(main, "http://evil.example", "evil.example.app.example")).as("prefix").isEqualTo(403);
        assertThat(originStatus(main, "http://[::1]:" + port, "127.0.0.1:" + port)).as("IPv6 against IPv4").isEqualTo(403);
        assertThat(originStatus(main, "null", "127.0.0.1:" + port)).as("opaque origin (sandboxed page, file:)").isEqualTo(403);
        assertThat(originStatus(main, "http://user@127.0.0.1:" + port, "127.0.0.1:" + port)).as("not an origin").isEqualTo(403);
        assertThat(originStatus(main, "http://127.0.0.1:" + port + "/x", "127.0.0.1:" + port)).as("not an origin").isEqualTo(403);
        assertThat(WsClient.refusedHandshake(main, Map.of("Origin", "http://evil.example")))
                .as("a JDK client sees the complete 403").isEqualTo(403);
    }

    /**
     * DNS rebinding: a page on attacker.example:PORT whose name then resolves to this server sends
     * that name as Host and Origin alike, so the same-origin rule lets it in; a Host list does not.
     */
    @Test
    void withAllowedHostsARequestForAnotherHostIsRefusedWith403() {
        URI main = uri(MAIN);
        URI hosts = uri(HOSTS);
        String rebound = "attacker.example:" + hosts.getPort();
        assertThat(originStatus(main, "http://" + rebound, rebound)).as("no list: the rebound page gets in").isEqualTo(101);
        assertThat(originStatus(hosts, "http://" + rebound, rebound)).as("the rebound page").isEqualTo(403);
        assertThat(RawWebSocket.handshakeStatus(hosts, Map.of("Host", rebound))).as("nor a client without Origin").isEqualTo(403);
        assertThat(WsClient.refusedHandshake(hosts, Map.of())).as("the JDK client names 127.0.0.1: a complete 403").isEqualTo(403);
        // Listed without a port: that host on any port, any case; with a port: that port only.
        assertThat(originStatus(hosts, "http://listed.example:" + hosts.getPort(), "listed.example:" + hosts.getPort())).isEqualTo(101);
        assertThat(originStatus(hosts, "http://listed.example", "LISTED.example")).isEqualTo(101);
        assertThat(originStatus(hosts, "http://ported.example:8080", "ported.example:8080")).isEqualTo(101);
        assertThat(originStatus(hosts, "http://ported.example:8081", "ported.example:8081")).isEqualTo(403);
        assertThat(originStatus(hosts, "http://ported.example", "ported.example")).as("port 80 is not 8080").isEqualTo(403);
        // A listed Host does not lift the origin check.
        assertThat(originStatus(hosts, "http://evil.example", "listed.example")).isEqualTo(403);
        java.util.Map<String, String> noHost = new java.util.HashMap<>();
        noHost.put("Host", null);
        assertThat(RawWebSocket.handshakeStatus(hosts, noHost)).as("no Host at all").isIn(400, 403);
        double host = hostsMeters.get("distlock.websocket.handshakes.refused").tag("reason", "host").counter().count();
        double origin = hostsMeters.get("distlock.websocket.handshakes.refused").tag("reason", "origin").counter().count();
        assertThat(host).as("counted as host refusals (a container may refuse the Host-less one itself)").isBetween(5.0, 6.0);
        assertThat(origin).isEqualTo(1.0);
    }

    private static int originStatus(URI uri, String origin, String host) {
        return RawWebSocket.handshakeStatus(uri, Map.of("Origin", origin, "Host", host));
    }

    @Test
    void handshakesWithoutCredentialsAreRefusedWith403() {
        URI secure = uri(SECURE);
        assertThat(WsClient.refusedHandshake(secure, Map.of("Origin", GOOD_ORIGIN))).as("no credentials").isEqualTo(403);
        assertThat(WsClient.refusedHandshake(URI.create(secure + "?token="), Map.of("Origin", GOOD_ORIGIN)))
                .as("empty token").isEqualTo(403);
        assertThat(WsClient.refusedHandshake(secure, Map.of("Origin", GOOD_ORIGIN, "Authorization", "Basic x")))
                .as("wrong scheme").isEqualTo(403);
        assertThat(RawWebSocket.handshakeStatus(URI.create(secure + "?token=carol"), Map.of("Origin", GOOD_ORIGIN)))
                .as("by query parameter").isEqualTo(101);
    }

    @Test
    void hideHolderLeavesTheHolderOut() {
        WsClient holder = connected("holder");
        holder.request("LOCKED", "action", "mlock", "params", List.of(n("a"), n("b")));
        WsClient hidden = client(HIDDEN, Map.of());
        hidden.request("OK", "action", "connect", "param", n("curious"));
        assertThat(hidden.request("WAIT", "action", "lock", "param", n("a")).has("holder")).isFalse();
        JsonNode multi = hidden.request("WAIT", "action", "mlock", "params", List.of(n("a"), n("b")));
        assertThat(multi.has("holders")).isFalse();
        assertThat(multi.toString()).doesNotContain(n("holder"));
    }

    // ---- frames and ids ----

    @Test
    void aFrameOverTheLimitIsClosedWith1009AndHurtsNobodyElse() {
        WsClient bystander = connected("bystander");
        bystander.request("LOCKED", "action", "lock", "param", n("theirs"));
        WsClient c = connected("big");
        c.request("LOCKED", "action", "lock", "param", n("mine"));
        // The server may close while the frame is still being sent: the send then fails, and the
        // JDK client may report that failure (1006) before it reads the server's close frame (Jetty
        // closes at the frame's header; seen twice in 2026-12 runs). The 1009 itself is pinned by
        // RawFramesTest, whose client stops writing and reads the close frame; here what counts is
        // that the connection ends and nobody else is hurt.
        c.trySendRaw("{\"action\":\"lock\",\"param\":\"" + "x".repeat(70 * 1024) + "\"}");
        assertThat(c.expectClosed().code()).isIn(1009, 1006);
        await().atMost(Await.seconds(5)).until(() -> holderOf(n("mine")) == null);
        assertThat(holderOf(n("theirs"))).isEqualTo(n("bystander"));
        bystander.request("OK", "action", "unlock", "param", n("theirs"));
        connected("next").request("LOCKED", "action", "lock", "param", n("mine"));
    }

    @Test
    void aFrameOfExactlyTheLimitIsServed() {
        WsClient c = connected("alice");
        String head = "{\"action\":\"lock\",\"param\":\"" + n("doc") + "\",\"pad\":\"";
        String frame = head + "p".repeat(8192 - head.length() - 2) + "\"}";
        assertThat(frame.length()).isEqualTo(8192);
        c.sendRaw(frame);
        c.expectNext("LOCKED");
    }

    @Test
    void idsAreEchoedAsSent() {
        WsClient c = connected("alice");
        assertThat(c.request("LOCKED", "action", "lock", "param", n("doc"), "id", "abc").path("id").asText()).isEqualTo("abc");
        JsonNode integer = c.request("LOCKED", "action", "lock", "param", n("doc"), "id", 42);
        assertThat(integer.path("id").isIntegralNumber()).isTrue();
        assertThat(integer.path("id").asInt()).isEqualTo(42);
        c.sendRaw("{\"action\":\"lock\",\"param\":\"" + n("doc") + "\",\"id\":-9007199254740993}");
        assertThat(c.expectNext("LOCKED").path("id").asLong()).isEqualTo(-9007199254740993L);
        assertThat(c.request("LOCKED", "action", "lock", "param", n("doc"), "id", "i".repeat(64)).path("id").asText()).hasSize(64);
        assertThat(c.request("LOCKED", "action", "lock", "param", n("doc")).has("id")).isFalse();
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() {
        WsClient holder = connected("holder");
        holder.request("LOCKED", "action", "lock", "param", n("held"));
        WsClient c = connected("alice");
        int count = 150;
        for (int i = 0; i < count; i++) {
            switch (i % 6) {
                case 0 -> c.send("action", "lock", "param", n("p" + (i % 4)), "id", i);
                case 1 -> c.send("action", "nope", "id", i); // refused at once, must wait its turn
                case 2 -> c.send("action", "unlock", "param", n("p" + ((i - 2) % 4)), "id", i);
                case 3 -> c.send("action", "lock", "param", n("held"), "id", i);
                case 4 -> c.send("action", "mlock", "params", List.of(n("q" + i), n("r" + i)), "id", i);
                default -> c.send("action", "lock", "param", 7, "id", i);
            }
        }
        int retries = 0;
        for (int i = 0; i < count; ) {
            JsonNode reply = c.next();
            if (reply.path("status").asText().equals("RETRY")) {
                retries++;
                continue;
            }
            assertThat(reply.path("id").asInt()).as("reply %s", reply).isEqualTo(i);
            i++;
        }
        assertThat(retries).isZero();
    }

    // ---- liveness ----

    @Test
    void aClientThatNeverAnswersPingsIsClosedAndReleased() {
        WsClient waiter = client(PINGED, Map.of());
        try (RawWebSocket silent = RawWebSocket.open(uri(PINGED))) {
            silent.sendText(WsClient.json("action", "connect", "param", n("silent")));
            assertThat(silent.readText(WsClient.TIMEOUT)).contains("Open session");
            silent.sendText(WsClient.json("action", "lock", "param", n("doc")));
            assertThat(silent.readText(WsClient.TIMEOUT)).contains("LOCKED");
            waiter.request("OK", "action", "connect", "param", n("waiter"));
            waiter.request("WAIT", "action", "lock", "param", n("doc"));
            // pings every 200 ms: silent for two intervals means closed, and the lock freed
            JsonNode retry = waiter.expectNext("RETRY");
            assertThat(retry.path("lock").asText()).isEqualTo(n("doc"));
        }
        // The JDK client answers pings: it stays open through many intervals.
        waiter.expectNone(Duration.ofMillis(1000));
        waiter.request("LOCKED", "action", "lock", "param", n("doc"));
    }
}
