package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;
import io.distlock.testing.TcpProxy;

/**
 * A {@code resume} whose connection ends before its answer (the client gave up waiting, as the
 * bundled one does after its request timeout, or its network dropped again): the session is
 * detached again, for its client to resume with the secret it still has, with what it was to be
 * told kept for it, and within the caps on detached sessions. The link to Redis of the node that
 * serves the resume is slowed while the resume is out, so that the connection is gone when the
 * answer is ready.
 */
class UnansweredResumeTest {

    private static final String PATH = "/distlock/lock";

    private RedisProcess redis;
    private TcpProxy proxy;
    private RedissonClient client;

    @BeforeEach
    void start() {
        redis = RedisProcess.start();
        proxy = TcpProxy.start(redis.port());
        Config c = new Config();
        c.useSingleServer().setAddress("redis://127.0.0.1:" + proxy.port());
        client = Redisson.create(c);
    }

    @AfterEach
    void stop() {
        client.shutdown(0, 0, java.util.concurrent.TimeUnit.SECONDS);
        proxy.close();
        redis.close();
    }

    private LockService service() {
        return LockService.create(client, LockConfig.builder().lease(Duration.ofSeconds(12)).build());
    }

    /** Waits until a resume of the session with the registry record {@code record}, generation {@code gen}, has ended one way or the other. */
    private void awaitResumeDone(String record, Object gen) {
        await().atMost(Duration.ofSeconds(15)).until(() -> !Objects.equals(String.valueOf(gen), String.valueOf(redis.command("HGET", record, "gen")))
                && ("d".equals(redis.command("HGET", record, "state")) || Long.valueOf(0).equals(redis.command("EXISTS", record))));
    }

    /** Ann (grace 30 s) waits for {@code x}, which the holder holds; both on the node at {@code uri}. */
    private record Waiting(WsClient holder, WsClient ann, String session, String secret, String record) { }

    private Waiting annWaitingForX(URI uri) {
        WsClient holder = WsClient.open(uri);
        holder.request("OK", "action", "connect", "param", "holder", "version", 2);
        holder.request("LOCKED", "action", "lock", "param", "x");
        WsClient ann = WsClient.open(uri);
        JsonNode ok = ann.request("OK", "action", "connect", "param", "ann", "version", 2, "grace", 30_000);
        ann.request("WAIT", "action", "lock", "param", "x");
        return new Waiting(holder, ann, ok.get("session").asText(), ok.get("resume").asText(), "distlock:session:" + ok.get("session").asText());
    }

    /** A resume sent to {@code uri}, whose connection ends before the (slowed) answer; waits for the resume's end. */
    private void resumeGivenUp(URI uri, String session, String secret) {
        String record = "distlock:session:" + session;
        Object gen = redis.command("HGET", record, "gen");
        proxy.delay(Duration.ofMillis(300));
        WsClient gaveUp = WsClient.open(uri);
        gaveUp.send("action", "resume", "session", session, "resume", secret);
        gaveUp.abort(); // before the answer
        awaitResumeDone(record, gen);
        proxy.delay(Duration.ZERO);
    }

    /** Resumes {@code w}'s session with the secret the client has, and expects the RETRY kept for it after the OK. */
    private static void resumeAndExpectTheKeptRetry(URI uri, Waiting w) {
        try (WsClient again = WsClient.open(uri)) {
            JsonNode resumed = again.send("action", "resume", "session", w.session(), "resume", w.secret()).next();
            assertThat(resumed.get("status").asText()).as("%s", resumed).isEqualTo("OK");
            JsonNode push = again.next();
            assertThat(push).as("the RETRY kept for the session").isNotNull();
            assertThat(push.get("status").asText()).isEqualTo("RETRY");
        }
    }

    /**
     * Found by the reconnect-storm probe (2026-12-05): the resume still moved the session (to
     * node B here), with a new secret nobody received, and the client's next resume with the only
     * secret it has was refused {@code SESSION_EXPIRED}: a live session lost.
     */
    @Test
    void theSecretTheClientHasResumesTheSessionAgain() throws Exception {
        LockConfig config = LockConfig.builder().lease(Duration.ofSeconds(12)).build();
        try (LockService a = LockService.connect(redis.url(), config);
             LockService b = service();
             DistLockEndpoints endpointA = DistLockEndpoints.create(a, EndpointOptions.defaults());
             DistLockEndpoints endpointB = DistLockEndpoints.create(b, EndpointOptions.defaults());
             TestServer nodeA = TestServer.tyrus(List.of(endpointA.config()));
             TestServer nodeB = TestServer.tyrus(List.of(endpointB.config()))) {
            WsClient first = WsClient.open(nodeA.uri(PATH));
            JsonNode ok = first.request("OK", "action", "connect", "param", "ann", "version", 2, "grace", 30_000);
            String session = ok.get("session").asText();
            String secret = ok.get("resume").asText();
            long token = first.request("LOCKED", "action", "lock", "param", "doc").get("token").asLong();
            first.abort();
            String record = "distlock:session:" + session;
            await().atMost(Duration.ofSeconds(5)).until(() -> "d".equals(redis.command("HGET", record, "state")));
            Object ownerA = redis.command("HGET", record, "node");

            resumeGivenUp(nodeB.uri(PATH), session, secret);
            assertThat(redis.command("HGET", record, "node")).as("B took the session over, and detached it again").isNotEqualTo(ownerA);

            try (WsClient again = WsClient.open(nodeB.uri(PATH))) {
                JsonNode resumed = again.send("action", "resume", "session", session, "resume", secret).next();
                assertThat(resumed.get("status").asText()).as("the retry with the secret the client has: %s", resumed).isEqualTo("OK");
                assertThat(resumed.get("locks").get("doc").get("token").asLong()).isEqualTo(token);
            }
        }
    }

    /** Found by review (2026-12-05): the pushes kept while detached went to the listener of the connection that ended, and were lost. */
    @Test
    void thePushesKeptWhileDetachedWaitForTheNextResume() throws Exception {
        try (LockService a = service();
             DistLockEndpoints endpoint = DistLockEndpoints.create(a, EndpointOptions.defaults());
             TestServer node = TestServer.tyrus(List.of(endpoint.config()))) {
            URI uri = node.uri(PATH);
            Waiting w = annWaitingForX(uri);
            w.ann().abort();
            await().atMost(Duration.ofSeconds(5)).until(() -> "d".equals(redis.command("HGET", w.record(), "state")));
            w.holder().request("OK", "action", "unlock", "param", "x"); // ann's RETRY is kept for it

            resumeGivenUp(uri, w.session(), w.secret());
            resumeAndExpectTheKeptRetry(uri, w);
        }
    }

    /**
     * The resumed session was attached: its connection must be closed (1000) as for any resume of
     * an attached session, and what comes meanwhile kept for the next resume (found by a review of
     * the fix above: the connection stayed open, its requests refused, and it was never told).
     */
    @Test
    void anAttachedSessionsConnectionIsClosedAndItsPushesKeptWhenAResumeOfItCannotBeAnswered() throws Exception {
        try (LockService a = service();
             DistLockEndpoints endpoint = DistLockEndpoints.create(a, EndpointOptions.defaults());
             TestServer node = TestServer.tyrus(List.of(endpoint.config()))) {
            URI uri = node.uri(PATH);
            Waiting w = annWaitingForX(uri);
            await().atMost(Duration.ofSeconds(5)).until(() -> "a".equals(redis.command("HGET", w.record(), "state")));

            resumeGivenUp(uri, w.session(), w.secret());
            assertThat(w.ann().expectClosed().code()).isEqualTo(1000);
            w.holder().request("OK", "action", "unlock", "param", "x"); // ann's RETRY is kept for the next resume
            resumeAndExpectTheKeptRetry(uri, w);
        }
    }

    /** A session detached again so was counted nowhere: one address could keep any number detached, holding their locks. */
    @Test
    void sessionsDetachedAgainCountAgainstTheAddresssCap() throws Exception {
        int max = 3;
        EndpointOptions options = EndpointOptions.builder().maxConnectionsPerAddress(max).build();
        try (LockService a = service();
             DistLockEndpoints endpoint = DistLockEndpoints.create(a, options);
             TestServer node = TestServer.tyrus(List.of(endpoint.config()))) {
            URI uri = node.uri(PATH);
            int n = max + 2;
            for (int i = 0; i < n; i++) {
                RawWebSocket ws = RawWebSocket.open(uri, "127.0.0.3", Map.of());
                JsonNode ok = new ObjectMapper().readTree(say(ws, WsClient.json("action", "connect", "param", "h-" + i, "version", 2, "grace", 60_000)));
                assertThat(say(ws, WsClient.json("action", "lock", "param", "doc-" + i))).contains("\"LOCKED\"");
                ws.drop();
                await().atMost(Await.seconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> endpoint.openConnections() == 0);
                String record = "distlock:session:" + ok.get("session").asText();
                await().atMost(Duration.ofSeconds(5)).until(() -> "d".equals(redis.command("HGET", record, "state"))
                        || Long.valueOf(0).equals(redis.command("EXISTS", record)));
                if (Long.valueOf(0).equals(redis.command("EXISTS", record))) {
                    continue; // past the cap at its drop: closed as one without grace
                }
                Object gen = redis.command("HGET", record, "gen");
                proxy.delay(Duration.ofMillis(300));
                RawWebSocket r = RawWebSocket.open(uri, "127.0.0.3", Map.of());
                r.sendText(WsClient.json("action", "resume", "session", ok.get("session").asText(), "resume", ok.get("resume").asText()));
                r.drop(); // before the answer
                awaitResumeDone(record, gen);
                proxy.delay(Duration.ZERO);
                await().atMost(Await.seconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> endpoint.openConnections() == 0);
            }
            int kept = 0;
            try (RawWebSocket other = RawWebSocket.open(uri, "127.0.0.2", Map.of())) {
                assertThat(say(other, WsClient.json("action", "connect", "param", "other"))).contains("\"OK\"");
                for (int i = 0; i < n; i++) {
                    if (say(other, WsClient.json("action", "lock", "param", "doc-" + i)).contains("\"WAIT\"")) {
                        kept++;
                    }
                }
            }
            assertThat(kept).as("sessions from one address kept detached, holding their locks").isEqualTo(max);
        }
    }

    private static String say(RawWebSocket ws, String request) {
        ws.sendText(request);
        return ws.readText(WsClient.TIMEOUT);
    }
}
