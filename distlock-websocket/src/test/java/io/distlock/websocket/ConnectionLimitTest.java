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
import io.distlock.core.LockService;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.websocket.server.ServerEndpointConfig;

/** {@link EndpointOptions#maxConnections()}: past it a handshake gets a complete HTTP 503, until a connection closes. */
abstract class ConnectionLimitTest {

    static final String MAIN = "/distlock/lock";
    static final int MAX = 3;

    abstract TestServer startServer(List<ServerEndpointConfig> configs);

    @Test
    void pastMaxConnectionsTheHandshakeIsRefusedWith503UntilOneCloses() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        EndpointOptions options = EndpointOptions.builder().maxConnections(MAX).build();
        List<WsClient> clients = new ArrayList<>();
        try (RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(5)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, options);
             TestServer server = startServer(List.of(endpoint.config()))) {
            new EndpointMetrics(endpoint).bindTo(registry);
            URI uri = server.uri(MAIN);
            for (int i = 0; i < MAX; i++) {
                WsClient c = WsClient.open(uri);
                clients.add(c);
                c.request("OK", "action", "connect", "param", "full-" + i);
            }
            assertThat(endpoint.openConnections()).isEqualTo(MAX);

            // Refused whole: a status line a raw client can read, and a response the JDK client
            // reads to its end (no waiting for a body that never comes).
            assertThat(RawWebSocket.handshakeStatus(uri, Map.of())).as("raw handshake").isEqualTo(503);
            assertThat(WsClient.refusedHandshake(uri, Map.of())).as("JDK handshake").isEqualTo(503);
            assertThat(registry.get("distlock.websocket.handshakes.refused").tag("reason", "capacity").counter().count())
                    .isEqualTo(2);
            assertThat(endpoint.openConnections()).isEqualTo(MAX);
            assertThat(service.sessionCount()).isEqualTo(MAX);
            clients.get(1).request("LOCKED", "action", "lock", "param", "still-served");

            clients.remove(0).close();
            await().atMost(Await.seconds(5)).pollInterval(Duration.ofMillis(20))
                    .until(() -> endpoint.openConnections() == MAX - 1);
            try (WsClient again = WsClient.open(uri)) {
                again.request("OK", "action", "connect", "param", "again");
                assertThat(again.request("WAIT", "action", "lock", "param", "still-served").path("holder").asText())
                        .isEqualTo("full-1");
            }
            assertThat(registry.get("distlock.websocket.handshakes.refused").tag("reason", "capacity").counter().count())
                    .isEqualTo(2);
        } finally {
            clients.forEach(WsClient::close);
        }
    }
}
