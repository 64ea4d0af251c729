package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.distlock.testing.Await;

/**
 * A node opens its port only when it can serve: a client (or a load balancer's health check)
 * that connects the moment the port opens must find the endpoint deployed and locks working,
 * not a 404 while Redis is still being started.
 */
class StartupOrderTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    @Test
    void theFirstConnectionThatTheNewPortAcceptsIsAnsweredByTheEndpointAndHealthIsUpWithLocksWorking() throws Exception {
        int port = freePort();
        // The embedded Redis: starting it is the longest step before the node can serve.
        NodeProcess node = NodeProcess.fromClasspath("--host", "127.0.0.1", "--port", Integer.toString(port), "--lease-ms", "2000");
        cleanup.add(node);
        URI ws = URI.create("ws://127.0.0.1:" + port + "/distlock/lock");

        // Knock until the port opens, as a client started together with the node would.
        Socket first = await().atMost(Await.seconds(60)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5))
                .until(() -> connect(port, node), Optional::isPresent).orElseThrow();
        int status;
        try (first) {
            status = WsClient.rawHandshakeStatus(first, ws, Map.of());
        }
        HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        node.awaitStarted(); // so that close() also stops its embedded Redis, whatever the assertions say

        assertThat(status).as("the handshake on the first connection the port accepted").isEqualTo(101);
        assertThat(health.statusCode()).as("/health right after the port opened: %s", health.body()).isEqualTo(200);
        assertThat(health.body()).contains("\"UP\"");
        WsClient client = WsClient.connect(ws);
        cleanup.add(client);
        assertThat(client.request("{\"action\":\"connect\",\"param\":\"early\"}").path("status").asText()).isEqualTo("OK");
        assertThat(client.request("{\"action\":\"lock\",\"param\":\"first\"}").path("status").asText()).isEqualTo("LOCKED");
    }

    /** A connection to the port if it accepts one; fails the test if the node died. */
    private static Optional<Socket> connect(int port, NodeProcess node) {
        if (!node.isAlive()) {
            throw new AssertionError("the node exited; its output:\n" + node.output());
        }
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            return Optional.of(socket);
        } catch (IOException e) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // nothing was open
            }
            return Optional.empty();
        }
    }

    /**
     * A free port below the ephemeral range (Linux: 32768 and up), from which the node's embedded
     * Redis takes its own: knocking on a port that Redis took (it happened) would find Redis,
     * which drops a connection that speaks HTTP.
     */
    private static int freePort() {
        java.util.Random random = new java.util.Random();
        for (int i = 0; i < 100; i++) {
            int candidate = 20_000 + random.nextInt(12_000);
            try (ServerSocket socket = new ServerSocket()) {
                socket.bind(new InetSocketAddress("127.0.0.1", candidate));
                return candidate;
            } catch (IOException e) {
                // taken: try another
            }
        }
        throw new UncheckedIOException(new IOException("no free port between 20000 and 32000 in 100 tries"));
    }
}
