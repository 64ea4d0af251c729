package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
import io.distlock.core.LockResult;
import io.distlock.core.LockService;
import io.distlock.core.LockServiceMetrics;
import io.distlock.core.LockSession;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.websocket.server.ServerEndpointConfig;

/**
 * Protocol version 2, part 2: sessions that survive a dropped connection ({@code grace},
 * {@code info}, {@code resume}, {@code SESSION_EXPIRED}), over real WebSocket connections to two
 * server nodes (each a lock service with its own Redis client behind a container of its own) on
 * one real Redis; once per container by the subclasses.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class EndpointResumeContractTest {

    static final String PATH = "/distlock/lock";
    static final Duration QUIET = Duration.ofMillis(300);
    private static final AtomicInteger TESTS = new AtomicInteger();

    private RedisProcess redis;
    private LockService serviceA;
    private LockService serviceB;
    private final SimpleMeterRegistry metersA = new SimpleMeterRegistry();
    private final List<DistLockEndpoints> endpoints = new ArrayList<>();
    private TestServer nodeA;
    private TestServer nodeB;
    private final List<AutoCloseable> opened = new ArrayList<>();
    private String prefix;

    abstract TestServer startServer(List<ServerEndpointConfig> configs);

    @BeforeAll
    void start() {
        redis = RedisProcess.start();
        LockConfig config = LockConfig.builder().lease(Duration.ofSeconds(3)).maxGrace(Duration.ofSeconds(20)).build();
        serviceA = LockService.connect(redis.url(), config);
        serviceB = LockService.connect(redis.url(), config);
        new LockServiceMetrics(serviceA).bindTo(metersA);
        endpoints.add(DistLockEndpoints.create(serviceA, EndpointOptions.defaults()));
        endpoints.add(DistLockEndpoints.create(serviceB, EndpointOptions.defaults()));
        nodeA = startServer(List.of(endpoints.get(0).config()));
        nodeB = startServer(List.of(endpoints.get(1).config()));
    }

    @AfterAll
    void stop() {
        endpoints.forEach(DistLockEndpoints::close);
        for (AutoCloseable c : new AutoCloseable[] {nodeA, nodeB, serviceA, serviceB, redis}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                // best effort
            }
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

    String n(String base) {
        return prefix + "-" + base;
    }

    WsClient client(TestServer node) {
        WsClient c = WsClient.open(node.uri(PATH));
        opened.add(c);
        return c;
    }

    /** A version 2 session with a grace, on {@code node}: its connect reply. */
    JsonNode connect(WsClient c, String name, int grace) {
        return c.request("OK", "action", "connect", "param", n(name), "version", 2, "grace", grace);
    }

    String holderOf(String lock) {
        LockSession probe = serviceB.openSession("probe", LockListener.NONE);
        try {
            LockResult result = Await.result(probe.lock(lock));
            return result instanceof LockResult.Waiting waiting ? waiting.holder() : null;
        } finally {
            probe.close();
        }
    }

    double detachedOnA() {
        return metersA.get("distlock.sessions.detached").gauge().value();
    }

    static void assertFields(JsonNode frame, String... fields) {
        List<String> names = new ArrayList<>();
        frame.fieldNames().forEachRemaining(names::add);
        assertThat(names).as("fields of %s", frame).containsExactly(fields);
    }

    // ---- connect ----

    @Test
    void aVersion2ConnectWithGraceAnswersTheGraceAndASecret() {
        WsClient c = client(nodeA);
        JsonNode ok = c.request("OK", "action", "connect", "param", n("ann"), "version", 2, "grace", 5000,
                "info", Map.of("avatar", "a.png"), "id", 1);
        assertFields(ok, "status", "message", "time", "id", "action", "session", "version", "grace", "resume");
        assertThat(ok.path("grace").asLong()).isEqualTo(5000);
        // At least 128 random bits, base64url.
        assertThat(ok.path("resume").asText()).matches("[A-Za-z0-9_-]{22,}");
        assertThat(ok.path("resume").asText()).isNotEqualTo(ok.path("session").asText());

        WsClient none = client(nodeA);
        JsonNode plain = none.request("OK", "action", "connect", "param", n("bob"), "version", 2);
        assertFields(plain, "status", "message", "time", "action", "session", "version", "grace");
        assertThat(plain.path("grace").asLong()).isZero();
    }

    @Test
    void connectOptionsAreRefusedOnVersion1AndWhenIllTypedOrAboveTheMaximum() {
        WsClient c = client(nodeA);
        c.send("action", "connect", "param", n("ann"), "grace", 5000, "id", 1);
        assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("'grace'").contains("version 2");
        c.send("action", "connect", "param", n("ann"), "version", 1, "info", Map.of("a", 1));
        assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("'info'");
        c.send("action", "connect", "param", n("ann"), "version", 2, "grace", "5000");
        assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("'grace'");
        c.send("action", "connect", "param", n("ann"), "version", 2, "grace", 20_001);
        assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("'grace'").contains("20000");
        c.send("action", "connect", "param", n("ann"), "version", 2, "info", Map.of("a", "x".repeat(600)));
        assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("'info'").contains("512");
        c.send("action", "connect", "param", n("ann"), "version", 2, "info", List.of(1));
        assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("'info'");
        // A grace above the maximum is a field refused before the name and the session state.
        c.send("action", "connect", "param", "", "version", 2, "grace", 20_001);
        assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("'grace'");
        // None of them opened a session.
        c.send("action", "lock", "param", n("doc"));
        c.expectFail("NOT_CONNECTED");
        connect(c, "ann", 0);
        c.send("action", "connect", "param", n("ann"), "version", 2, "grace", 20_001);
        assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("'grace'");
    }

    // ---- resume ----

    @Test
    void aDroppedConnectionIsResumedOnTheSameNodeWithItsLocksAndTheGrantItMissed() {
        WsClient first = client(nodeA);
        JsonNode ok = connect(first, "ann", 10_000);
        long token = first.request("LOCKED", "action", "lock", "param", n("doc")).path("token").asLong();
        WsClient other = client(nodeB);
        connect(other, "bob", 0);
        other.request("LOCKED", "action", "lock", "param", n("q"));
        first.request("QUEUED", "action", "lock", "param", n("q"), "wait", true, "id", "q-1");

        double before = detachedOnA();
        first.abort(); // no close: the session is detached, not closed
        await().atMost(Await.seconds(10)).until(() -> detachedOnA() == before + 1);
        assertThat(holderOf(n("doc"))).isEqualTo(n("ann"));
        other.request("OK", "action", "unlock", "param", n("q")); // granted while detached

        WsClient second = client(nodeA);
        JsonNode resumed = second.request("OK", "action", "resume", "session", ok.path("session").asText(),
                "resume", ok.path("resume").asText(), "id", 7);
        assertFields(resumed, "status", "message", "time", "id", "action", "session", "version", "resume", "grace", "locks", "queued");
        assertThat(resumed.path("session").asText()).isEqualTo(ok.path("session").asText());
        assertThat(resumed.path("resume").asText()).isNotEqualTo(ok.path("resume").asText());
        assertThat(resumed.path("grace").asLong()).isEqualTo(10_000);
        assertThat(resumed.path("locks").path(n("doc")).path("token").asLong()).isEqualTo(token);
        assertThat(resumed.path("locks").path(n("doc")).path("mode").asText()).isEqualTo("exclusive");
        // The grant it missed comes after the answer. The answer lists it as held if node A had its
        // message when the resume got its turn, or as still queued if the message came after (seen
        // once under load, stop 34's rehearsal): both are true, and the GRANTED follows either way.
        JsonNode push;
        if (resumed.path("locks").has(n("q"))) {
            long granted = resumed.path("locks").path(n("q")).path("token").asLong();
            assertThat(granted).isPositive();
            assertThat(resumed.path("queued").size()).isZero();
            push = second.expectNext("GRANTED");
            assertThat(push.path("token").asLong()).isEqualTo(granted);
        } else {
            assertThat(resumed.path("queued").get(0).asText()).isEqualTo(n("q"));
            assertThat(resumed.path("queued").size()).isOne();
            push = second.expectNext("GRANTED");
            assertThat(push.path("token").asLong()).isPositive();
        }
        assertThat(push.path("lock").asText()).isEqualTo(n("q"));
        assertThat(push.path("request").asText()).isEqualTo("q-1"); // the request that queued, on the earlier connection
        // The session is this connection's now, in version 2.
        second.request("OK", "action", "unlock", "param", n("doc"));
        second.request("OK", "action", "ping");
        second.request("OK", "action", "close");
        assertThat(holderOf(n("q"))).isNull();
    }

    @Test
    void aResumeOnAnotherNodeMovesTheSessionAndClosesTheOldConnection() {
        WsClient first = client(nodeA);
        JsonNode ok = connect(first, "ann", 10_000);
        long token = first.request("LOCKED", "action", "lock", "param", n("doc")).path("token").asLong();
        // The registry learns an attached session's locks one write after the lock.
        String key = "distlock:session:" + ok.path("session").asText();
        await().atMost(Await.seconds(10)).until(() -> String.valueOf(redis.command("HGET", key, "locks")).contains(n("doc")));

        WsClient second = client(nodeB);
        JsonNode resumed = second.request("OK", "action", "resume", "session", ok.path("session").asText(),
                "resume", ok.path("resume").asText());
        assertThat(resumed.path("locks").path(n("doc")).path("token").asLong()).isEqualTo(token);
        assertThat(first.expectClosed().code()).isEqualTo(1000);
        // Node A let go without releasing; node B renews it past the lease.
        await().during(Duration.ofSeconds(4)).atMost(Await.seconds(10)).until(() -> n("ann").equals(holderOf(n("doc"))));
        second.request("OK", "action", "unlock", "param", n("doc"));
        assertThat(holderOf(n("doc"))).isNull();
    }

    @Test
    void aResumeRacingTheEndOfTheOldConnectionLeavesTheSessionWithTheNewOne() {
        for (int round = 0; round < 3; round++) {
            WsClient first = client(nodeA);
            JsonNode ok = connect(first, "ann" + round, 10_000);
            long token = first.request("LOCKED", "action", "lock", "param", n("doc" + round)).path("token").asLong();
            WsClient second = client(nodeA);
            double before = detachedOnA();
            first.abort(); // its end reaches the server before or after the resume
            JsonNode resumed = second.request("OK", "action", "resume", "session", ok.path("session").asText(),
                    "resume", ok.path("resume").asText());
            assertThat(resumed.path("locks").path(n("doc" + round)).path("token").asLong()).isEqualTo(token);
            // The late end of the old connection neither detached nor closed the session.
            await().during(QUIET).atMost(Await.seconds(5)).until(() -> detachedOnA() == before);
            second.request("OK", "action", "ping");
            second.request("OK", "action", "unlock", "param", n("doc" + round));
            second.request("OK", "action", "close");
        }
    }

    @Test
    void aResumeRefusedSaysSessionExpiredAlikeForEveryReason() {
        WsClient first = client(nodeA);
        JsonNode ok = connect(first, "ann", 10_000);
        String id = ok.path("session").asText();
        String secret = ok.path("resume").asText();

        WsClient c = client(nodeB);
        c.send("action", "resume", "session", id, "resume", secret + "x", "id", 1);
        JsonNode wrong = c.expectFail("SESSION_EXPIRED");
        c.send("action", "resume", "session", "AAAAAAAAAAAAAAAAAAAA", "resume", secret, "id", 1);
        JsonNode unknown = c.expectFail("SESSION_EXPIRED");
        assertThat(wrong.path("message")).isEqualTo(unknown.path("message"));
        c.send("action", "resume", "session", id, "id", 2);
        c.expectFail("BAD_REQUEST");

        // Resumed once; the secret used is spent, so a stolen copy of it is refused.
        JsonNode resumed = c.request("OK", "action", "resume", "session", id, "resume", secret);
        assertThat(first.expectClosed().code()).isEqualTo(1000);
        WsClient thief = client(nodeA);
        thief.send("action", "resume", "session", id, "resume", secret);
        thief.expectFail("SESSION_EXPIRED");
        // A connection with a session cannot resume another; a version 1 session does not know the action.
        c.send("action", "resume", "session", id, "resume", resumed.path("resume").asText());
        c.expectFail("ALREADY_CONNECTED");
        WsClient v1 = client(nodeA);
        v1.request("OK", "action", "connect", "param", n("old"));
        v1.send("action", "resume", "session", id, "resume", resumed.path("resume").asText());
        v1.expectFail("UNKNOWN_ACTION");
    }

    /**
     * Found by review (2026-12-04): a {@code connect} or a second {@code resume} sent while a
     * resume was out found no session and went ahead; the resume's answer then replaced the
     * session the connect had opened, which was left attached to nothing, holding its locks for
     * as long as the node lived. Redis is paused so that the frames behind the resume are served
     * while it waits.
     */
    @Test
    void aConnectOrResumeSentWhileAResumeIsOutIsAlreadyConnectedAndOpensNothing() {
        WsClient first = client(nodeA);
        JsonNode ok = connect(first, "ann", 10_000);
        first.request("LOCKED", "action", "lock", "param", n("doc"));
        double detached = detachedOnA();
        first.abort();
        await().atMost(Await.seconds(10)).until(() -> detachedOnA() == detached + 1);
        double sessions = metersA.get("distlock.sessions").gauge().value();

        WsClient second = client(nodeA);
        redis.command("CLIENT", "PAUSE", "300"); // well within a command's timeout (a sixth of the 3 s lease)
        second.send("action", "resume", "session", ok.path("session").asText(), "resume", ok.path("resume").asText(), "id", 1);
        second.send("action", "connect", "param", n("bob"), "version", 2, "id", 2);
        second.send("action", "resume", "session", ok.path("session").asText(), "resume", ok.path("resume").asText(), "id", 3);
        second.send("action", "lock", "param", n("other"), "id", 4);
        // Replies come in the order of the requests.
        JsonNode resumed = second.expectNext("OK");
        assertThat(resumed.path("id").asInt()).isEqualTo(1);
        assertThat(resumed.path("locks").has(n("doc"))).isTrue();
        assertThat(second.expectFail("ALREADY_CONNECTED").path("id").asInt()).isEqualTo(2);
        assertThat(second.expectFail("ALREADY_CONNECTED").path("id").asInt()).isEqualTo(3);
        assertThat(second.expectFail("NOT_CONNECTED").path("id").asInt()).isEqualTo(4); // sent before the resume answered
        // Nothing but the resumed session: no session "bob" holds anything or lives on.
        assertThat(metersA.get("distlock.sessions").gauge().value()).isEqualTo(sessions);
        second.request("LOCKED", "action", "lock", "param", n("other"));
        second.request("OK", "action", "close");
        assertThat(holderOf(n("doc"))).isNull();
        assertThat(holderOf(n("other"))).isNull();
        await().atMost(Await.seconds(10)).until(() -> metersA.get("distlock.sessions").gauge().value() == sessions - 1);
    }

    @Test
    void closeEndsASessionWithGraceAtOnceAndADroppedSessionWithoutGraceIsClosed() {
        WsClient first = client(nodeA);
        JsonNode ok = connect(first, "ann", 10_000);
        first.request("LOCKED", "action", "lock", "param", n("doc"));
        first.request("OK", "action", "close");
        assertThat(holderOf(n("doc"))).isNull();
        WsClient c = client(nodeA);
        c.send("action", "resume", "session", ok.path("session").asText(), "resume", ok.path("resume").asText());
        c.expectFail("SESSION_EXPIRED");

        WsClient noGrace = client(nodeA);
        connect(noGrace, "bob", 0);
        noGrace.request("LOCKED", "action", "lock", "param", n("other"));
        noGrace.abort();
        await().atMost(Await.seconds(10)).until(() -> holderOf(n("other")) == null);
    }

    @Test
    void whenTheGraceRunsOutTheLocksGoToTheWaiters() {
        WsClient first = client(nodeA);
        JsonNode ok = connect(first, "ann", 500);
        first.request("LOCKED", "action", "lock", "param", n("doc"));
        WsClient waiter = client(nodeB);
        connect(waiter, "bob", 0);
        waiter.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true);
        first.abort();
        JsonNode granted = waiter.expectNext("GRANTED");
        assertThat(granted.path("lock").asText()).isEqualTo(n("doc"));
        WsClient late = client(nodeA);
        late.send("action", "resume", "session", ok.path("session").asText(), "resume", ok.path("resume").asText());
        late.expectFail("SESSION_EXPIRED");
    }
}
