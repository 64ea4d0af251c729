package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
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

    /**
     * Found by review (2026-12-07): the filter took a request for an upgrade only when its first
     * Upgrade header was exactly "websocket"; Tomcat takes the token anywhere in the list, so
     * "websocket, h2c" from a foreign origin skipped the filter and got Tomcat's 500.
     */
    @Test
    void withTheFilterAnUpgradeListingWebsocketAmongOtherTokensGetsItsStatus() {
        try (TomcatTestServer tomcat = TomcatTestServer.startFiltered(List.of(endpoint))) {
            var uri = tomcat.uri("/distlock/lock");
            assertThat(handshakeStatus(uri, "websocket, h2c", "http://evil.example", "alice")).as("foreign origin").isEqualTo(403);
            assertThat(handshakeStatus(uri, "h2c, WebSocket", "http://evil.example", "alice")).as("foreign origin").isEqualTo(403);
            assertThat(handshakeStatus(uri, "h2c,websocket", GOOD_ORIGIN, null)).as("not authenticated").isEqualTo(403);
            // Tomcat upgrades it: the filter lets a good one through.
            assertThat(handshakeStatus(uri, "websocket, h2c", GOOD_ORIGIN, "alice")).isEqualTo(101);
        }
    }

    /** The status line's code for a handshake whose Upgrade header is {@code upgrade}, as sent. */
    private static int handshakeStatus(URI uri, String upgrade, String origin, String authorization) {
        try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
            socket.setSoTimeout(10_000);
            String request = "GET " + uri.getRawPath() + " HTTP/1.1\r\n"
                    + "Host: " + uri.getHost() + ":" + uri.getPort() + "\r\n"
                    + "Upgrade: " + upgrade + "\r\n"
                    + "Connection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Version: 13\r\n"
                    + "Origin: " + origin + "\r\n"
                    + (authorization == null ? "" : "Authorization: " + authorization + "\r\n")
                    + "\r\n";
            socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            String statusLine = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            return Integer.parseInt(statusLine.split(" ")[1]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
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
