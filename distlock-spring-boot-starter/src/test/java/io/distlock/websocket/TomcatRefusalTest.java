package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.testing.RedisProcess;
import jakarta.websocket.Endpoint;
import jakarta.websocket.EndpointConfig;
import jakarta.websocket.Session;
import jakarta.websocket.server.ServerEndpointConfig;

/**
 * What Tomcat answers to refused handshakes, with and without {@code DistLockHandshakeFilter}:
 * the reason the filter exists. Tomcat sends 403 itself only for a {@code Configurator} whose
 * {@code checkOrigin} returns false; a refusal from {@code modifyHandshake} (where the endpoint
 * checks the origin against the Host, and authenticates) becomes 500.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TomcatRefusalTest {

    private static final String GOOD_ORIGIN = "http://good.example:8080";

    private RedisProcess redis;
    private LockService service;
    private DistLockEndpoints endpoint;

    @BeforeAll
    void start() {
        redis = RedisProcess.start();
        service = LockService.connect(redis.url(), LockConfig.defaults());
        endpoint = DistLockEndpoints.create(service, EndpointOptions.builder()
                .allowedOrigins(List.of(GOOD_ORIGIN))
                .authenticator(h -> Optional.ofNullable(h.header("Authorization")))
                .build());
    }

    @AfterAll
    void stop() {
        endpoint.close();
        service.close();
        redis.close();
    }

    @Test
    void withoutTheFilterTomcatAnswersEveryRefusalFromTheHandshakeWith500() {
        try (TomcatTestServer tomcat = TomcatTestServer.start(List.of(endpoint.config()))) {
            var uri = tomcat.uri("/distlock/lock");
            assertThat(RawWebSocket.handshakeStatus(uri, Map.of("Origin", "http://evil.example", "Authorization", "alice")))
                    .as("foreign origin").isEqualTo(500);
            assertThat(RawWebSocket.handshakeStatus(uri, Map.of("Origin", GOOD_ORIGIN))).as("not authenticated").isEqualTo(500);
            assertThat(RawWebSocket.handshakeStatus(uri, Map.of("Origin", GOOD_ORIGIN, "Authorization", "alice"))).isEqualTo(101);
        }
    }

    @Test
    void withTheFilterRefusalsGetTheirStatus() {
        try (TomcatTestServer tomcat = TomcatTestServer.startFiltered(List.of(endpoint))) {
            var uri = tomcat.uri("/distlock/lock");
            assertThat(RawWebSocket.handshakeStatus(uri, Map.of("Origin", "http://evil.example", "Authorization", "alice")))
                    .as("foreign origin").isEqualTo(403);
            assertThat(RawWebSocket.handshakeStatus(uri, Map.of("Origin", GOOD_ORIGIN))).as("not authenticated").isEqualTo(403);
            assertThat(WsClient.refusedHandshake(uri, Map.of("Origin", "http://evil.example")))
                    .as("a JDK client sees the complete 403").isEqualTo(403);
            assertThat(RawWebSocket.handshakeStatus(uri, Map.of("Origin", GOOD_ORIGIN, "Authorization", "alice"))).isEqualTo(101);
        }
    }

    @Test
    void tomcatAnswers403ItselfWhenCheckOriginReturnsFalse() {
        ServerEndpointConfig config = ServerEndpointConfig.Builder.create(Echo.class, "/plain")
                .configurator(new ServerEndpointConfig.Configurator() {
                    @Override
                    public boolean checkOrigin(String origin) {
                        return GOOD_ORIGIN.equals(origin);
                    }
                })
                .build();
        try (TomcatTestServer tomcat = TomcatTestServer.start(List.of(config))) {
            assertThat(RawWebSocket.handshakeStatus(tomcat.uri("/plain"), Map.of("Origin", "http://evil.example"))).isEqualTo(403);
            assertThat(RawWebSocket.handshakeStatus(tomcat.uri("/plain"), Map.of("Origin", GOOD_ORIGIN))).isEqualTo(101);
        }
    }

    public static final class Echo extends Endpoint {
        @Override
        public void onOpen(Session session, EndpointConfig config) {
            // nothing: only the handshake matters here
        }
    }
}
