package io.distlock.server;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Base64;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Requests that are wrong get a 4xx that says why, never a 500, and the node goes on serving
 * (found by review, 2026-12-04: Grizzly answered {@code GET /%zz} 500, Tyrus a handshake without
 * a {@code Sec-WebSocket-Key} 500, and a missing version 426 with the reason {@code CUSTOM}).
 * Raw sockets, since HTTP clients refuse to send most of these.
 */
class BadRequestsTest {

    private static RedisProcess redis;
    private static DistLockServer server;
    private static final String KEY = Base64.getEncoder().encodeToString(new byte[16]);

    @BeforeAll
    static void start() {
        redis = RedisProcess.start();
        server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url())
                .lease(Duration.ofSeconds(2)).build());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    @Test
    void aRequestTargetThatDoesNotDecodeIs400AndClosed() throws IOException {
        for (String target : new String[] {"/%zz", "/demo/docs/%C3%28", "/demo/docs/a%2Fb", "/distlock/lock%"}) {
            String answer = send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(answer).as(target).startsWith("HTTP/1.1 400 ")
                    .contains("request target is not a valid percent-encoded UTF-8 path").doesNotContain("Exception");
        }
        assertServing();
    }

    @Test
    void aHandshakeWithoutAValidKeyIs400AndClosed() throws IOException {
        String head = "GET /distlock/lock HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Version: 13\r\n";
        for (String key : new String[] {null, "", "not base64!", Base64.getEncoder().encodeToString(new byte[15])}) {
            String answer = send(head + (key == null ? "" : "Sec-WebSocket-Key: " + key + "\r\n") + "\r\n");
            assertThat(answer).as("key %s", key).startsWith("HTTP/1.1 400 ").contains("Sec-WebSocket-Key")
                    .doesNotContain("Exception");
        }
        // The same handshake with a good key is taken.
        assertThat(send(head + "Sec-WebSocket-Key: " + KEY + "\r\n\r\n", "\r\n\r\n")).startsWith("HTTP/1.1 101 ");
        assertServing();
    }

    @Test
    void aHandshakeWithoutAVersionIs426WithItsReasonAndTheVersionToUse() throws IOException {
        String answer = send("GET /distlock/lock HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: " + KEY + "\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 426 Upgrade Required\r\n").contains("Sec-WebSocket-Version: 13");
        assertServing();
    }

    private static void assertServing() {
        assertThat(Http.get(server.pageUri().resolve("/health")).statusCode()).isEqualTo(200);
        try (WsClient client = WsClient.connect(server.webSocketUri())) {
            assertThat(client.request("{\"action\":\"connect\",\"param\":\"after\"}").path("status").asText()).isEqualTo("OK");
        }
    }

    /** Sends {@code request} and reads the answer until the server closes the connection. */
    private static String send(String request) throws IOException {
        return send(request, null);
    }

    /** As {@link #send(String)}, but stops reading at {@code end} if it is not null (a 101 keeps the connection). */
    private static String send(String request, String end) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", server.pageUri().getPort()), 5_000);
            socket.setSoTimeout((int) Await.seconds(10).toMillis());
            socket.getOutputStream().write(request.getBytes(US_ASCII));
            StringBuilder answer = new StringBuilder();
            int b;
            while ((end == null || answer.indexOf(end) < 0) && (b = socket.getInputStream().read()) >= 0) {
                answer.append((char) b);
            }
            return answer.toString();
        }
    }
}
