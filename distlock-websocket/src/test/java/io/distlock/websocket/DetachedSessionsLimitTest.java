package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.distlock.core.LockConfig;
import io.distlock.core.LockListener;
import io.distlock.core.LockService;
import io.distlock.core.LockSession;
import io.distlock.core.SessionOptions;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

/**
 * Sessions with a grace whose connections dropped count against the client address's cap
 * ({@link EndpointOptions#maxConnectionsPerAddress()}): past it, a dropped connection's session is
 * closed as if it had no grace, and its locks are free at once. Before, one address that
 * connected with a grace, took locks and dropped the connection, again and again, kept any number
 * of detached sessions on the node (a probe from one address: 227 sessions holding 206,000 locks
 * of 256 characters, 170 MB of Redis, the node's renewals late), none of them counted anywhere.
 */
class DetachedSessionsLimitTest {

    static final String MAIN = "/distlock/lock";
    static final int MAX = 3;

    private static String locked(RawWebSocket ws, String request) {
        ws.sendText(request);
        return ws.readText(WsClient.TIMEOUT);
    }

    /** From {@code address}: a session with a grace takes {@code lock}, and the TCP connection drops. */
    private static void lockAndDrop(DistLockEndpoints endpoint, URI uri, String address, String session, String lock) {
        RawWebSocket ws = RawWebSocket.open(uri, address, Map.of());
        assertThat(locked(ws, WsClient.json("action", "connect", "param", session, "version", 2, "grace", 60_000))).contains("\"OK\"");
        assertThat(locked(ws, WsClient.json("action", "lock", "param", lock))).contains("\"LOCKED\"");
        ws.drop();
        await().atMost(Await.seconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> endpoint.openConnections() == 0);
    }

    /**
     * Locks {@code prefix}0 to {@code prefix}MAX were taken by sessions whose connections dropped, in
     * that order: the first MAX are kept for their grace (another session is told WAIT), the last,
     * past the cap, was closed (its lock is free at once, or once its release lands).
     */
    private static void assertKeptButTheLast(URI uri, String prefix) {
        try (RawWebSocket other = RawWebSocket.open(uri, "127.0.0.2", Map.of())) {
            assertThat(locked(other, WsClient.json("action", "connect", "param", "other"))).contains("\"OK\"");
            for (int i = 0; i < MAX; i++) {
                assertThat(locked(other, WsClient.json("action", "lock", "param", prefix + i))).as(prefix + i + ": kept for its grace")
                        .contains("\"WAIT\"");
            }
            await().atMost(Await.seconds(5)).pollInterval(Duration.ofMillis(50)).untilAsserted(() ->
                    assertThat(locked(other, WsClient.json("action", "lock", "param", prefix + MAX))).contains("\"LOCKED\""));
        }
    }

    @Test
    void pastTheAddressCapADroppedConnectionsSessionIsClosedNotKeptForItsGrace() {
        EndpointOptions options = EndpointOptions.builder().maxConnectionsPerAddress(MAX).build();
        try (RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(5)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, options);
             TestServer server = TestServer.tyrus(List.of(endpoint.config()))) {
            URI uri = server.uri(MAIN);
            for (int i = 0; i <= MAX; i++) {
                lockAndDrop(endpoint, uri, "127.0.0.3", "hoarder-" + i, "doc-" + i);
            }

            assertKeptButTheLast(uri, "doc-");

            // Another address still has its own room.
            lockAndDrop(endpoint, uri, "127.0.0.4", "elsewhere", "doc-e");
            try (RawWebSocket other = RawWebSocket.open(uri, "127.0.0.2", Map.of())) {
                assertThat(locked(other, WsClient.json("action", "connect", "param", "other"))).contains("\"OK\"");
                assertThat(locked(other, WsClient.json("action", "lock", "param", "doc-e"))).as("kept for its grace").contains("\"WAIT\"");
            }
        }
    }

    @Test
    void pastTheNodesCapADroppedConnectionsSessionIsClosedWhateverItsAddress() {
        EndpointOptions options = EndpointOptions.builder().maxConnections(MAX).build();
        try (RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(5)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, options);
             TestServer server = TestServer.tyrus(List.of(endpoint.config()))) {
            URI uri = server.uri(MAIN);
            for (int i = 0; i <= MAX; i++) {
                lockAndDrop(endpoint, uri, "127.0.0." + (10 + i), "many-" + i, "node-doc-" + i); // each from another address
            }
            assertKeptButTheLast(uri, "node-doc-");
        }
    }

    /** Tomcat does not tell the endpoint the client's address: such sessions count against the node's cap only, not against one shared address. */
    @Test
    void sessionsFromAddressesNotToldCountOnlyAgainstTheNodesCap() {
        EndpointOptions options = EndpointOptions.builder().maxConnectionsPerAddress(1).maxConnections(MAX).build();
        try (RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(5)).build())) {
            Node node = new Node(service, options);
            List<LockSession> sessions = new ArrayList<>();
            for (int i = 0; i <= MAX; i++) {
                sessions.add(service.openSession("unknown-" + i, LockListener.NONE, new SessionOptions(Duration.ofSeconds(60), null)));
            }
            for (int i = 0; i < MAX; i++) {
                assertThat(node.mayDetach(null, sessions.get(i))).as("session %d, past the per-address cap of 1", i).isTrue();
            }
            assertThat(node.mayDetach(null, sessions.get(MAX))).as("past the node's cap").isFalse();
            sessions.get(0).close();
            assertThat(node.mayDetach(null, sessions.get(MAX))).as("one ended: room again").isTrue();
            sessions.forEach(LockSession::close);
        }
    }
}
