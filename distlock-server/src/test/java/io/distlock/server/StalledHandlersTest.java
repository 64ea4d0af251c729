package io.distlock.server;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;

/**
 * Found by review (2026-12-04): the server's HTTP handlers ran on Grizzly's selector threads
 * (the guard's I/O strategy made Grizzly drop the worker pool), so a request body that never
 * came, or a demo-store read waiting for a silent Redis, froze every connection that selector
 * served: WebSockets went unanswered, and so did {@code /health} and handshakes. And a body that
 * never came was not bound by the HTTP deadline, which ends with the request head. Real sockets
 * on loopback, a real Redis.
 */
class StalledHandlersTest {

    private static final Duration DEADLINE = Duration.ofSeconds(2);
    /** More than the selector threads, and than the HTTP worker pool (8). */
    private static final int STALLED = 12;

    @Test
    void requestBodiesThatNeverComeHoldNoThreadAndAreAnswered408AtTheDeadline() throws IOException {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = start(redis);
             WsClient before = WsClient.connect(server.webSocketUri())) {
            before.request("{\"action\":\"connect\",\"param\":\"before\"}");
            List<Socket> stalled = new ArrayList<>();
            try {
                long sent = System.nanoTime();
                for (int i = 0; i < STALLED; i++) {
                    Socket socket = connect(server);
                    stalled.add(socket);
                    socket.getOutputStream().write(("PUT /demo/docs/doc-7 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            + "Content-Length: 20000\r\n\r\n{").getBytes(US_ASCII));
                }
                // Meanwhile the node serves everyone else.
                assertThat(Http.get(server.pageUri().resolve("/health")).statusCode()).isEqualTo(200);
                assertThat(before.request("{\"action\":\"lock\",\"param\":\"doc\"}").path("status").asText()).isEqualTo("LOCKED");
                try (WsClient browser = WsClient.connect(server.webSocketUri())) {
                    assertThat(browser.request("{\"action\":\"connect\",\"param\":\"browser\"}").path("status").asText()).isEqualTo("OK");
                }
                // Each stalled request is answered 408 at the deadline, and its connection closed.
                for (Socket socket : stalled) {
                    String answer = new String(socket.getInputStream().readAllBytes(), US_ASCII);
                    assertThat(answer).startsWith("HTTP/1.1 408").contains("REQUEST_TIMEOUT").doesNotContain("Exception");
                    if (socket == stalled.get(0)) {
                        assertThat(Duration.ofNanos(System.nanoTime() - sent)).as("not before the deadline")
                                .isGreaterThanOrEqualTo(DEADLINE.minusMillis(100));
                    }
                }
                assertThat(Duration.ofNanos(System.nanoTime() - sent)).isLessThan(DEADLINE.plus(Await.seconds(10)));
            } finally {
                for (Socket socket : stalled) {
                    socket.close();
                }
            }
        }
    }

    /**
     * Found by a probe (2026-12-04): a client that pipelined requests for a file and read no
     * answer held an HTTP worker in the file's write once the connection's unsent answers passed
     * Grizzly's limit, and each timed-out write let the next request in; eight such connections
     * from one address stalled every HTTP request, {@code /health} included, for as long as
     * they stayed.
     */
    @Test
    void clientsThatPipelineRequestsAndReadNoAnswerHoldNoThreadAndAreClosed() throws IOException {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = start(redis)) {
            URI page = server.pageUri();
            List<Socket> stalled = new ArrayList<>();
            try {
                byte[] requests = "GET /distlock/distlock.js HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3_000).getBytes(US_ASCII);
                for (int i = 0; i < STALLED; i++) {
                    Socket socket = new Socket();
                    socket.setReceiveBufferSize(4096); // before connecting: the window it offers
                    socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
                    stalled.add(socket);
                    Thread writer = new Thread(() -> {
                        try {
                            socket.getOutputStream().write(requests); // blocks once the server stops reading
                        } catch (IOException closedByTheServer) {
                            // expected
                        }
                    });
                    writer.setDaemon(true);
                    writer.start();
                }
                await().atMost(Await.seconds(30)).until(() -> Http.metric(page, "distlock_server_http_unread_total") >= STALLED);
                assertThat(Http.get(page.resolve("/health")).statusCode()).isEqualTo(200);
                assertThat(Http.get(page.resolve("/distlock/distlock.js")).statusCode()).isEqualTo(200);
                await().atMost(Await.seconds(10)).until(() -> Http.metric(page, "distlock_server_connections") <= 1); // the metrics request's own
            } finally {
                for (Socket socket : stalled) {
                    socket.close();
                }
            }
        }
    }

    /**
     * A read of the demo store waits up to 2 s for Redis on the thread that serves it: a worker
     * of the HTTP pool, never a selector thread, which would keep every WebSocket it serves
     * waiting meanwhile. (The server runs in this JVM, so its threads can be looked at.)
     */
    @Test
    void aBodyThatNeverComesIsAnswered408AndItsConnectionClosedThen() throws IOException {
        // It was closed only when the HTTP deadline ran out again after the 408 (found by a probe).
        Duration deadline = Duration.ofSeconds(3);
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url())
                     .httpTimeout(deadline).build());
             Socket socket = connect(server)) {
            long sent = System.nanoTime();
            socket.getOutputStream().write("PUT /demo/docs/doc-7 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"to".getBytes(US_ASCII));
            String answer = new String(socket.getInputStream().readAllBytes(), US_ASCII); // to the close
            Duration closedAfter = Duration.ofNanos(System.nanoTime() - sent);
            assertThat(answer).startsWith("HTTP/1.1 408").contains("Connection: close");
            assertThat(closedAfter).as("closed with the 408, not a deadline later").isLessThan(deadline.multipliedBy(3).dividedBy(2));
        }
    }

    @Test
    void demoStoreReadsWaitingForASilentRedisRunOnTheHttpPoolNotOnASelector() throws IOException {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = start(redis);
             WsClient client = WsClient.connect(server.webSocketUri())) {
            client.request("{\"action\":\"connect\",\"param\":\"ann\",\"version\":2}");
            List<Socket> reading = new ArrayList<>();
            redis.pause();
            try {
                for (int i = 0; i < 4; i++) {
                    Socket socket = connect(server);
                    reading.add(socket);
                    socket.getOutputStream().write("GET /demo/docs HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3).getBytes(US_ASCII));
                }
                List<String> waiting = await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(20))
                        .until(StalledHandlersTest::threadsReadingTheDemoStore, names -> !names.isEmpty());
                assertThat(waiting).allSatisfy(name -> assertThat(name).startsWith("distlock-http"));
                assertThat(client.request("{\"action\":\"ping\"}").path("status").asText()).isEqualTo("OK");
                // The reads are answered too, 503 each, once Redis stays silent for their wait.
                InputStream first = reading.get(0).getInputStream();
                assertThat(new String(first.readNBytes(12), US_ASCII)).isEqualTo("HTTP/1.1 503");
            } finally {
                redis.resume();
                for (Socket socket : reading) {
                    socket.close();
                }
            }
        }
    }

    /** The names of the threads in the demo store's read now. */
    private static List<String> threadsReadingTheDemoStore() {
        List<String> names = new ArrayList<>();
        Thread.getAllStackTraces().forEach((thread, stack) -> {
            for (StackTraceElement frame : stack) {
                if (frame.getClassName().equals(FencedDocs.class.getName()) && frame.getMethodName().equals("list")) {
                    names.add(thread.getName());
                    return;
                }
            }
        });
        return names;
    }

    private static DistLockServer start(RedisProcess redis) {
        return DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url())
                .lease(Duration.ofSeconds(5)).httpTimeout(DEADLINE).build());
    }

    private static Socket connect(DistLockServer server) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
        socket.setSoTimeout((int) Await.seconds(30).toMillis());
        return socket;
    }
}
