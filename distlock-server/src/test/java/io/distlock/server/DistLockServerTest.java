package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** The server started in this JVM on loopback: page, static files, WebSocket, origins, startup errors, shutdown. */
class DistLockServerTest {

    private static RedisProcess redis;
    /**
     * HTTP/1.1 as browsers speak it to this server: Java's default HTTP/2 offer ({@code Upgrade: h2c})
     * makes Grizzly answer static files without their content headers.
     */
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @BeforeAll
    static void startRedis() {
        redis = RedisProcess.start();
    }

    @AfterAll
    static void stopRedis() {
        if (redis != null) {
            redis.close();
        }
    }

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    private DistLockServer start(ServerOptions.Builder options) {
        DistLockServer server = DistLockServer.start(options.build());
        cleanup.add(server);
        return server;
    }

    private static ServerOptions.Builder onLoopback() {
        return ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url()).lease(Duration.ofSeconds(2));
    }

    private WsClient client(DistLockServer server, String origin) {
        WsClient client = WsClient.connect(server.webSocketUri(), origin);
        cleanup.add(client);
        return client;
    }

    private static HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesThePageThatSaysWhichNodeAndHowToConnect() throws Exception {
        DistLockServer server = start(onLoopback());
        assertThat(server.pageUri()).isEqualTo(URI.create("http://127.0.0.1:" + server.port() + "/"));

        HttpResponse<String> page = get(server.pageUri());

        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
        assertThat(page.body())
                .contains("<title>distlock: who is editing</title>")
                .contains(server.nodeId())
                .contains("127.0.0.1:" + server.port())
                .contains("ws://127.0.0.1:" + server.port() + "/distlock/lock")
                .contains("{\"action\":\"connect\"")
                .doesNotContain("{{");
        assertThat(get(URI.create(server.pageUri() + "index.html")).statusCode()).isEqualTo(200);
    }

    @Test
    void servesTheJavaScriptClientFromItsWebjarAndA404ForTheRest() throws Exception {
        DistLockServer server = start(onLoopback());

        HttpResponse<String> js = get(server.pageUri().resolve("/distlock/distlock.js"));

        assertThat(js.statusCode()).isEqualTo(200);
        assertThat(js.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).contains("javascript"));
        assertThat(js.body()).containsPattern("export \\{[^}]*\\bDistLockClient\\b|export class DistLockClient");
        assertThat(get(server.pageUri().resolve("/no/such/page")).statusCode()).isEqualTo(404);
        HttpResponse<String> escape = get(URI.create(server.pageUri() + "distlock/%2e%2e/%2e%2e/etc/passwd"));
        assertThat(escape.statusCode()).isGreaterThanOrEqualTo(400); // Grizzly refuses such paths itself (500, empty)
        assertThat(escape.body()).doesNotContain("root:");
        // the endpoint's path answers plain HTTP with 404, not with an error page full of internals
        assertThat(get(server.pageUri().resolve("/distlock/lock")).statusCode()).isEqualTo(404);
    }

    @Test
    void aSessionLocksAndAnotherWaitsAndIsToldWhenItIsFree() {
        DistLockServer server = start(onLoopback());
        WsClient alice = client(server, null);
        WsClient bob = client(server, null);

        assertThat(alice.request("{\"action\":\"connect\",\"param\":\"alice\",\"id\":1}").path("status").asText()).isEqualTo("OK");
        assertThat(bob.request("{\"action\":\"connect\",\"param\":\"bob\"}").path("status").asText()).isEqualTo("OK");
        JsonNode locked = alice.request("{\"action\":\"lock\",\"param\":\"doc-42\",\"id\":2}");
        assertThat(locked.path("status").asText()).isEqualTo("LOCKED");
        assertThat(locked.path("id").asInt()).isEqualTo(2);
        JsonNode waiting = bob.request("{\"action\":\"lock\",\"param\":\"doc-42\"}");
        assertThat(waiting.path("status").asText()).isEqualTo("WAIT");
        assertThat(waiting.path("holder").asText()).isEqualTo("alice");

        assertThat(alice.request("{\"action\":\"unlock\",\"param\":\"doc-42\"}").path("status").asText()).isEqualTo("OK");
        JsonNode retry = bob.next();
        assertThat(retry.path("status").asText()).isEqualTo("RETRY");
        assertThat(retry.path("lock").asText()).isEqualTo("doc-42");
        assertThat(bob.request("{\"action\":\"lock\",\"param\":\"doc-42\"}").path("token").asLong())
                .isGreaterThan(locked.path("token").asLong());
    }

    @Test
    void hideHolderLeavesTheHolderOutOfWait() {
        DistLockServer server = start(onLoopback().hideHolder(true));
        WsClient alice = client(server, null);
        WsClient bob = client(server, null);
        alice.request("{\"action\":\"connect\",\"param\":\"alice\"}");
        bob.request("{\"action\":\"connect\",\"param\":\"bob\"}");
        alice.request("{\"action\":\"lock\",\"param\":\"secret-doc\"}");

        JsonNode waiting = bob.request("{\"action\":\"lock\",\"param\":\"secret-doc\"}");

        assertThat(waiting.path("status").asText()).isEqualTo("WAIT");
        assertThat(waiting.has("holder")).isFalse();
    }

    @Test
    void byDefaultOnlyTheSameOriginAndClientsWithoutOriginMayConnect() {
        DistLockServer server = start(onLoopback());
        URI ws = server.webSocketUri();
        int port = server.port();

        assertThat(WsClient.handshakeStatus(ws, "http://127.0.0.1:" + port)).as("the page's own origin").isEqualTo(101);
        assertThat(WsClient.handshakeStatus(ws, null)).as("no Origin: not a browser").isEqualTo(101);
        // a browser that reached the node by another name (the machine's, or a balancer's that keeps Host)
        assertThat(WsClient.rawHandshakeStatus(ws, Map.of("Host", "locks.example:" + port, "Origin", "http://locks.example:" + port)))
                .as("same origin under another name").isEqualTo(101);
        assertThat(WsClient.handshakeStatus(ws, "http://evil.example")).isEqualTo(403);
        assertThat(WsClient.handshakeStatus(ws, "http://127.0.0.1:" + (port == 65_535 ? 1 : port + 1))).isEqualTo(403);
        assertThat(WsClient.rawHandshakeStatus(ws, Map.of("Host", "locks.example:" + port, "Origin", "http://evil.example")))
                .isEqualTo(403);
    }

    @Test
    void configuredOriginsAreAllowedBesidesTheSameOriginAndAStarAllowsAny() {
        DistLockServer server = start(onLoopback().allowedOrigins(List.of("https://app.example.com")));
        URI ws = server.webSocketUri();

        assertThat(WsClient.handshakeStatus(ws, "https://app.example.com")).isEqualTo(101);
        assertThat(WsClient.handshakeStatus(ws, "http://127.0.0.1:" + server.port())).isEqualTo(101);
        assertThat(WsClient.handshakeStatus(ws, "http://evil.example")).isEqualTo(403);

        DistLockServer open = start(onLoopback().allowedOrigins(List.of("*")));
        assertThat(WsClient.handshakeStatus(open.webSocketUri(), "http://evil.example")).isEqualTo(101);
    }

    /**
     * DNS rebinding: a page on attacker.example:PORT whose name the attacker points at this node
     * sends that name as both Host and Origin, which the same-origin rule takes for the node's own.
     */
    @Test
    void withAllowedHostsAReboundNameIsRefusedAtTheHandshakeAndTheDemoSave() throws Exception {
        DistLockServer open = start(onLoopback().keyPrefix("hosts-open"));
        String rebound = "attacker.example:" + open.port();
        assertThat(WsClient.rawHandshakeStatus(open.webSocketUri(), Map.of("Host", rebound, "Origin", "http://" + rebound)))
                .as("without --allowed-host: the rebound page gets in, as before").isEqualTo(101);

        DistLockServer server = start(onLoopback().keyPrefix("hosts-listed").allowedHosts(List.of("127.0.0.1", "locks.example:1234")));
        URI ws = server.webSocketUri();
        int port = server.port();
        rebound = "attacker.example:" + port;
        assertThat(WsClient.rawHandshakeStatus(ws, Map.of("Host", rebound, "Origin", "http://" + rebound)))
                .as("the rebound page").isEqualTo(403);
        assertThat(WsClient.rawHandshakeStatus(ws, Map.of("Host", rebound))).as("nor without Origin").isEqualTo(403);
        assertThat(WsClient.handshakeStatus(ws, "http://127.0.0.1:" + port)).as("listed without a port: any port").isEqualTo(101);
        assertThat(WsClient.rawHandshakeStatus(ws, Map.of("Host", "LOCKS.example:1234", "Origin", "http://locks.example:1234")))
                .as("listed with its port").isEqualTo(101);
        assertThat(WsClient.rawHandshakeStatus(ws, Map.of("Host", "locks.example:1235", "Origin", "http://locks.example:1235")))
                .as("listed with another port").isEqualTo(403);
        assertThat(Http.metric(server.pageUri(), "distlock_websocket_handshakes_refused_total{reason=\"host\"}")).isEqualTo(3.0);

        String save = "{\"token\": 5, \"text\": \"rebound\"}";
        assertThat(rawPut(server, rebound, "/demo/docs/doc-7", save)).as("the demo save from the rebound page").startsWith("HTTP/1.1 403");
        assertThat(Http.get(server.pageUri().resolve("/demo/docs")).body()).doesNotContain("rebound");
        assertThat(rawPut(server, "127.0.0.1:" + port, "/demo/docs/doc-7", save)).startsWith("HTTP/1.1 200");
        assertThat(rawPut(open, rebound, "/demo/docs/doc-7", save)).as("without --allowed-host, as before").startsWith("HTTP/1.1 200");
    }

    /** A PUT with a Host of our choosing (Java's HTTP client sets its own); the response as text. */
    private static String rawPut(DistLockServer server, String host, String path, String body) throws IOException {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout((int) Await.seconds(10).toMillis());
            byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            String head = "PUT " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: "
                    + bytes.length + "\r\nConnection: close\r\n\r\n";
            socket.getOutputStream().write(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
            return new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    @Test
    void pastMaxConnectionsAHandshakeGets503UntilAConnectionCloses() {
        DistLockServer server = start(onLoopback().maxConnections(1));
        URI ws = server.webSocketUri();
        WsClient first = client(server, null);
        // a reply means the endpoint has opened (and counted) the connection
        assertThat(first.request("{\"action\":\"connect\",\"param\":\"first\"}").path("status").asText()).isEqualTo("OK");

        assertThat(WsClient.handshakeStatus(ws, null)).as("the second connection").isEqualTo(503);
        assertThat(WsClient.rawHandshakeStatus(ws, Map.of())).as("the second connection, by hand").isEqualTo(503);

        first.close();
        await().atMost(Await.seconds(5)).until(() -> WsClient.handshakeStatus(ws, null) == 101);
    }

    @Test
    void theEndpointPathCanBeChanged() {
        DistLockServer server = start(onLoopback().path("/locks/v1"));
        assertThat(server.webSocketUri().getPath()).isEqualTo("/locks/v1");
        WsClient client = client(server, null);
        assertThat(client.request("{\"action\":\"connect\",\"param\":\"carol\"}").path("status").asText()).isEqualTo("OK");
    }

    @Test
    void aPortInUseIsAOneLineStartupError() throws IOException {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = taken.getLocalPort();

            assertThatThrownBy(() -> start(onLoopback().port(port)))
                    .isInstanceOf(StartupException.class)
                    .hasMessage("port " + port + " is already in use on 127.0.0.1 (another server is listening there; choose another with --port)");
        }
    }

    @Test
    void anUnreachableRedisIsAOneLineStartupErrorAndThePortIsFreedAgain() throws IOException {
        int deadPort;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            deadPort = s.getLocalPort();
        }
        int httpPort;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            httpPort = s.getLocalPort();
        }

        assertThatThrownBy(() -> start(onLoopback().port(httpPort).redisUrl("redis://127.0.0.1:" + deadPort)))
                .isInstanceOf(StartupException.class)
                .hasMessageStartingWith("cannot connect to Redis at redis://127.0.0.1:" + deadPort + ": ")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n").doesNotContain("Exception"));
        // everything started before Redis failed was stopped again: the port can be bound
        try (ServerSocket again = new ServerSocket()) {
            again.bind(new InetSocketAddress("127.0.0.1", httpPort));
        }
    }

    @Test
    void startsAndStopsItsOwnRedisWhenNoneIsGiven() {
        DistLockServer server = start(ServerOptions.builder().host("127.0.0.1").port(0));
        long pid = server.embeddedRedisPid();
        assertThat(server.embeddedRedisUrl()).startsWith("redis://127.0.0.1:");
        assertThat(ProcessHandle.of(pid)).hasValueSatisfying(p -> assertThat(p.isAlive()).isTrue());
        assertThat(server.startupLine()).endsWith("Redis " + server.embeddedRedisUrl() + " (embedded)");
        WsClient client = client(server, null);
        client.request("{\"action\":\"connect\",\"param\":\"dave\"}");
        assertThat(client.request("{\"action\":\"lock\",\"param\":\"x\"}").path("status").asText()).isEqualTo("LOCKED");
        // It has no password: the commands that let a local user run code or write files are gone (found by review).
        int redisPort = java.net.URI.create(server.embeddedRedisUrl()).getPort();
        for (String command : List.of("CONFIG GET dir", "MODULE LIST", "DEBUG SLEEP 0")) {
            assertThat(inlineCommand(redisPort, command)).startsWith("-ERR unknown command");
        }
        assertThat(inlineCommand(redisPort, "PING")).isEqualTo("+PONG");

        server.close();

        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    }

    /**
     * Found by review: an {@link Error} thrown during the start (not an Exception: a class missing
     * from the jar, out of memory) skipped the cleanup, and the embedded redis-server, the Redis
     * client and the open port outlived the failed start. Thrown here by a log handler at the
     * startup line, the start's last step, when everything runs.
     */
    @Test
    void anErrorDuringTheStartStopsWhatHadStartedAndIsThrownOn() {
        Logger log = Logger.getLogger(DistLockServer.class.getName());
        AtomicLong redisPid = new AtomicLong(-1);
        AtomicInteger port = new AtomicInteger(-1);
        Handler failing = new Handler() {
            @Override
            public void publish(LogRecord record) {
                String message = new SimpleFormatter().formatMessage(record);
                Matcher pid = Pattern.compile("embedded redis-server, pid (\\d+)").matcher(message);
                if (pid.find()) {
                    redisPid.set(Long.parseLong(pid.group(1)));
                }
                Matcher listening = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/").matcher(message);
                if (listening.find()) {
                    port.set(Integer.parseInt(listening.group(1)));
                    throw new NoClassDefFoundError("thrown by the test's log handler");
                }
            }

            @Override
            public void flush() { }

            @Override
            public void close() { }
        };
        Level level = log.getLevel();
        log.setLevel(Level.INFO); // the command line's tests may have set WARNING for the console
        log.addHandler(failing);
        try {
            assertThatThrownBy(() -> start(ServerOptions.builder().host("127.0.0.1").port(0)))
                    .isInstanceOf(NoClassDefFoundError.class).hasMessage("thrown by the test's log handler");
            assertThat(redisPid.get()).as("the embedded redis-server had started").isPositive();
            assertThat(port.get()).as("the port had opened").isPositive();
            await().atMost(Await.seconds(10)).untilAsserted(() -> {
                assertThat(ProcessHandle.of(redisPid.get()).map(ProcessHandle::isAlive).orElse(false))
                        .as("redis-server %d is stopped", redisPid.get()).isFalse();
                assertThat(accepts(port.get())).as("port %d is closed", port.get()).isFalse();
            });
        } finally {
            log.removeHandler(failing);
            log.setLevel(level);
            // without the cleanup (the negative control), the redis-server this test started must not outlive it
            if (redisPid.get() > 0) {
                ProcessHandle.of(redisPid.get()).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    @Test
    void readsARedissonYamlFile(@TempDir Path dir) throws IOException {
        Path yaml = dir.resolve("redisson.yaml");
        Files.writeString(yaml, "singleServerConfig:\n  address: \"" + redis.url() + "\"\nthreads: 2\nnettyThreads: 4\n");

        DistLockServer server = start(onLoopback().redisUrl(null).redisConfig(yaml));

        assertThat(server.startupLine()).endsWith("Redis from " + yaml + " (single server)");
        WsClient client = client(server, null);
        assertThat(client.request("{\"action\":\"connect\",\"param\":\"erin\"}").path("status").asText()).isEqualTo("OK");
    }

    @Test
    void aBrokenRedissonFileIsAOneLineStartupError(@TempDir Path dir) throws IOException {
        Path yaml = dir.resolve("broken.yaml");
        Files.writeString(yaml, "singleServerConfig: [unclosed\n");

        assertThatThrownBy(() -> start(onLoopback().redisUrl(null).redisConfig(yaml)))
                .isInstanceOf(StartupException.class)
                .hasMessageStartingWith("Redisson configuration file " + yaml + " is not valid YAML: ")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    /** SnakeYAML quotes the lines around a parse error; the password on one of them stays out. */
    @ParameterizedTest
    @ValueSource(strings = {
            "singleServerConfig:\n  address: \"redis://127.0.0.1:1\"\n  password: s3cr3t: oops\n",
            "singleServerConfig:\n  address: \"redis://127.0.0.1:1\"\n  password: \"s3cr3t\n",
            "singleServerConfig:\n  password: s3cr3t\n  database: [s3cr3t\n"})
    void aBrokenRedissonFileIsReportedWithoutItsLines(String text, @TempDir Path dir) throws IOException {
        Path yaml = dir.resolve("broken.yaml");
        Files.writeString(yaml, text);

        assertThatThrownBy(() -> start(onLoopback().redisUrl(null).redisConfig(yaml)))
                .isInstanceOf(StartupException.class)
                .hasMessageStartingWith("Redisson configuration file " + yaml + " is not valid YAML: ")
                .hasMessageContaining("line 3, column")
                .hasNoCause()
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cr3t", "\n"));
    }

    @Test
    void closingGoesAwayWith1001AndReleasesTheLocksForOtherNodes() {
        DistLockServer node1 = start(onLoopback());
        DistLockServer node2 = start(onLoopback());
        WsClient alice = client(node1, null);
        WsClient bob = client(node2, null);
        alice.request("{\"action\":\"connect\",\"param\":\"alice\"}");
        bob.request("{\"action\":\"connect\",\"param\":\"bob\"}");
        assertThat(alice.request("{\"action\":\"lock\",\"param\":\"shared\"}").path("status").asText()).isEqualTo("LOCKED");
        assertThat(bob.request("{\"action\":\"lock\",\"param\":\"shared\"}").path("status").asText()).isEqualTo("WAIT");

        long stopping = System.nanoTime();
        node1.close();

        assertThat(alice.awaitClose(Await.seconds(5))).isEqualTo(1001);
        JsonNode retry = bob.next(Await.seconds(2));
        assertThat(retry.path("status").asText()).isEqualTo("RETRY");
        assertThat(Duration.ofNanos(System.nanoTime() - stopping)).isLessThan(Await.seconds(5));
        // the port is closed
        await().atMost(Await.seconds(5)).until(() -> !accepts(node1.port()));
        node1.close(); // idempotent
    }

    private static boolean accepts(int port) {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The first line of Redis's reply to {@code command}, sent inline on a connection of its own. */
    private static String inlineCommand(int port, String command) {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(5_000);
            socket.getOutputStream().write((command + "\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(), java.nio.charset.StandardCharsets.US_ASCII)).readLine();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
