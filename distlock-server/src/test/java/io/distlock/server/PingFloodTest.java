package io.distlock.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pings and pongs are paced ({@link FrameHeaderGuard}). Found by review (2026-12): Tyrus answers
 * every ping with a pong written into Grizzly's write queue, which has no bound; a client that sent 286 MB of pings and read nothing grew the
 * node's heap from 14 to 980 MB, and kept it after the endpoint closed the WebSocket, until
 * the client disconnected. Raw sockets with a small receive buffer, to be a client that does
 * not read; the server runs in this JVM, so its heap is this JVM's.
 */
class PingFloodTest {

    private static final long MAX_FLOOD_BYTES = 50L << 20;
    private static RedisProcess redis;
    private static DistLockServer server;

    @BeforeAll
    static void start() {
        redis = RedisProcess.start();
        server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url())
                .lease(Duration.ofSeconds(2)).pingInterval(Duration.ofSeconds(1))
                .build());
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
    void aClientThatFloodsPingsAndNeverReadsIsDroppedWithinSecondsAndTheHeapStaysPut() throws IOException {
        try (WsClient bystander = WsClient.connect(server.webSocketUri())) {
            // The first request of a node just started may wait for Redis's scripts to load, on a loaded machine.
            assertThat(bystander.send("{\"action\":\"connect\",\"param\":\"bystander\"}").next(Await.seconds(30)).path("status").asText())
                    .isEqualTo("OK");
            JsonNode locked = bystander.request("{\"action\":\"lock\",\"param\":\"doc\"}");
            assertThat(locked.path("status").asText()).isEqualTo("LOCKED");
            long token = locked.path("token").asLong();
            long heapBefore = heap();

            byte[] ping = RawWebSocket.frame(0x89, true, new byte[125]);
            ByteArrayOutputStream batch = new ByteArrayOutputStream();
            for (int i = 0; i < 1000; i++) {
                batch.writeBytes(ping);
            }
            byte[] pings = batch.toByteArray();
            long sent = 0;
            IOException dropped = null;
            long deadline = System.nanoTime() + Await.seconds(20).toNanos();
            try (Socket flooder = upgraded(4096)) {
                sendConnect(flooder, "flooder");
                OutputStream out = flooder.getOutputStream();
                try {
                    while (sent < MAX_FLOOD_BYTES && System.nanoTime() - deadline < 0) {
                        out.write(pings); // never reads: the pongs pile up on the node, unless it stops them
                        sent += pings.length;
                    }
                } catch (IOException e) {
                    dropped = e;
                }
            }
            assertThat(dropped).as("the node dropped the flooder (after %d bytes of pings)", sent).isNotNull();
            assertThat(sent).isLessThan(MAX_FLOOD_BYTES);
            long grown = heap() - heapBefore;
            // Before the guard paced pings, the heap grew by about 3.4 times what was sent.
            assertThat(grown).as("heap grown, after %d bytes of pings", sent).isLessThan(32L << 20);

            // The bystander keeps its lock and its token; a newcomer waits.
            await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(100))
                    .until(() -> Http.metric(server.pageUri(), "distlock_websocket_connections") == 1);
            assertThat(bystander.isOpen()).isTrue();
            JsonNode again = bystander.request("{\"action\":\"lock\",\"param\":\"doc\"}");
            assertThat(again.path("status").asText()).isEqualTo("LOCKED");
            assertThat(again.path("token").asLong()).isEqualTo(token);
            try (WsClient newcomer = WsClient.connect(server.webSocketUri())) {
                newcomer.request("{\"action\":\"connect\",\"param\":\"newcomer\"}");
                JsonNode waits = newcomer.request("{\"action\":\"lock\",\"param\":\"doc\"}");
                assertThat(waits.path("status").asText()).isEqualTo("WAIT");
                assertThat(waits.path("holder").asText()).isEqualTo("bystander");
            }
            bystander.request("{\"action\":\"unlock\",\"param\":\"doc\"}");
        }
    }

    @Test
    void aClientThatReadsButPingsTooOftenIsClosedWith1008() throws IOException {
        try (Socket socket = upgraded(64 * 1024)) {
            sendConnect(socket, "pinger");
            assertThat(readText(socket.getInputStream())).contains("\"status\":\"OK\"");
            ByteArrayOutputStream pings = new ByteArrayOutputStream();
            for (int i = 0; i < 100; i++) { // in one write: far past the burst of 20
                pings.writeBytes(RawWebSocket.frame(0x89, true, new byte[] {(byte) i}));
            }
            socket.getOutputStream().write(pings.toByteArray());
            RawWebSocket.Frame close = RawWebSocket.readUntil(socket.getInputStream(), 8);
            int code = ((close.payload()[0] & 0xff) << 8) | (close.payload()[1] & 0xff);
            assertThat(code).isEqualTo(1008);
            assertThat(new String(close.payload(), 2, close.payload().length - 2, UTF_8))
                    .isEqualTo("more than 10 pings and pongs a second");
        }
    }

    @Test
    void aClientThatAnswersPingsAndPingsNowAndThenIsServed() {
        ScheduledExecutorService pacer = Executors.newSingleThreadScheduledExecutor();
        try (WsClient client = WsClient.connect(server.webSocketUri())) {
            client.request("{\"action\":\"connect\",\"param\":\"keepalive\"}");
            JsonNode locked = client.request("{\"action\":\"lock\",\"param\":\"kept\"}");
            long token = locked.path("token").asLong();
            // 8 pings a second for 5 s (40: twice the burst, so the allowance must refill), while
            // the JDK's client answers the node's pings (one a second) by itself.
            AtomicInteger pinged = new AtomicInteger();
            pacer.scheduleAtFixedRate(() -> {
                if (pinged.get() < 40) {
                    client.ping();
                    pinged.incrementAndGet();
                }
            }, 0, 125, TimeUnit.MILLISECONDS);
            await().atMost(Await.seconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> pinged.get() == 40);
            assertThat(client.isOpen()).isTrue();
            JsonNode again = client.request("{\"action\":\"lock\",\"param\":\"kept\"}");
            assertThat(again.path("status").asText()).isEqualTo("LOCKED");
            assertThat(again.path("token").asLong()).isEqualTo(token);
        } finally {
            pacer.shutdownNow();
        }
    }

    /** The JVM's heap in use after a collection: the server's, as it runs in this JVM. */
    private static long heap() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static Socket upgraded(int receiveBuffer) throws IOException {
        return RawWebSocket.upgraded(server.port(), receiveBuffer);
    }

    private static void sendConnect(Socket socket, String name) throws IOException {
        socket.getOutputStream().write(RawWebSocket.text("{\"action\":\"connect\",\"param\":\"" + name + "\"}"));
    }

    private static String readText(InputStream in) throws IOException {
        return new String(RawWebSocket.readUntil(in, 1).payload(), UTF_8);
    }
}
