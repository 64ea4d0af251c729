package io.distlock.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;

/**
 * The Jetty setting docs/operations.md gives embedders against unfinished requests (issue 17):
 * the connector's idle timeout closes a connection that stopped in the middle of its request
 * head, and an idle keep-alive connection; WebSockets that are merely quiet stay open. And
 * what it does not do, so that the documentation stays true: it counts silence, so a client
 * that trickles a header line more often than the timeout is not closed by it; what ends such a
 * head is Jetty's request-header limit (8 KiB, then 431).
 */
class JettyTimeoutTest {

    private static final Duration IDLE = Duration.ofSeconds(2);

    @Test
    void anUnfinishedHeadAndAnIdleKeepAliveAreClosedQuietWebSocketsStay() throws Exception {
        int port = Browser.freePort();
        try (RedisProcess redis = RedisProcess.start();
             JettyExample example = JettyExample.start(redis.url(), port, IDLE);
             Browser quiet = new Browser(URI.create("ws://127.0.0.1:" + port + "/distlock/lock"))) {
            assertThat(quiet.request("connect", "quiet").get("status").asText()).isEqualTo("OK");

            try (Socket partial = connect(port)) {
                partial.getOutputStream().write(ascii("GET /distlock/lock HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
                long start = System.nanoTime();
                assertThat(partial.getInputStream().read()).as("closed without an answer").isEqualTo(-1);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(IDLE.minusMillis(500), IDLE.plus(Await.seconds(5)));
            }

            try (Socket keepAlive = connect(port)) {
                keepAlive.getOutputStream().write(ascii("GET /nothing-here HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
                assertThat(readHead(keepAlive.getInputStream())).startsWith("HTTP/1.1 404");
                long start = System.nanoTime();
                assertThat(drainToEnd(keepAlive.getInputStream())).as("then closed").isTrue();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(IDLE.minusMillis(500), IDLE.plus(Await.seconds(5)));
            }

            // quiet for longer than the HTTP idle timeout, and still served
            assertThat(quiet.request("lock", "doc").get("status").asText()).isEqualTo("LOCKED");
        }
    }

    @Test
    void jettysIdleTimeoutDoesNotStopAClientThatTrickles() throws Exception {
        int port = Browser.freePort();
        try (RedisProcess redis = RedisProcess.start();
             JettyExample example = JettyExample.start(redis.url(), port, IDLE);
             Socket trickle = connect(port)) {
            OutputStream out = trickle.getOutputStream();
            out.write(ascii("GET /distlock/lock HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
            trickle.setSoTimeout(500);
            long end = System.nanoTime() + IDLE.multipliedBy(3).toNanos();
            int line = 0;
            while (System.nanoTime() < end) {
                out.write(ascii("X-Slow-" + line++ + ": still coming\r\n")); // every half second
                try {
                    assertThat(trickle.getInputStream().read()).as("closed or answered after %d lines", line).isNotEqualTo(-1);
                    throw new AssertionError("answered before the head was finished");
                } catch (SocketTimeoutException e) {
                    // still open and waiting: what this test shows
                }
            }
            assertThat(line).isGreaterThan(4);
        }
    }

    @Test
    void whatEndsATrickledHeadInJettyIsItsHeaderSizeLimit() throws Exception {
        int port = Browser.freePort();
        try (RedisProcess redis = RedisProcess.start();
             JettyExample example = JettyExample.start(redis.url(), port, IDLE);
             Socket trickle = connect(port)) {
            OutputStream out = trickle.getOutputStream();
            out.write(ascii("GET /distlock/lock HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
            trickle.setSoTimeout(200);
            String line = ": " + "x".repeat(1000) + "\r\n";
            for (int i = 0; i < 20; i++) { // 1 KB every 200 ms: well within the idle timeout
                try {
                    out.write(ascii("X-Slow-" + i + line));
                } catch (IOException e) {
                    break; // closed after the refusal
                }
                try {
                    int first = trickle.getInputStream().read();
                    assertThat(first).as("answered, not just closed").isNotEqualTo(-1);
                    String status = (char) first + readHead(trickle.getInputStream()).lines().findFirst().orElse("");
                    assertThat(status).as("after %d KB of header", i + 1).startsWith("HTTP/1.1 431");
                    assertThat(i).isBetween(6, 9); // Jetty's 8 KiB request header limit
                    return;
                } catch (SocketTimeoutException e) {
                    // not yet
                }
            }
            throw new AssertionError("Jetty never refused the growing head");
        }
    }

    private static Socket connect(int port) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.setSoTimeout((int) IDLE.plus(Await.seconds(10)).toMillis());
        return socket;
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed in the middle of a response: " + head);
            }
            head.append((char) b);
        }
        return head.toString();
    }

    /** Reads the rest of a response body until the server closes; true when it does. */
    private static boolean drainToEnd(InputStream in) throws IOException {
        while (in.read() >= 0) {
            // the 404's body
        }
        return true;
    }
}
