package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.spring.boot.docs.LocksApplication;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

/**
 * Shutdown on Tomcat with clients that stopped reading while a push to them was in flight:
 * {@link DistLockEndpoints#close()} (the starter's shutdown) closes each connection with 1001,
 * and Tomcat's close frame waits for the send in progress. Tomcat 11 waits 20 s
 * ({@code BLOCKING_SEND_TIMEOUT}) only for a 1000 (normal) close; for any other code it waits
 * 50 ms ({@code ABNORMAL_SESSION_CLOSE_SEND_TIMEOUT}), so a node with such clients still stops
 * well within its platform's grace period (Kubernetes: 30 s). With 1000 this took 100 s for 5
 * clients (a review's finding, checked 2026-12-07): this test guards the close code of
 * shutdown.
 */
class TomcatShutdownWithStuckClientsTest {

    private static final int STUCK = 5;
    /** Each reader's info: makes every state of "hot" some 6 KB, so a few hundred KB of pushes back up a stuck client. */
    private static final Map<String, Object> INFO = Map.of("about", "x".repeat(480));

    private RedisProcess redis;
    private final List<AutoCloseable> clients = new ArrayList<>();

    @BeforeEach
    void startRedis() {
        redis = RedisProcess.start();
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : clients) {
            c.close();
        }
        redis.close();
    }

    @Test
    void closingTheEndpointWithClientsStuckMidPushTakesLessThanASecondEach() throws Exception {
        LockService service = LockService.connect(redis.url(), LockConfig.defaults());
        // No pings in the test's time (a stuck client would be closed as silent), no rate limit for the toggler.
        DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.builder()
                .pingInterval(Duration.ofMinutes(10)).rateLimit(100_000, 100_000).build());
        try (TomcatTestServer tomcat = TomcatTestServer.start(List.of(endpoint.config()))) {
            stickClients(tomcat.uri("/distlock/lock"), endpoint);

            long millis = millisToRun(endpoint::close);
            assertThat(millis).as("ms to close the endpoint").isLessThan(10_000);
            assertThat(endpoint.openConnections()).isZero();
            await().atMost(Await.seconds(10)).until(() -> service.sessionCount() == 0);
        } finally {
            endpoint.close();
            service.close();
        }
    }

    @Test
    void aBootApplicationWithClientsStuckMidPushStopsInSeconds() throws Exception {
        ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url(),
                        "distlock.ping-interval=10m", "distlock.rate-limit=100000")
                .run();
        try {
            int port = ((WebServerApplicationContext) app).getWebServer().getPort();
            DistLockEndpoints endpoint = app.getBean(DistLockEndpoints.class);
            LockService service = app.getBean(LockService.class);
            stickClients(URI.create("ws://127.0.0.1:" + port + "/distlock/lock"), endpoint);

            long millis = millisToRun(app::close);
            assertThat(millis).as("ms to close the application").isLessThan(10_000);
            assertThat(endpoint.openConnections()).isZero();
            assertThat(service.sessionCount()).isZero();
        } finally {
            app.close();
        }
    }

    /**
     * Opens {@value #STUCK} clients that hold a lock each, watch "hot" and then read nothing,
     * and changes "hot" until each has a CHANGED waiting behind a send that does not complete.
     */
    private void stickClients(URI uri, DistLockEndpoints endpoint) throws Exception {
        for (int i = 0; i < 8; i++) { // shared holders of "hot", whose infos make its states large
            WsClient reader = WsClient.open(uri);
            clients.add(reader);
            reader.request("OK", "action", "connect", "param", "reader-" + i, "version", 2, "info", INFO);
            reader.request("LOCKED", "action", "lock", "param", "hot", "mode", "shared");
        }
        for (int i = 0; i < STUCK; i++) {
            RawWebSocket stuck = RawWebSocket.open(uri, 4096);
            clients.add(stuck);
            stuck.sendText(WsClient.json("action", "connect", "param", "stuck-" + i, "version", 2));
            assertThat(stuck.readText(WsClient.TIMEOUT)).contains("\"OK\"");
            stuck.sendText(WsClient.json("action", "lock", "param", "own-" + i));
            assertThat(stuck.readText(WsClient.TIMEOUT)).contains("\"LOCKED\"");
            stuck.sendText(WsClient.json("action", "watch", "param", "hot"));
            assertThat(stuck.readText(WsClient.TIMEOUT)).contains("\"OK\""); // from here on it reads nothing
        }
        WsClient toggler = WsClient.open(uri);
        clients.add(toggler);
        toggler.request("OK", "action", "connect", "param", "toggler", "version", 2, "info", INFO);

        List<Connection> stuck = endpoint.node().connections.stream()
                .filter(c -> c.current() != null && c.current().name().startsWith("stuck-")).toList();
        assertThat(stuck).hasSize(STUCK);
        Stalls stalls = new Stalls(stuck);
        await().atMost(Await.seconds(60)).pollInterval(Duration.ZERO).until(() -> {
            toggler.request("LOCKED", "action", "lock", "param", "hot", "mode", "shared");
            toggler.request("OK", "action", "unlock", "param", "hot");
            return stalls.allStuck();
        });
        assertThat(endpoint.openConnections()).isEqualTo(8 + STUCK + 1);
    }

    private static long millisToRun(Runnable r) {
        long started = System.nanoTime();
        r.run();
        return (System.nanoTime() - started) / 1_000_000;
    }

    /** Whether each connection has had a frame waiting to be sent for a second: its send in flight does not complete. */
    private static final class Stalls {
        private final List<Connection> connections;
        private final long[] since;

        Stalls(List<Connection> connections) {
            this.connections = connections;
            this.since = new long[connections.size()];
        }

        boolean allStuck() {
            long now = System.nanoTime();
            boolean all = true;
            for (int i = 0; i < since.length; i++) {
                if (connections.get(i).queuedFrames() == 0) {
                    since[i] = 0;
                } else if (since[i] == 0) {
                    since[i] = now;
                }
                all &= since[i] != 0 && now - since[i] >= 1_000_000_000L;
            }
            return all;
        }

    }
}
