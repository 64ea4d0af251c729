package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import redis.embedded.core.ExecutableProvider;

/** {@code --redis-config} with a Sentinel file: a real primary, a real Sentinel, a real node on top. */
class SentinelConfigTest {

    private RedisProcess primary;
    private RedisProcess replica;
    private Process sentinel;
    private DistLockServer server;
    private WsClient client;

    @AfterEach
    void stopAll() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
        if (sentinel != null) {
            sentinel.destroyForcibly();
            try {
                sentinel.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (replica != null) {
            replica.close();
        }
        if (primary != null) {
            primary.close();
        }
    }

    @Test
    void aNodeFindsItsRedisThroughSentinel(@TempDir Path dir) throws IOException {
        primary = RedisProcess.start();
        Path yaml = sentinelConfig(dir, "  readMode: \"MASTER\"");

        server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0).redisConfig(yaml)
                .lease(Duration.ofSeconds(2)).build());

        assertThat(server.startupLine()).endsWith("(Sentinel)");
        client = WsClient.connect(server.webSocketUri());
        client.request("{\"action\":\"connect\",\"param\":\"frank\"}");
        assertThat(client.request("{\"action\":\"lock\",\"param\":\"via-sentinel\"}").path("status").asText()).isEqualTo("LOCKED");
        // the lock is in the primary that Sentinel named
        assertThat(primary.command("EXISTS", "distlock:lock:via-sentinel")).isEqualTo(1L);
    }

    /**
     * Found by review (2026-12-05): {@code /health} read with Redisson's read mode, whose default
     * for Sentinel is the replicas, so it answered UP while the primary, which every lock needs,
     * did not answer.
     */
    @Test
    void healthAsksThePrimaryWhateverTheReadMode(@TempDir Path dir) throws Exception {
        primary = RedisProcess.start();
        replica = RedisProcess.start("--replicaof", "127.0.0.1", Integer.toString(primary.port()));
        Path yaml = sentinelConfig(dir, "  # no readMode: Redisson's default reads from the replicas");
        server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0).redisConfig(yaml)
                .lease(Duration.ofSeconds(2)).build());
        URI health = server.pageUri().resolve("/health");
        assertThat(Http.get(health).statusCode()).isEqualTo(200);

        primary.pause();
        try {
            // once the UP asked for just before is no longer reused (HealthCheck.REUSE)
            await().atMost(Await.seconds(10)).alias("/health while the primary does not answer")
                    .until(() -> Http.get(health).statusCode() == 503);
        } finally {
            primary.resume();
        }
        await().atMost(Await.seconds(10)).until(() -> Http.get(health).statusCode() == 200);
    }

    /** Starts a Sentinel that watches {@link #primary} and writes a Redisson file naming it. */
    private Path sentinelConfig(Path dir, String readModeLine) throws IOException {
        int sentinelPort = freePort();
        Path conf = dir.resolve("sentinel.conf");
        Files.writeString(conf, String.join("\n",
                "port " + sentinelPort,
                "bind 127.0.0.1",
                "dir " + dir,
                "sentinel monitor mymaster 127.0.0.1 " + primary.port() + " 1",
                "sentinel down-after-milliseconds mymaster 60000", // no failover: a test pauses the primary
                ""));
        File binary = ExecutableProvider.newJarResourceProvider().get();
        sentinel = new ProcessBuilder(binary.getAbsolutePath(), conf.toString(), "--sentinel")
                .redirectErrorStream(true).redirectOutput(dir.resolve("sentinel.log").toFile()).start();
        await().atMost(Await.seconds(20)).ignoreExceptions()
                .until(() -> inlineCommand(sentinelPort, "SENTINEL get-master-addr-by-name mymaster").startsWith("*2"));
        if (replica != null) {
            await().atMost(Await.seconds(20)).ignoreExceptions()
                    .until(() -> inlineCommand(sentinelPort, "SENTINEL replicas mymaster").startsWith("*1"));
        }
        Path yaml = dir.resolve("redisson.yaml");
        Files.writeString(yaml, String.join("\n",
                "sentinelServersConfig:",
                "  masterName: \"mymaster\"",
                "  sentinelAddresses:",
                "    - \"redis://127.0.0.1:" + sentinelPort + "\"",
                readModeLine,
                "  checkSentinelsList: false   # one Sentinel is enough for a test, never for production",
                "threads: 2",
                "nettyThreads: 4",
                ""));
        return yaml;
    }

    /** One inline command on a fresh connection; the first bytes of the reply. */
    private static String inlineCommand(int port, String command) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            socket.setSoTimeout(2_000);
            socket.getOutputStream().write((command + "\r\n").getBytes(StandardCharsets.US_ASCII));
            byte[] reply = new byte[64];
            int n = socket.getInputStream().read(reply);
            return n < 0 ? "" : new String(reply, 0, n, StandardCharsets.US_ASCII);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }
}
