package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.distlock.testing.Await;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shaded {@code distlock-server.jar} as a user runs it, {@code java -jar} with nothing
 * else: it starts its embedded Redis, serves the page and the WebSocket (which needs the
 * merged service files of Tyrus), lets a second node join that Redis, and stops everything on
 * SIGTERM. Runs in {@code mvn verify}, after {@code package} built the jar.
 */
class ShadedJarIT {

    private static Path jar;
    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @BeforeAll
    static void findJar() {
        jar = Path.of(System.getProperty("distlock.server.jar", "target/distlock-server.jar"));
        assertThat(jar).as("the shaded jar; run `mvn verify`").exists();
    }

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    @Test
    void printsItsVersionAndHelp() {
        NodeProcess.Result version = NodeProcess.run(jar, "--version");
        assertThat(version.exitCode()).isZero();
        assertThat(version.output()).startsWith("distlock-server ").doesNotContain("dev");

        NodeProcess.Result help = NodeProcess.run(jar, "--help");
        assertThat(help.exitCode()).isZero();
        assertThat(help.output()).contains("Usage: distlock-server", "--redis-config");
    }

    @Test
    void anUnreachableRedisIsOneLineAndExitCode1() {
        NodeProcess.Result result = NodeProcess.run(jar, "--host", "127.0.0.1", "--port", "0", "--redis", "redis://127.0.0.1:1");
        assertThat(result.exitCode()).isEqualTo(1);
        // the line said before connecting, then the one error line
        assertThat(result.output().lines().toList()).as(result.output()).hasSize(2)
                .satisfies(lines -> assertThat(lines.get(0)).isEqualTo("Connecting to Redis at redis://127.0.0.1:1 (gives up after 15 s)"))
                .satisfies(lines -> assertThat(lines.get(1)).startsWith("distlock-server: cannot connect to Redis at redis://127.0.0.1:1: "));
    }

    @Test
    void runsWithItsOwnRedisAndASecondNodeJoinsIt() throws Exception {
        NodeProcess first = NodeProcess.fromJar(jar, "--host", "127.0.0.1", "--port", "0");
        cleanup.add(first);
        first.awaitStarted();
        String redisUrl = first.embeddedRedisUrl();
        assertThat(redisUrl).as(first.output()).startsWith("redis://127.0.0.1:");
        // printed right after the line awaitStarted() waits for
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(first.output()).contains("Another node joins with: java -jar distlock-server.jar --port"));
        List<ProcessHandle> redis = first.children();
        assertThat(redis).as("the embedded redis-server (and its watchdog)").isNotEmpty();

        NodeProcess second = NodeProcess.fromJar(jar, "--host", "127.0.0.1", "--port", "0", "--redis", redisUrl);
        cleanup.add(second);
        second.awaitStarted();
        assertThat(second.embeddedRedisUrl()).isNull();

        HttpResponse<String> page = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + first.port() + "/")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains(first.nodeId());

        WsClient alice = WsClient.connect(first.webSocketUri(), "http://127.0.0.1:" + first.port()); // the page's origin
        cleanup.add(alice);
        WsClient bob = WsClient.connect(second.webSocketUri());
        cleanup.add(bob);
        alice.request("{\"action\":\"connect\",\"param\":\"alice\"}");
        bob.request("{\"action\":\"connect\",\"param\":\"bob\"}");
        assertThat(alice.request("{\"action\":\"lock\",\"param\":\"plan\"}").path("status").asText()).isEqualTo("LOCKED");
        assertThat(bob.request("{\"action\":\"lock\",\"param\":\"plan\"}").path("status").asText()).isEqualTo("WAIT");
        assertThat(alice.request("{\"action\":\"close\",\"param\":\"alice\"}").path("message").asText()).startsWith("Close session: ");
        assertThat(bob.next().path("status").asText()).isEqualTo("RETRY");

        assertThat(second.terminate(Await.seconds(15))).isIn(0, 143);
        assertThat(first.terminate(Await.seconds(15))).isIn(0, 143);
        assertThat(first.output()).contains("distlock node " + first.nodeId() + " stopped").doesNotContain("Exception");
        assertThat(redis).as("embedded redis-server stopped with its node").noneMatch(ProcessHandle::isAlive);
    }

    @Test
    void theJarHoldsEverythingItNeeds() throws Exception {
        try (var zip = new java.util.zip.ZipFile(jar.toFile())) {
            assertThat(zip.getEntry("io/distlock/server/DistLockServer.class")).isNotNull();
            assertThat(zip.getEntry("io/distlock/server/static/index.html")).isNotNull();
            assertThat(zip.getEntry("io/distlock/server/static/node.html")).as("the page of --no-demo").isNotNull();
            assertThat(zip.getEntry("io/distlock/websocket/DistLockEndpoints.class")).isNotNull();
            assertThat(zip.getEntry("io/distlock/bench/BenchCommand.class")).as("the bench subcommand").isNotNull();
            assertThat(zip.getEntry("org/glassfish/tyrus/server/TyrusServerContainer.class")).isNotNull();
            assertThat(zip.getEntry("redis-server-6.2.6-v5-linux-amd64")).isNotNull();
        }
        assertThat(Files.size(jar)).isGreaterThan(1_000_000);
    }
}
