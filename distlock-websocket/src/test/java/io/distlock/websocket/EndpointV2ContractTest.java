package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

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
import io.distlock.core.LockMode;
import io.distlock.core.LockResult;
import io.distlock.core.LockService;
import io.distlock.core.LockSession;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;
import jakarta.websocket.server.ServerEndpointConfig;

/**
 * Protocol version 2, part 1 (negotiation, the lock options {@code mode}, {@code wait} and
 * {@code timeout} (and how {@code steal} and {@code ask} are read), {@code QUEUED}, {@code GRANTED}, {@code CANCELLED}, {@code cancel}, the
 * {@code LOST} reason, the authorizer told the operation and mode), conformance-tested over real
 * WebSocket connections to a real container on a real Redis, once per container by the
 * subclasses, like {@link EndpointContractTest}. Version 1 sessions stay exactly as they were:
 * that is {@link EndpointContractTest}'s and {@link V1ReplayTest}'s to hold; here only how a
 * version 1 session refuses what version 2 adds.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class EndpointV2ContractTest {

    static final String MAIN = "/distlock/lock";
    static final String HIDDEN = "/hidden";
    /** Its authorizer overrides the four-argument method: no shared lock of a {@code no-shared-} name, no mlock of a {@code no-mlock-} name. */
    static final String JUDGED = "/judged";
    /** Its authorizer is a two-argument lambda, as before version 2: no lock of a {@code forbidden-} name, in any mode. */
    static final String LAMBDA = "/lambda";
    /** Quiet time in which a push that must not come would have come. */
    static final Duration QUIET = Duration.ofMillis(300);

    /** What the judged endpoint's authorizer was asked. */
    record Asked(String lock, Authorizer.Operation operation, LockMode mode) { }

    private RedisProcess redis;
    private LockService service;
    private final List<DistLockEndpoints> endpoints = new ArrayList<>();
    private TestServer server;
    private final List<AutoCloseable> opened = new ArrayList<>();
    private final Queue<Asked> asked = new ConcurrentLinkedQueue<>();
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
        service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(5)).build());
        Authorizer judge = new Authorizer() {
            @Override
            public boolean mayLock(Object principal, String lock) {
                throw new AssertionError("the endpoint asks the four-argument method");
            }

            @Override
            public boolean mayLock(Object principal, String lock, Operation operation, LockMode mode) {
                asked.add(new Asked(lock, operation, mode));
                return !(lock.startsWith("no-shared-") && mode == LockMode.SHARED)
                        && !(lock.startsWith("no-mlock-") && operation == Operation.MLOCK);
            }
        };
        for (EndpointOptions options : List.of(
                EndpointOptions.defaults(),
                EndpointOptions.builder().path(HIDDEN).hideHolder(true).build(),
                EndpointOptions.builder().path(JUDGED).authorizer(judge).build(),
                EndpointOptions.builder().path(LAMBDA).authorizer((principal, lock) -> !lock.startsWith("forbidden-")).build())) {
            endpoints.add(DistLockEndpoints.create(service, options));
        }
        server = startEndpoints(endpoints);
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
        asked.clear();
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

    WsClient client(String path) {
        WsClient c = WsClient.open(server.uri(path));
        opened.add(c);
        return c;
    }

    /** A client with a version 1 session named {@code name}. */
    WsClient v1(String name) {
        WsClient c = client(MAIN);
        c.request("OK", "action", "connect", "param", n(name));
        return c;
    }

    /** A client with a version 2 session named {@code name}. */
    WsClient v2(String name) {
        return v2(MAIN, name);
    }

    WsClient v2(String path, String name) {
        WsClient c = client(path);
        assertThat(c.request("OK", "action", "connect", "param", n(name), "version", 2).path("version").asInt()).isEqualTo(2);
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

    /** Asserts the frame's fields are exactly {@code fields}, in this order. */
    static void assertFields(JsonNode frame, String... fields) {
        List<String> names = new ArrayList<>();
        frame.fieldNames().forEachRemaining(names::add);
        assertThat(names).as("fields of %s", frame).containsExactly(fields);
    }

    // ---- negotiation ----

    @Test
    void connectWithVersion2AnswersVersion2() {
        WsClient c = client(MAIN);
        JsonNode ok = c.request("OK", "action", "connect", "param", n("alice"), "version", 2, "id", "c");
        assertThat(ok.path("message").asText()).isEqualTo("Open session: " + n("alice"));
        assertThat(ok.path("session").asText()).isNotBlank();
        assertThat(ok.path("version").isInt()).isTrue();
        assertThat(ok.path("version").asInt()).isEqualTo(2);
        assertFields(ok, "status", "message", "time", "id", "action", "session", "version", "grace");
    }

    @Test
    void connectWithoutVersionOrWithVersion1SpeaksVersion1() {
        for (Object version : new Object[] {null, 1}) {
            WsClient c = client(MAIN);
            JsonNode ok = version == null
                    ? c.request("OK", "action", "connect", "param", n("alice"), "id", 1)
                    : c.request("OK", "action", "connect", "param", n("alice"), "id", 1, "version", version);
            assertFields(ok, "status", "message", "time", "id", "action", "session");
            // A version 1 session: cancel is an unknown action, a lock option a bad request.
            c.send("action", "cancel", "param", n("doc"), "id", 2);
            assertThat(c.expectFail("UNKNOWN_ACTION").path("action").asText()).isEqualTo("cancel");
            c.send("action", "lock", "param", n("doc"), "wait", true, "id", 3);
            assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("version 2");
        }
    }

    @Test
    void pingIsAnsweredOkOnVersion2AndUnknownOnVersion1() {
        WsClient c = v2("alice");
        JsonNode pong = c.request("OK", "action", "ping", "id", 7);
        assertThat(pong.path("id").asInt()).isEqualTo(7);
        assertThat(pong.path("action").asText()).isEqualTo("ping");
        c.send("action", "ping", "param", n("doc"), "id", 8);
        c.expectFail("BAD_REQUEST");
        WsClient old = v1("bob");
        old.send("action", "ping", "id", 9);
        assertThat(old.expectFail("UNKNOWN_ACTION").path("action").asText()).isEqualTo("ping");
    }

    @Test
    void aVersionOtherThan1Or2IsABadRequestAndOpensNothing() {
        WsClient c = client(MAIN);
        for (Object version : List.of(0, 3, -1, "2", 2.5, true, List.of(2))) {
            c.send("action", "connect", "param", n("alice"), "version", version, "id", 9);
            JsonNode fail = c.expectFail("BAD_REQUEST");
            assertThat(fail.path("id").asInt()).isEqualTo(9);
            assertThat(fail.path("action").asText()).isEqualTo("connect");
            assertThat(fail.path("message").asText()).contains("'version'");
        }
        // No session was opened by any of them.
        c.send("action", "lock", "param", n("doc"));
        c.expectFail("NOT_CONNECTED");
        c.request("OK", "action", "connect", "param", n("alice"), "version", 2);
    }


    @Test
    void eachSessionOfAConnectionSpeaksTheVersionItsConnectAskedFor() {
        WsClient c = v2("first");
        c.send("action", "cancel", "param", 7);
        c.expectFail("BAD_REQUEST"); // version 2 knows cancel, and reads its fields
        c.request("OK", "action", "close");
        // Without a session the connection speaks version 1.
        c.send("action", "cancel", "param", 7);
        c.expectFail("UNKNOWN_ACTION");
        c.request("OK", "action", "connect", "param", n("second"));
        c.send("action", "cancel", "param", 7);
        c.expectFail("UNKNOWN_ACTION");
        c.send("action", "lock", "param", n("doc"), "mode", "shared");
        c.expectFail("BAD_REQUEST");
        c.request("OK", "action", "close");
        c.request("OK", "action", "connect", "param", n("third"), "version", 2);
        c.send("action", "cancel", "param", 7);
        c.expectFail("BAD_REQUEST");
    }

    // ---- version 1 sessions refuse version 2's options ----

    @Test
    void version1SessionsRefuseEveryLockOptionAndTakeNothing() {
        WsClient c = v1("alice");
        for (Object[] option : List.of(new Object[] {"mode", "exclusive"}, new Object[] {"mode", "shared"}, new Object[] {"wait", false},
                new Object[] {"wait", true}, new Object[] {"timeout", 100}, new Object[] {"steal", true}, new Object[] {"ask", true})) {
            c.send("action", "lock", "param", n("doc"), option[0], option[1], "id", 1);
            JsonNode fail = c.expectFail("BAD_REQUEST");
            assertThat(fail.path("message").asText()).contains("'" + option[0] + "'").contains("version 2");
            assertThat(fail.path("id").asInt()).isEqualTo(1);
            assertThat(fail.path("action").asText()).isEqualTo("lock");
            c.send("action", "mlock", "params", List.of(n("doc"), n("other")), option[0], option[1]);
            c.expectFail("BAD_REQUEST");
        }
        assertThat(holderOf(n("doc"))).isNull();
        assertThat(holderOf(n("other"))).isNull();
        // Other actions ignore the fields, as version 1 ignores every unknown field.
        c.request("LOCKED", "action", "lock", "param", n("doc"), "mode", null);
        c.request("OK", "action", "unlock", "param", n("doc"), "mode", "shared", "wait", true);
    }

    // ---- version 2 option checks over the wire ----

    @Test
    void version2RefusesIllTypedAndUnknownOptionsAndTakesNothing() {
        WsClient c = v2("alice");
        List<Object[]> bad = List.of(
                new Object[] {"lock", "mode", "foo"},
                new Object[] {"lock", "mode", "Shared"},
                new Object[] {"lock", "mode", 1},
                new Object[] {"lock", "wait", "true"},
                new Object[] {"lock", "wait", 1},
                new Object[] {"lock", "timeout", 100}, // without wait
                new Object[] {"mlock", "wait", true},
                new Object[] {"mlock", "wait", false},
                new Object[] {"mlock", "timeout", 100},
                new Object[] {"mlock", "mode", "both"});
        for (Object[] b : bad) {
            String field = (String) b[1];
            c.send("action", b[0], "params", List.of(n("doc")), field, b[2], "id", "b");
            JsonNode fail = c.expectFail("BAD_REQUEST");
            assertThat(fail.path("message").asText()).as("for %s", List.of(b)).contains("'" + field + "'");
            assertThat(fail.path("id").asText()).isEqualTo("b");
            assertThat(fail.path("action").asText()).isEqualTo(b[0]);
        }
        for (Object timeout : List.of(0, -5, 3_600_001, 1.5, "100", 99_999_999_999L)) {
            c.send("action", "lock", "param", n("doc"), "wait", true, "timeout", timeout);
            assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("'timeout'");
        }
        c.send("action", "lock", "param", n("doc"), "wait", false, "timeout", 100);
        assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("'timeout'").contains("wait");
        assertThat(holderOf(n("doc"))).isNull();
        c.request("LOCKED", "action", "lock", "param", n("doc"));
    }

    @Test
    void stealAndAskAreCheckedWhenTheFrameIsReadAndTakeNothing() {
        WsClient c = v2("alice");
        c.send("action", "lock", "param", n("doc"), "wait", true, "steal", true);
        assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("'steal'");
        c.send("action", "lock", "param", n("doc"), "ask", true);
        assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("'ask'");
        for (String option : List.of("steal", "ask")) {
            c.send("action", "lock", "param", n("doc"), "wait", true, option, "yes");
            c.expectFail("BAD_REQUEST");
            c.send("action", "mlock", "params", List.of(n("doc")), option, false);
            c.expectFail("BAD_REQUEST");
        }
        // The default authorizer never allows a steal (WatchAndTakeOverContractTest has the rest).
        c.send("action", "lock", "param", n("doc"), "steal", true);
        c.expectFail("UNAUTHORIZED");
        assertThat(holderOf(n("doc"))).isNull();
    }

    @Test
    void version2WithoutOptionsLocksAsVersion1Does() {
        WsClient holder = v2("holder");
        WsClient waiter = v2("waiter");
        JsonNode locked = holder.request("LOCKED", "action", "lock", "param", n("doc"), "id", 1);
        assertFields(locked, "status", "message", "time", "id", "action", "lock", "token");
        JsonNode wait = waiter.request("WAIT", "action", "lock", "param", n("doc"), "mode", "exclusive", "wait", false);
        assertThat(wait.path("holder").asText()).isEqualTo(n("holder"));
        holder.request("OK", "action", "unlock", "param", n("doc"));
        JsonNode retry = waiter.expectNext("RETRY");
        assertFields(retry, "status", "message", "time", "lock");
        waiter.request("LOCKED", "action", "lock", "param", n("doc"));
    }

    // ---- the authorizer ----

    @Test
    void theAuthorizerIsToldTheOperationAndTheMode() {
        WsClient c = v2(JUDGED, "alice");
        c.request("LOCKED", "action", "lock", "param", n("a"));
        c.send("action", "lock", "param", "no-shared-" + n("b"), "mode", "shared", "id", 2);
        assertThat(c.expectFail("UNAUTHORIZED").path("id").asInt()).isEqualTo(2);
        c.send("action", "mlock", "params", List.of(n("c"), "no-shared-" + n("d")), "mode", "shared");
        c.expectFail("UNAUTHORIZED");
        c.send("action", "mlock", "params", List.of(n("e"), "no-mlock-" + n("f")));
        c.expectFail("UNAUTHORIZED");
        c.request("LOCKED", "action", "lock", "param", "no-mlock-" + n("f"));
        assertThat(holderOf(n("c"))).as("refused mlock took nothing").isNull();
        assertThat(holderOf(n("e"))).as("refused mlock took nothing").isNull();
        assertThat(asked).containsExactly(
                new Asked(n("a"), Authorizer.Operation.LOCK, LockMode.EXCLUSIVE),
                new Asked("no-shared-" + n("b"), Authorizer.Operation.LOCK, LockMode.SHARED),
                new Asked(n("c"), Authorizer.Operation.MLOCK, LockMode.SHARED),
                new Asked("no-shared-" + n("d"), Authorizer.Operation.MLOCK, LockMode.SHARED),
                new Asked(n("e"), Authorizer.Operation.MLOCK, LockMode.EXCLUSIVE),
                new Asked("no-mlock-" + n("f"), Authorizer.Operation.MLOCK, LockMode.EXCLUSIVE),
                new Asked("no-mlock-" + n("f"), Authorizer.Operation.LOCK, LockMode.EXCLUSIVE));

        // A version 1 session asks exclusively.
        asked.clear();
        WsClient old = client(JUDGED);
        old.request("OK", "action", "connect", "param", n("old"));
        old.request("LOCKED", "action", "lock", "param", "no-shared-" + n("g"));
        assertThat(asked).containsExactly(new Asked("no-shared-" + n("g"), Authorizer.Operation.LOCK, LockMode.EXCLUSIVE));
    }

    @Test
    void aTwoArgumentLambdaAuthorizerJudgesEveryModeAndOperation() {
        WsClient c = v2(LAMBDA, "alice");
        for (String mode : List.of("exclusive", "shared")) {
            c.send("action", "lock", "param", "forbidden-" + n("x"), "mode", mode, "wait", true);
            c.expectFail("UNAUTHORIZED");
            c.send("action", "mlock", "params", List.of(n("y"), "forbidden-" + n("x")), "mode", mode);
            c.expectFail("UNAUTHORIZED");
        }
        assertThat(holderOf(n("y"))).isNull();
    }

    // ---- LOST gains a reason ----

    @Test
    void aLockTakenFromUsInRedisIsLostWithReasonTakenOnVersion2Only() {
        WsClient v2 = v2("new");
        WsClient v1 = v1("old");
        long tokenA = v2.request("LOCKED", "action", "lock", "param", n("a")).path("token").asLong();
        v1.request("LOCKED", "action", "lock", "param", n("b"));
        redis.command("DEL", "distlock:lock:" + n("a"), "distlock:lock:" + n("b")); // as if their leases had run out unnoticed
        for (WsClient c : List.of(v2, v1)) {
            c.send("action", "unlock", "param", c == v2 ? n("a") : n("b"), "id", 1);
        }
        // Lease renewal may notice first; either way: one NOT_OWNER reply and one LOST push each.
        JsonNode lostV2 = lostAndNotOwner(v2);
        JsonNode lostV1 = lostAndNotOwner(v1);
        assertThat(lostV2.path("lock").asText()).isEqualTo(n("a"));
        assertThat(lostV2.path("reason").asText()).isEqualTo("taken");
        assertThat(lostV2.path("token").asLong()).as("the grant that ended").isEqualTo(tokenA);
        assertFields(lostV2, "status", "message", "time", "lock", "reason", "token");
        assertThat(lostV1.path("lock").asText()).isEqualTo(n("b"));
        assertFields(lostV1, "status", "message", "time", "lock");
    }

    private static JsonNode lostAndNotOwner(WsClient c) {
        List<JsonNode> frames = List.of(c.next(), c.next());
        JsonNode reply = frames.stream().filter(f -> f.has("id")).findFirst().orElseThrow();
        assertThat(reply.path("code").asText()).isEqualTo("NOT_OWNER");
        JsonNode lost = frames.stream().filter(f -> !f.has("id")).findFirst().orElseThrow();
        assertThat(lost.path("status").asText()).isEqualTo("LOST");
        return lost;
    }

    /** Also: a queue place that cannot be kept is CANCELLED with reason backend. */
    @Test
    void aLeaseThatCannotBeRenewedIsLostWithReasonLeaseOnVersion2Only() {
        try (RedisProcess paused = RedisProcess.start();
             LockService shortLease = LockService.connect(paused.url(), LockConfig.builder().lease(Duration.ofMillis(1500)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(shortLease, EndpointOptions.defaults());
             TestServer other = startEndpoints(List.of(endpoint));
             WsClient v2 = WsClient.open(other.uri(MAIN));
             WsClient v1 = WsClient.open(other.uri(MAIN))) {
            v2.request("OK", "action", "connect", "param", "new", "version", 2);
            v1.request("OK", "action", "connect", "param", "old");
            long tokenA = v2.request("LOCKED", "action", "lock", "param", "a").path("token").asLong();
            v1.request("LOCKED", "action", "lock", "param", "b");
            v2.request("QUEUED", "action", "lock", "param", "b", "wait", true, "id", 1);
            paused.pause();
            try {
                // Renewals go unanswered: each lock and place is given up at two thirds of the lease.
                List<JsonNode> pushes = List.of(v2.next(), v2.next());
                JsonNode lostV2 = pushes.stream().filter(p -> p.path("status").asText().equals("LOST")).findFirst().orElseThrow();
                JsonNode cancelled = pushes.stream().filter(p -> p.path("status").asText().equals("CANCELLED")).findFirst().orElseThrow();
                assertThat(cancelled.path("lock").asText()).isEqualTo("b");
                assertThat(cancelled.path("reason").asText()).isEqualTo("backend");
                assertThat(cancelled.path("request").asInt()).as("the request that queued").isEqualTo(1);
                assertFields(cancelled, "status", "message", "time", "lock", "reason", "request");
                JsonNode lostV1 = v1.expectNext("LOST");
                assertThat(lostV2.path("lock").asText()).isEqualTo("a");
                assertThat(lostV2.path("reason").asText()).isEqualTo("lease");
                assertThat(lostV2.path("token").asLong()).as("the grant that ended").isEqualTo(tokenA);
                assertFields(lostV2, "status", "message", "time", "lock", "reason", "token");
                assertThat(lostV1.path("lock").asText()).isEqualTo("b");
                assertFields(lostV1, "status", "message", "time", "lock");
            } finally {
                paused.resume();
            }
        }
    }

    // ---- the queue: QUEUED, GRANTED ----

    @Test
    void aQueuedRequestIsGrantedWhenTheHolderReleasesWithItsRequestsId() {
        WsClient holder = v2("holder");
        WsClient first = v2("first");
        WsClient second = v2("second");
        long held = holder.request("LOCKED", "action", "lock", "param", n("doc")).path("token").asLong();
        JsonNode queued = first.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "id", "q1");
        assertThat(queued.path("position").asInt()).isEqualTo(1);
        assertThat(queued.path("holder").asText()).isEqualTo(n("holder"));
        assertThat(queued.path("lock").asText()).isEqualTo(n("doc"));
        assertThat(queued.path("message").asText()).isEqualTo(n("doc"));
        assertFields(queued, "status", "message", "time", "id", "action", "lock", "position", "holder");
        assertThat(second.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "id", 7).path("position").asInt())
                .isEqualTo(2);

        holder.request("OK", "action", "unlock", "param", n("doc"));
        JsonNode granted = first.expectNext("GRANTED");
        assertFields(granted, "status", "message", "time", "lock", "token", "mode", "request");
        assertThat(granted.path("lock").asText()).isEqualTo(n("doc"));
        assertThat(granted.path("message").asText()).isEqualTo(n("doc"));
        assertThat(granted.path("token").asLong()).isGreaterThan(held);
        assertThat(granted.path("mode").asText()).isEqualTo("exclusive");
        assertThat(granted.path("request").asText()).isEqualTo("q1");
        second.expectNone(QUIET);
        assertThat(holderOf(n("doc"))).isEqualTo(n("first"));
        // The grant is held like any lock: asking again answers its token.
        assertThat(first.request("LOCKED", "action", "lock", "param", n("doc")).path("token").asLong())
                .isEqualTo(granted.path("token").asLong());

        first.request("OK", "action", "unlock", "param", n("doc"));
        JsonNode next = second.expectNext("GRANTED");
        assertThat(next.path("request").isIntegralNumber()).as("the id as it was sent").isTrue();
        assertThat(next.path("request").asInt()).isEqualTo(7);
        assertThat(next.path("token").asLong()).isGreaterThan(granted.path("token").asLong());
        holder.expectNone(QUIET);
        first.expectNone(QUIET);
    }

    @Test
    void grantedNamesTheLatestQueuingRequestAndNoneWithoutAnId() {
        WsClient holder = v2("holder");
        WsClient c = v2("waiter");
        holder.request("LOCKED", "action", "lock", "param", n("a"));
        holder.request("LOCKED", "action", "lock", "param", n("b"));
        assertThat(c.request("QUEUED", "action", "lock", "param", n("a"), "wait", true, "id", 1).path("position").asInt()).isEqualTo(1);
        // Asking again keeps the place; its id is the one GRANTED names.
        assertThat(c.request("QUEUED", "action", "lock", "param", n("a"), "wait", true, "id", 2).path("position").asInt()).isEqualTo(1);
        // A request that does not queue changes nothing.
        c.request("WAIT", "action", "lock", "param", n("a"), "id", 3);
        c.request("QUEUED", "action", "lock", "param", n("b"), "wait", true);
        holder.request("OK", "action", "munlock", "params", List.of(n("a"), n("b")));
        List<JsonNode> pushes = List.of(c.next(), c.next());
        JsonNode grantedA = pushes.stream().filter(p -> p.path("lock").asText().equals(n("a"))).findFirst().orElseThrow();
        JsonNode grantedB = pushes.stream().filter(p -> p.path("lock").asText().equals(n("b"))).findFirst().orElseThrow();
        assertThat(grantedA.path("status").asText()).isEqualTo("GRANTED");
        assertThat(grantedA.path("request").asInt()).isEqualTo(2);
        assertThat(grantedB.path("status").asText()).isEqualTo("GRANTED");
        assertFields(grantedB, "status", "message", "time", "lock", "token", "mode");
        // The WAIT's RETRY never comes: the lock was handed to this session, never free.
        c.expectNone(QUIET);
    }

    @Test
    void aQueuedRequestThatCanBeGrantedNowIsLocked() {
        WsClient c = v2("alice");
        JsonNode locked = c.request("LOCKED", "action", "lock", "param", n("doc"), "wait", true, "timeout", 1000, "id", 1);
        assertFields(locked, "status", "message", "time", "id", "action", "lock", "token");
        // Nothing is left to time out or to grant.
        c.expectNone(Duration.ofMillis(1500));
        c.send("action", "cancel", "param", n("doc"));
        c.expectFail("NOT_QUEUED");
    }

    @Test
    void hideHolderLeavesTheHolderOutOfQueued() {
        WsClient holder = v2("holder");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        WsClient hidden = v2(HIDDEN, "curious");
        JsonNode queued = hidden.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true);
        assertFields(queued, "status", "message", "time", "action", "lock", "position");
        assertThat(queued.toString()).doesNotContain(n("holder"));
    }

    // ---- cancel and timeouts: CANCELLED ----

    @Test
    void cancelLeavesTheQueueAndNoGrantFollows() {
        WsClient holder = v2("holder");
        WsClient c = v2("waiter");
        WsClient after = v2("after");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        c.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "id", 1);
        assertThat(after.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true).path("position").asInt()).isEqualTo(2);
        JsonNode ok = c.request("OK", "action", "cancel", "param", n("doc"), "id", "c");
        assertFields(ok, "status", "message", "time", "id", "action", "lock");
        assertThat(ok.path("action").asText()).isEqualTo("cancel");
        assertThat(ok.path("lock").asText()).isEqualTo(n("doc"));
        assertThat(ok.path("message").asText()).isEqualTo("Cancelled " + n("doc"));
        c.send("action", "cancel", "param", n("doc"));
        c.expectFail("NOT_QUEUED");

        holder.request("OK", "action", "unlock", "param", n("doc"));
        assertThat(after.expectNext("GRANTED").path("lock").asText()).isEqualTo(n("doc"));
        c.expectNone(QUIET);
    }

    @Test
    void cancelOfALockNotQueuedForIsNotQueued() {
        WsClient holder = v2("holder");
        WsClient c = v2("alice");
        c.send("action", "cancel", "param", n("never"), "id", 1);
        JsonNode fail = c.expectFail("NOT_QUEUED");
        assertThat(fail.path("lock").asText()).isEqualTo(n("never"));
        assertThat(fail.path("action").asText()).isEqualTo("cancel");
        assertThat(fail.path("id").asInt()).isEqualTo(1);
        c.request("LOCKED", "action", "lock", "param", n("mine"));
        c.send("action", "cancel", "param", n("mine"));
        c.expectFail("NOT_QUEUED");
        holder.request("LOCKED", "action", "lock", "param", n("theirs"));
        c.request("WAIT", "action", "lock", "param", n("theirs")); // waiting for a RETRY is not queuing
        c.send("action", "cancel", "param", n("theirs"));
        c.expectFail("NOT_QUEUED");
        // Before connect, cancel is a version 1 unknown action.
        WsClient none = client(MAIN);
        none.send("action", "cancel", "param", n("x"));
        none.expectFail("UNKNOWN_ACTION");
    }

    @Test
    void unlockOfALockOnlyQueuedForIsNotOwner() {
        WsClient holder = v2("holder");
        WsClient c = v2("waiter");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        c.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true);
        c.send("action", "unlock", "param", n("doc"));
        c.expectFail("NOT_OWNER");
        holder.request("OK", "action", "unlock", "param", n("doc"));
        c.expectNext("GRANTED");
    }

    @Test
    void aTimeoutLeavesTheQueueWithCancelledReasonTimeout() {
        WsClient holder = v2("holder");
        WsClient c = v2("waiter");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        long start = System.nanoTime();
        c.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "timeout", 300, "id", 1);
        JsonNode cancelled = c.expectNext("CANCELLED");
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertFields(cancelled, "status", "message", "time", "lock", "reason", "request");
        assertThat(cancelled.path("request").asInt()).as("the request that queued").isEqualTo(1);
        assertThat(cancelled.path("lock").asText()).isEqualTo(n("doc"));
        assertThat(cancelled.path("message").asText()).isEqualTo(n("doc"));
        assertThat(cancelled.path("reason").asText()).isEqualTo("timeout");
        assertThat(millis).as("not before the timeout").isGreaterThanOrEqualTo(300);
        c.send("action", "cancel", "param", n("doc"));
        c.expectFail("NOT_QUEUED");
        holder.request("OK", "action", "unlock", "param", n("doc"));
        c.expectNone(QUIET);
        assertThat(holderOf(n("doc"))).isNull();
    }

    @Test
    void closeLeavesEveryQueue() {
        WsClient holder = v2("holder");
        WsClient leaving = v2("leaving");
        WsClient staying = v2("staying");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        leaving.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true);
        staying.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true);
        leaving.request("OK", "action", "close");
        holder.request("OK", "action", "unlock", "param", n("doc"));
        staying.expectNext("GRANTED");
        leaving.expectNone(QUIET);
        assertThat(holderOf(n("doc"))).isEqualTo(n("staying"));
    }

    // ---- shared locks ----

    @Test
    void sharedAndSharedAreBothLockedAndExclusiveWaitsOrQueues() {
        WsClient a = v2("a");
        WsClient b = v2("b");
        WsClient writer = v2("writer");
        WsClient impatient = v2("impatient");
        WsClient late = v2("late");
        long tokenA = a.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared").path("token").asLong();
        long tokenB = b.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared").path("token").asLong();
        assertThat(tokenB).as("tokens grow per name across shared grants").isGreaterThan(tokenA);
        assertThat(impatient.request("WAIT", "action", "lock", "param", n("doc")).path("holder").asText()).isIn(n("a"), n("b"));
        JsonNode queued = writer.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "id", "w");
        assertThat(queued.path("position").asInt()).isEqualTo(1);
        assertThat(queued.path("holder").asText()).isIn(n("a"), n("b"));
        // A queued exclusive request stops later shared ones (writers are not starved).
        late.request("WAIT", "action", "lock", "param", n("doc"), "mode", "shared");
        assertThat(late.request("QUEUED", "action", "lock", "param", n("doc"), "mode", "shared", "wait", true).path("position").asInt())
                .isEqualTo(2);

        a.request("OK", "action", "unlock", "param", n("doc"));
        writer.expectNone(QUIET);
        b.request("OK", "action", "unlock", "param", n("doc"));
        JsonNode granted = writer.expectNext("GRANTED");
        assertThat(granted.path("mode").asText()).isEqualTo("exclusive");
        assertThat(granted.path("request").asText()).isEqualTo("w");
        assertThat(granted.path("token").asLong()).isGreaterThan(tokenB);
        late.expectNone(QUIET);
        writer.request("OK", "action", "unlock", "param", n("doc"));
        assertThat(late.expectNext("GRANTED").path("mode").asText()).isEqualTo("shared");
    }

    @Test
    void anExclusiveHolderMakesSharedRequestsWaitOrQueue() {
        WsClient writer = v2("writer");
        WsClient reader = v2("reader");
        WsClient reader2 = v2("reader2");
        writer.request("LOCKED", "action", "lock", "param", n("doc"));
        assertThat(reader.request("WAIT", "action", "lock", "param", n("doc"), "mode", "shared").path("holder").asText())
                .isEqualTo(n("writer"));
        reader.request("QUEUED", "action", "lock", "param", n("doc"), "mode", "shared", "wait", true, "id", 1);
        reader2.request("QUEUED", "action", "lock", "param", n("doc"), "mode", "shared", "wait", true, "id", 2);
        writer.request("OK", "action", "unlock", "param", n("doc"));
        // Consecutive shared requests at the head are granted together.
        JsonNode one = reader.expectNext("GRANTED");
        JsonNode two = reader2.expectNext("GRANTED");
        assertThat(one.path("mode").asText()).isEqualTo("shared");
        assertThat(two.path("mode").asText()).isEqualTo("shared");
        assertThat(one.path("request").asInt()).isEqualTo(1);
        assertThat(two.path("request").asInt()).isEqualTo(2);
        // Its WAIT's RETRY never comes: the lock was handed over, never free.
        reader.expectNone(QUIET);
        assertThat(holderOf(n("doc"))).isIn(n("reader"), n("reader2"));
    }

    @Test
    void mlockTakesOneModeForAllItsNames() {
        WsClient a = v2("a");
        WsClient b = v2("b");
        WsClient writer = v2("writer");
        WsClient old = v1("old");
        List<String> names = List.of(n("x"), n("y"));
        JsonNode lockedA = a.request("LOCKED", "action", "mlock", "params", names, "mode", "shared");
        assertThat(lockedA.path("tokens").size()).isEqualTo(2);
        b.request("LOCKED", "action", "mlock", "params", names, "mode", "shared");
        JsonNode wait = writer.request("WAIT", "action", "mlock", "params", List.of(n("x"), n("z")), "mode", "exclusive");
        assertThat(wait.path("holders").path(n("x")).asText()).isIn(n("a"), n("b"));
        assertThat(wait.path("holders").has(n("z"))).isFalse();
        assertThat(holderOf(n("z"))).as("none is taken").isNull();
        old.request("WAIT", "action", "mlock", "params", names);
        a.request("OK", "action", "munlock", "params", names);
        b.request("OK", "action", "munlock", "params", names);
        // Released with empty queues: the version 1 waiter's RETRYs.
        List<String> retried = List.of(old.expectNext("RETRY").path("lock").asText(), old.expectNext("RETRY").path("lock").asText());
        assertThat(retried).containsExactlyInAnyOrderElementsOf(names);
    }

    @Test
    void aGrantIsNeverUpgradedButASharedRequestGetsTheExclusiveGrant() {
        WsClient c = v2("alice");
        WsClient other = v2("bob");
        long token = c.request("LOCKED", "action", "lock", "param", n("mine")).path("token").asLong();
        assertThat(c.request("LOCKED", "action", "lock", "param", n("mine"), "mode", "shared").path("token").asLong()).isEqualTo(token);
        other.request("WAIT", "action", "lock", "param", n("mine"), "mode", "shared"); // still exclusive

        long shared = c.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared").path("token").asLong();
        other.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared");
        for (String action : List.of("lock", "mlock")) {
            c.send("action", action, "params", List.of(n("doc")), "id", action);
            JsonNode refused = c.expectFail("BAD_REQUEST");
            assertThat(refused.path("message").asText()).contains("held shared");
            assertThat(refused.path("id").asText()).isEqualTo(action);
        }
        c.send("action", "lock", "param", n("doc"), "wait", true);
        c.expectFail("BAD_REQUEST");
        // Still held shared, by both.
        assertThat(c.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared").path("token").asLong()).isEqualTo(shared);
        c.request("OK", "action", "unlock", "param", n("doc"));
        other.request("OK", "action", "unlock", "param", n("doc"));
        assertThat(c.request("LOCKED", "action", "lock", "param", n("doc")).path("token").asLong()).isGreaterThan(shared);
    }

    // ---- version 1 and version 2 sessions on one lock ----

    @Test
    void aVersion1WaiterIsNeverLetInPastTheQueueAndHearsRetryOncePerGrantItWaitedFor() {
        WsClient holder = v2("holder");
        WsClient queued = v2("queued");
        WsClient old = v1("old");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        queued.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true);
        assertThat(old.request("WAIT", "action", "lock", "param", n("doc")).path("holder").asText()).isEqualTo(n("holder"));
        holder.request("OK", "action", "unlock", "param", n("doc"));
        queued.expectNext("GRANTED"); // handed over, never free in between
        // The grant the waiter was told of has ended: its re-check (at that grant's lease end, a
        // hand-over publishes no release) says so, and asking again names the new holder.
        assertThat(old.expectNext("RETRY").path("lock").asText()).isEqualTo(n("doc"));
        assertThat(old.request("WAIT", "action", "lock", "param", n("doc")).path("holder").asText()).isEqualTo(n("queued"));
        old.expectNone(Duration.ofSeconds(6)); // longer than a lease of the new grant, which is renewed: no RETRY
        queued.request("OK", "action", "unlock", "param", n("doc"));
        assertThat(old.expectNext("RETRY").path("lock").asText()).isEqualTo(n("doc"));
        old.request("LOCKED", "action", "lock", "param", n("doc"));
    }
}
