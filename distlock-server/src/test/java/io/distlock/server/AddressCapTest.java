package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;

/**
 * Issue 17: one client address holds at most {@code --max-connections-per-address} connections
 * of any kind (the default, 256, here), counted at accept: the surplus is closed at once and
 * counted, while another address (127.0.0.1, the browser) still connects and locks. A trusted
 * proxy is not capped. The HTTP deadline is long here, so only the cap closes anything.
 */
class AddressCapTest {

    private static final int CAP = ServerOptions.defaults().maxConnectionsPerAddress();
    private static final int SURPLUS = 20;

    @Test
    void oneAddressGetsItsCapAndNoMoreWhileAnotherStillConnectsAndLocks() throws IOException {
        assertThat(CAP).isEqualTo(256);
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0)
                     .redisUrl(redis.url()).lease(Duration.ofSeconds(5)).httpTimeout(Duration.ofSeconds(60)).build())) {
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", server.port());
            try (SlowClients held = SlowClients.open(address, List.of("127.0.0.2"), CAP, SlowClients.Kind.PARTIAL_HEAD)) {
                await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(100))
                        .until(() -> Http.metric(server.pageUri(), "distlock_server_connections") >= CAP);
                try (SlowClients surplus = SlowClients.open(address, List.of("127.0.0.2"), SURPLUS, SlowClients.Kind.PARTIAL_HEAD)) {
                    await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(50))
                            .until(() -> surplus.closedCount() == SURPLUS);
                    assertThat(surplus.timesToClose().get(SURPLUS - 1)).as("closed at accept").isLessThan(Await.seconds(2));
                    assertThat(held.closedCount()).as("the first %d stay", CAP).isZero();
                    assertThat(Http.metric(server.pageUri(), "distlock_server_connections_refused_total{reason=\"address\"}"))
                            .isEqualTo(SURPLUS);

                    // another address: a browser connects and locks, the page answers
                    try (WsClient browser = WsClient.connect(server.webSocketUri())) {
                        assertThat(browser.request("{\"action\":\"connect\",\"param\":\"browser\"}").path("status").asText())
                                .isEqualTo("OK");
                        assertThat(browser.request("{\"action\":\"lock\",\"param\":\"doc\"}").path("status").asText())
                                .isEqualTo("LOCKED");
                    }
                    assertThat(Http.get(server.pageUri().resolve("/health")).statusCode()).isEqualTo(200);
                }
                assertThat(healthFrom("127.0.0.2", server.port())).as("still full").isEqualTo(-1);
                held.clients().get(0).channel.close();
                // one closed: the address may connect again
                await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(50))
                        .until(() -> Http.metric(server.pageUri(), "distlock_server_connections") <= CAP);
                assertThat(healthFrom("127.0.0.2", server.port())).isEqualTo(200);
            }
        }
    }

    /** The status of {@code GET /health} sent from the local address {@code from}, or -1 if the server closes first. */
    private static int healthFrom(String from, int port) throws IOException {
        try (Socket socket = new Socket()) {
            socket.bind(new InetSocketAddress(from, 0));
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout((int) Await.seconds(10).toMillis());
            try {
                socket.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                String status = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                return status.startsWith("HTTP/1.1 ") ? Integer.parseInt(status.substring(9, 12)) : -1;
            } catch (SocketException e) {
                return -1; // reset: closed at accept
            }
        }
    }

    @Test
    void aTrustedProxyIsNotCappedOthersAre() {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0)
                     .redisUrl(redis.url()).lease(Duration.ofSeconds(5)).httpTimeout(Duration.ofSeconds(60))
                     .maxConnectionsPerAddress(5).trustedProxies(List.of("127.0.0.3")).build())) {
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", server.port());
            try (SlowClients proxy = SlowClients.open(address, List.of("127.0.0.3"), 20, SlowClients.Kind.PARTIAL_HEAD);
                 SlowClients other = SlowClients.open(address, List.of("127.0.0.4"), 8, SlowClients.Kind.PARTIAL_HEAD)) {
                await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> other.closedCount() == 3);
                assertThat(Http.metric(server.pageUri(), "distlock_server_connections")).isGreaterThanOrEqualTo(25);
                assertThat(proxy.closedCount()).isZero();
                assertThat(other.closedCount()).as("which ones is a race of Grizzly's selector threads").isEqualTo(3);
            }
        }
    }
}
