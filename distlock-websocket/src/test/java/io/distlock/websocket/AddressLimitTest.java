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

/**
 * {@link EndpointOptions#maxConnectionsPerAddress()}: past it a handshake from that address gets
 * HTTP 429, while other addresses still connect; {@code X-Forwarded-For} counts only from a
 * trusted proxy. Clients on loopback bind 127.0.0.2, 127.0.0.3... to be other addresses.
 */
abstract class AddressLimitTest {

    static final String MAIN = "/distlock/lock";
    static final int MAX = 3;

    abstract TestServer startServer(List<ServerEndpointConfig> configs);

    private static String connect(String name) {
        return WsClient.json("action", "connect", "param", name);
    }

    private static RawWebSocket connected(URI uri, String from, Map<String, String> headers, String name) {
        RawWebSocket ws = RawWebSocket.open(uri, from, headers);
        ws.sendText(connect(name));
        assertThat(ws.readText(WsClient.TIMEOUT)).contains("\"OK\"");
        return ws;
    }

    @Test
    void pastTheCapOneAddressIsRefusedWith429WhileAnotherStillConnects() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        EndpointOptions options = EndpointOptions.builder().maxConnectionsPerAddress(MAX).build();
        List<RawWebSocket> clients = new ArrayList<>();
        try (RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(5)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, options);
             TestServer server = startServer(List.of(endpoint.config()))) {
            new EndpointMetrics(endpoint).bindTo(registry);
            URI uri = server.uri(MAIN);
            for (int i = 0; i < MAX; i++) {
                clients.add(connected(uri, "127.0.0.3", Map.of(), "crowd-" + i));
            }

            assertThat(RawWebSocket.handshakeStatus(uri, "127.0.0.3", Map.of())).as("one more from 127.0.0.3").isEqualTo(429);
            assertThat(registry.get("distlock.websocket.handshakes.refused").tag("reason", "address").counter().count()).isEqualTo(1);
            assertThat(endpoint.openConnections()).isEqualTo(MAX);

            try (RawWebSocket other = connected(uri, "127.0.0.2", Map.of(), "other")) {
                other.sendText(WsClient.json("action", "lock", "param", "doc"));
                assertThat(other.readText(WsClient.TIMEOUT)).contains("\"LOCKED\"");
            }

            clients.remove(0).close();
            await().atMost(Await.seconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> endpoint.openConnections() == MAX - 1);
            clients.add(connected(uri, "127.0.0.3", Map.of(), "again"));
            assertThat(registry.get("distlock.websocket.handshakes.refused").tag("reason", "address").counter().count()).isEqualTo(1);
        } finally {
            clients.forEach(RawWebSocket::close);
        }
    }

    @Test
    void behindATrustedProxyTheClientItNamesCountsAndNothingElseItWasSent() {
        EndpointOptions options = EndpointOptions.builder().maxConnectionsPerAddress(MAX).trustedProxies(List.of("127.0.0.5")).build();
        List<RawWebSocket> clients = new ArrayList<>();
        try (RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(5)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, options);
             TestServer server = startServer(List.of(endpoint.config()))) {
            URI uri = server.uri(MAIN);
            // the proxy at 127.0.0.5 forwards three connections of 203.0.113.7
            for (int i = 0; i < MAX; i++) {
                clients.add(connected(uri, "127.0.0.5", Map.of("X-Forwarded-For", "203.0.113.7"), "proxied-" + i));
            }
            assertThat(RawWebSocket.handshakeStatus(uri, "127.0.0.5", Map.of("X-Forwarded-For", "203.0.113.7"))).isEqualTo(429);
            // what the client put in front of the proxy's entry changes nothing
            assertThat(RawWebSocket.handshakeStatus(uri, "127.0.0.5", Map.of("X-Forwarded-For", "198.51.100.1, 203.0.113.7")))
                    .isEqualTo(429);
            // another client behind the same proxy connects
            clients.add(connected(uri, "127.0.0.5", Map.of("X-Forwarded-For", "203.0.113.8"), "neighbour"));

            // From a peer that is not a trusted proxy the header is ignored: 127.0.0.6 is one client, whatever it claims.
            for (int i = 0; i < MAX; i++) {
                clients.add(connected(uri, "127.0.0.6", Map.of("X-Forwarded-For", "198.51.100." + (10 + i)), "claims-" + i));
            }
            assertThat(RawWebSocket.handshakeStatus(uri, "127.0.0.6", Map.of("X-Forwarded-For", "198.51.100.99"))).isEqualTo(429);
            assertThat(endpoint.openConnections()).isEqualTo(2 * MAX + 1);
        } finally {
            clients.forEach(RawWebSocket::close);
        }
    }
}
