package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * Two endpoints of two lock services in one JVM and one container share nothing: each counts
 * and meters only its own connections and requests, and closing one leaves the other serving.
 */
class TwoEndpointsTest {

    @Test
    void twoEndpointsOnTwoServicesShareNoConnectionsNoMetersAndNoShutdown() {
        SimpleMeterRegistry registryA = new SimpleMeterRegistry();
        SimpleMeterRegistry registryB = new SimpleMeterRegistry();
        LockConfig config = LockConfig.builder().lease(Duration.ofSeconds(5)).build();
        try (RedisProcess redis = RedisProcess.start();
             LockService serviceA = LockService.connect(redis.url(), config);
             LockService serviceB = LockService.connect(redis.url(), config);
             DistLockEndpoints a = DistLockEndpoints.create(serviceA, EndpointOptions.builder().path("/a").build());
             DistLockEndpoints b = DistLockEndpoints.create(serviceB, EndpointOptions.builder().path("/b").maxConnections(1).build());
             TestServer server = TestServer.tyrus(List.of(a.config(), b.config()))) {
            new EndpointMetrics(a).bindTo(registryA);
            new EndpointMetrics(b).bindTo(registryB);

            WsClient a1 = WsClient.open(server.uri("/a"));
            WsClient a2 = WsClient.open(server.uri("/a"));
            WsClient b1 = WsClient.open(server.uri("/b"));
            try {
                a1.request("OK", "action", "connect", "param", "a1");
                a2.request("OK", "action", "connect", "param", "a2");
                b1.request("OK", "action", "connect", "param", "b1");
                a1.request("LOCKED", "action", "lock", "param", "shared-name");
                assertThat(b1.request("WAIT", "action", "lock", "param", "shared-name").path("holder").asText()).isEqualTo("a1");

                assertThat(a.openConnections()).isEqualTo(2);
                assertThat(b.openConnections()).isEqualTo(1);
                assertThat(registryA.get("distlock.websocket.connections").gauge().value()).isEqualTo(2);
                assertThat(registryB.get("distlock.websocket.connections").gauge().value()).isEqualTo(1);
                assertThat(requests(registryA, "connect", "OK")).isEqualTo(2);
                assertThat(requests(registryB, "connect", "OK")).isEqualTo(1);
                assertThat(requests(registryA, "lock", "LOCKED")).isEqualTo(1);
                assertThat(registryA.find("distlock.websocket.requests").tag("status", "WAIT").timer()).isNull();
                assertThat(requests(registryB, "lock", "WAIT")).isEqualTo(1);
                // b's connection limit is b's alone: full, while a takes more.
                assertThat(RawWebSocket.handshakeStatus(server.uri("/b"), Map.of())).isEqualTo(503);
                assertThat(registryB.get("distlock.websocket.handshakes.refused").tag("reason", "capacity").counter().count()).isEqualTo(1);
                assertThat(registryA.get("distlock.websocket.handshakes.refused").tag("reason", "capacity").counter().count()).isZero();

                a.close();

                assertThat(a1.expectClosed().code()).isEqualTo(1001);
                assertThat(a2.expectClosed().code()).isEqualTo(1001);
                assertThat(serviceA.sessionCount()).isZero();
                assertThat(b1.expectNext("RETRY").path("lock").asText()).as("a's release reaches b").isEqualTo("shared-name");
                assertThat(b.openConnections()).isEqualTo(1);
                assertThat(registryB.get("distlock.websocket.connections").gauge().value()).isEqualTo(1);
                b1.request("LOCKED", "action", "lock", "param", "shared-name");
                assertThat(RawWebSocket.handshakeStatus(server.uri("/a"), Map.of())).as("a closed endpoint refuses").isEqualTo(503);
                assertThat(registryA.get("distlock.websocket.handshakes.refused").tag("reason", "capacity").counter().count()).isZero();
            } finally {
                a1.close();
                a2.close();
                b1.close();
            }
            await().atMost(Await.seconds(5)).until(() -> b.openConnections() == 0 && serviceB.sessionCount() == 0);
        }
    }

    private static long requests(SimpleMeterRegistry registry, String action, String status) {
        return registry.get("distlock.websocket.requests").tag("action", action).tag("status", status).timer().count();
    }
}
