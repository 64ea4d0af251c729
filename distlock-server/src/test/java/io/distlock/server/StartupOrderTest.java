package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
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
import io.distlock.testing.Ports;

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

    /** Starts of the node before the test gives up finding a port nobody takes first: as RedisProcess does for its Redis. */
    private static final int ATTEMPTS = 5;

    @Test
    void theFirstConnectionThatTheNewPortAcceptsIsAnsweredByTheEndpointAndHealthIsUpWithLocksWorking() throws Exception {
        // The test picks the port (not --port 0): it must knock on it before the node opens it. A
        // port found free can be bound by another process before the node binds it (a failure
        // seen under load); the node then exits saying so, and the test starts it again on another.
        for (int attempt = 1; ; attempt++) {
            int port = Ports.belowTheEphemeralRange();
            // The embedded Redis: starting it is the longest step before the node can serve.
            NodeProcess node = NodeProcess.fromClasspath("--host", "127.0.0.1", "--port", Integer.toString(port), "--lease-ms", "2000");
            cleanup.add(node);
            URI ws = URI.create("ws://127.0.0.1:" + port + "/distlock/lock");

            // Knock until the port opens, as a client started together with the node would.
            Optional<Socket> first = await().atMost(Await.seconds(60)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5))
                    .until(() -> connect(port), s -> s.isPresent() || !node.isAlive());
            // What the first connection and /health found; if the port was someone else's, those
            // may have failed, and they count for nothing.
            Integer status = null;
            HttpResponse<String> health = null;
            Exception failure = null;
            if (first.isPresent()) {
                try {
                    try (Socket socket = first.get()) {
                        status = WsClient.rawHandshakeStatus(socket, ws, Map.of());
                    }
                    health = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                } catch (IOException | RuntimeException e) { // a listener not the node's may answer anything, or nothing
                    failure = e;
                }
            }
            if (node.exitedBecausePortInUse() && attempt < ATTEMPTS) {
                continue; // the port was taken before the node bound it: whatever answered was not the node
            }
            node.awaitStarted(); // fails with the node's output if it did not start; lets close() stop its embedded Redis
            assertThat(node.port()).as("the node's own port").isEqualTo(port);
            if (failure != null) {
                throw new AssertionError("the first connection the port accepted, or /health right after it, failed", failure);
            }

            assertThat(status).as("the handshake on the first connection the port accepted").isEqualTo(101);
            assertThat(health.statusCode()).as("/health right after the port opened: %s", health.body()).isEqualTo(200);
            assertThat(health.body()).contains("\"UP\"");
            WsClient client = WsClient.connect(ws);
            cleanup.add(client);
            assertThat(client.request("{\"action\":\"connect\",\"param\":\"early\"}").path("status").asText()).isEqualTo("OK");
            assertThat(client.request("{\"action\":\"lock\",\"param\":\"first\"}").path("status").asText()).isEqualTo("LOCKED");
            return;
        }
    }

    /** A connection to the port if it accepts one. */
    private static Optional<Socket> connect(int port) {
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
}
