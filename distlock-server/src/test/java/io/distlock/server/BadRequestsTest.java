package io.distlock.server;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Base64;
import java.util.logging.Level;

import io.distlock.testing.Await;
import io.distlock.testing.LogRecorder;
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
                    .contains("the request target is not a valid path").doesNotContain("Exception");
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
    void aHandshakeThatIsNotAGetOverHttp11WithConnectionUpgradeIs400() throws IOException {
        // Tyrus answered 500 without the Connection token, and upgraded a POST, an HTTP/1.0 request
        // and a query string it could not decode (then dropped the connection). Found by a probe.
        String headers = "Host: x\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + KEY + "\r\n";
        String[][] cases = {
            {"GET /distlock/lock HTTP/1.1\r\n" + headers + "\r\n", "Connection: Upgrade"},
            {"GET /distlock/lock HTTP/1.1\r\n" + headers + "Connection: keep-alive\r\n\r\n", "Connection: Upgrade"},
            {"POST /distlock/lock HTTP/1.1\r\n" + headers + "Connection: Upgrade\r\nContent-Length: 0\r\n\r\n", "a GET request"},
            {"GET /distlock/lock HTTP/1.0\r\n" + headers + "Connection: Upgrade\r\n\r\n", "over HTTP/1.1"},
            {"GET /distlock/lock?a=%zz HTTP/1.1\r\n" + headers + "Connection: Upgrade\r\n\r\n", "query string"},
        };
        for (String[] c : cases) {
            assertThat(send(c[0])).as(c[0].lines().findFirst().orElseThrow()).startsWith("HTTP/1.1 400 ").contains(c[1]);
        }
        // A query Tyrus cannot read as a URI (a browser sends { } | ^ unencoded): it upgraded, then dropped the connection.
        assertThat(send("GET /distlock/lock?f={x} HTTP/1.1\r\n" + headers + "Connection: Upgrade\r\n\r\n"))
                .startsWith("HTTP/1.1 400 ").contains("query string");
        // Connection may list other tokens beside upgrade, in any case, on one line or several (RFC 9110 5.3).
        assertThat(send("GET /distlock/lock HTTP/1.1\r\n" + headers + "Connection: keep-alive, UPGRADE\r\n\r\n", "\r\n\r\n"))
                .startsWith("HTTP/1.1 101 ");
        assertThat(send("GET /distlock/lock HTTP/1.1\r\n" + headers + "Connection: keep-alive\r\nConnection: Upgrade\r\n\r\n",
                "\r\n\r\n")).startsWith("HTTP/1.1 101 ");
        assertThat(send("GET /distlock/lock?token=a%20b&x=1 HTTP/1.1\r\n" + headers + "Connection: Upgrade\r\n\r\n", "\r\n\r\n"))
                .startsWith("HTTP/1.1 101 ");
        assertServing();
    }

    @Test
    void requestsAProxyMayReadAnotherWayAre400AndAnUnknownTransferCoding501AndClosed() throws IOException {
        // Grizzly read the chunked body and answered the pipelined request after it on the same
        // connection: a proxy that went by Content-Length would see another request there.
        String smuggled = "PUT /demo/docs/doc-7 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "0\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n";
        String answer = send(smuggled);
        assertThat(answer).startsWith("HTTP/1.1 400 ").contains("Connection: close"); // the chunked body is empty: not JSON
        assertThat(answer.split("HTTP/1.1 ", -1)).as("one answer, then closed: " + answer).hasSize(2);
        assertThat(send("PUT /demo/docs/doc-7 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 2\r\n\r\n{}"))
                .startsWith("HTTP/1.1 400 ");
        assertThat(send("PUT /demo/docs/doc-7 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"))
                .startsWith("HTTP/1.1 501 ").contains("only transfer coding taken is chunked");
        // A space before the colon (RFC 9112 5.1: 400): Grizzly read "transfer-encoding " as
        // another header and went by Content-Length, where a proxy may have read chunked.
        String spaced = "PUT /demo/docs/doc-7 HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding : chunked\r\n\r\n"
                + "0\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n";
        assertThat(send(spaced)).startsWith("HTTP/1.1 400 ").contains("header name is a token").contains("Connection: close");
        for (String line : new String[] {"Content-Length : 4", "Bad Header: y", "no colon\r\nX-A: b"}) {
            assertThat(send("GET /health HTTP/1.1\r\nHost: x\r\n" + line + "\r\nConnection: close\r\n\r\nabcd")).as(line)
                    .startsWith("HTTP/1.1 400 ").contains("header name is a token");
        }
        assertThat(send("GET /health HTTP/1.1\r\nHost: x\r\nHost: y\r\nConnection: close\r\n\r\n"))
                .startsWith("HTTP/1.1 400 ").contains("one Host header");
        // Chunked must be the last coding, and applied once: Grizzly read these as chunked.
        for (String codings : new String[] {"chunked, gzip", "chunked, chunked", "chunked\r\nTransfer-Encoding: gzip"}) {
            assertThat(send("PUT /demo/docs/doc-7 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + codings + "\r\n\r\n0\r\n\r\n"))
                    .as(codings).startsWith("HTTP/1.1 400 ").contains("last transfer coding is chunked").contains("Connection: close");
        }
        assertServing();
    }

    @Test
    void smallerMismatchesOfTheHttpSide() throws IOException {
        // A malformed Accept-Encoding was a 500 (an empty split); the file is served, not gzipped.
        String js = send("GET /distlock/distlock.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: ;\r\nConnection: close\r\n\r\n");
        assertThat(js).startsWith("HTTP/1.1 200 ").doesNotContain("Content-Encoding: gzip");
        // Nothing lives below /health and /metrics (Grizzly mapped /health/x to /health).
        for (String path : new String[] {"/health/x", "/metrics/x"}) {
            assertThat(send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).as(path).startsWith("HTTP/1.1 404 ");
        }
        for (String path : new String[] {"/health/", "/%68ealth", "/metrics/"}) { // served before, served still
            assertThat(send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).as(path).startsWith("HTTP/1.1 200 ");
        }
        // A file that does not exist is 404 whatever the method (it was 405 for a POST).
        assertThat(send("POST /demo/nope HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
                .startsWith("HTTP/1.1 404 ");
        // An upgrade to a path with no endpoint gets the server's 404 page, its length right (it
        // was given Content-Length: 0, and the page followed).
        String notFound = send("GET /nothing HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + KEY + "\r\n\r\n");
        assertThat(notFound).startsWith("HTTP/1.1 404 ");
        java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)Content-Length: (\\d+)").matcher(notFound);
        int body = notFound.length() - notFound.indexOf("\r\n\r\n") - 4;
        if (length.find()) {
            assertThat(Integer.parseInt(length.group(1))).as("Content-Length against the body: " + notFound).isEqualTo(body);
        }
        assertServing();
    }

    @Test
    void aHandshakeWithoutAVersionIs426WithItsReasonAndTheVersionToUse() throws IOException {
        String answer = send("GET /distlock/lock HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: " + KEY + "\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 426 Upgrade Required\r\n").contains("Sec-WebSocket-Version: 13");
        // A foreign Origin's 403 ends too: send reads to the close, well before the HTTP deadline.
        long sent = System.nanoTime();
        assertThat(send("GET /distlock/lock HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + KEY + "\r\nOrigin: http://evil.example\r\n\r\n"))
                .startsWith("HTTP/1.1 403 ").contains("Content-Length: 0");
        assertThat(Duration.ofNanos(System.nanoTime() - sent)).isLessThan(Duration.ofSeconds(5));
        assertServing();
    }

    @Test
    void aRequestHeadOverTheLimitIs431AndSaysSoInTheLog() throws IOException {
        // Grizzly answered an empty 400 and logged nothing: a browser whose cookies outgrew the
        // limit could not connect, and nobody could tell why.
        try (LogRecorder log = LogRecorder.of(RefusalFilter.class)) {
            String handshake = "GET /distlock/lock HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + KEY + "\r\n";
            assertThat(send(handshake + "Cookie: a=" + "x".repeat(7_000) + "\r\n\r\n", "\r\n\r\n")).startsWith("HTTP/1.1 101 ");
            assertThat(send(handshake + "Cookie: a=" + "x".repeat(8_200) + "\r\n\r\n"))
                    .startsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n");
            assertThat(send("GET /health HTTP/1.1\r\nHost: x\r\n" + "X-A: b\r\n".repeat(101) + "\r\n"))
                    .as("more than 100 headers").startsWith("HTTP/1.1 431 ");
            // Other malformed heads stay 400s.
            assertThat(send("GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")).startsWith("HTTP/1.1 400 ");
            assertThat(log.messages(Level.WARNING)).anySatisfy(m -> assertThat(m)
                    .contains("431").contains("over 8192 bytes").contains("--max-request-head-bytes"));
        }
        assertServing();

        // The limit is a setting.
        try (DistLockServer roomy = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url())
                .maxRequestHeadBytes(32_768).build());
             Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", roomy.pageUri().getPort()), 5_000);
            socket.setSoTimeout((int) Await.seconds(10).toMillis());
            socket.getOutputStream().write(("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: a=" + "x".repeat(20_000)
                    + "\r\n\r\n").getBytes(US_ASCII));
            assertThat(new String(socket.getInputStream().readAllBytes(), US_ASCII)).startsWith("HTTP/1.1 200 ");
        }
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
