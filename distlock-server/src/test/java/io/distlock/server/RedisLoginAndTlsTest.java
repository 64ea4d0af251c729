package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;
import io.distlock.testing.TestTls;

/**
 * The server as users run it against a managed Redis: {@code --redis} with a password, and
 * {@code rediss://} to a Redis whose certificate comes from a private CA the JVM is told to trust
 * ({@code -Djavax.net.ssl.trustStore}, as docs/operations.md says); a node process each time,
 * locking and unlocking over its WebSocket. A login Redis refuses or a certificate the JVM
 * does not trust is said to be that, in the one line the server prints, without the password.
 */
class RedisLoginAndTlsTest {

    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        cleanup.add(c);
        return c;
    }

    private void locksAndUnlocks(NodeProcess node) {
        WsClient client = closeLater(WsClient.connect(node.webSocketUri()));
        client.request("{\"action\":\"connect\",\"param\":\"ann\"}");
        assertThat(client.request("{\"action\":\"lock\",\"param\":\"doc\"}").path("status").asText()).isEqualTo("LOCKED");
        assertThat(client.request("{\"action\":\"unlock\",\"param\":\"doc\"}").path("status").asText()).isEqualTo("OK");
    }

    /** The line the server printed when it could not start (exit code 1). */
    private static String startupError(NodeProcess node) {
        assertThat(node.awaitExit(Await.seconds(60))).as(node.output()).isEqualTo(1);
        return node.output().lines().filter(l -> l.startsWith("distlock-server: ")).findFirst().orElseThrow(
                () -> new AssertionError("no startup error in:\n" + node.output()));
    }

    @Test
    void aRedisWithAPassword() {
        RedisProcess redis = closeLater(RedisProcess.startWithLogin(List.of("s3cret-pw"), "--requirepass", "s3cret-pw"));
        NodeProcess node = closeLater(NodeProcess.fromClasspath("--host", "127.0.0.1", "--port", "0",
                "--redis", "redis://:s3cret-pw@127.0.0.1:" + redis.port())).awaitStarted();
        locksAndUnlocks(node);
        assertThat(node.output()).contains("Redis redis://:***@127.0.0.1:" + redis.port()).doesNotContain("s3cret-pw");

        NodeProcess wrong = closeLater(NodeProcess.fromClasspath("--host", "127.0.0.1", "--port", "0",
                "--redis", "redis://:not-the-pw@127.0.0.1:" + redis.port()));
        assertThat(startupError(wrong)).isEqualTo("distlock-server: cannot connect to Redis at redis://:***@127.0.0.1:" + redis.port()
                + ": Redis refused the user name or password in the URL (WRONGPASS): authentication failed; check them, and that the"
                + " ACL user exists and is enabled");
        assertThat(wrong.output()).doesNotContain("not-the-pw");

        NodeProcess none = closeLater(NodeProcess.fromClasspath("--host", "127.0.0.1", "--port", "0",
                "--redis", "redis://127.0.0.1:" + redis.port()));
        assertThat(startupError(none)).startsWith("distlock-server: cannot connect to Redis at redis://127.0.0.1:" + redis.port()
                + ": Redis requires a password and the URL gives none (NOAUTH)");
    }

    @Test
    void aRedisWithTlsAndAPrivateCa() {
        RedisProcess redis = closeLater(TestTls.startRedis());
        String url = "rediss://127.0.0.1:" + redis.tlsPort();
        NodeProcess node = closeLater(NodeProcess.fromClasspathWithJvmOptions(
                List.of("-Djavax.net.ssl.trustStore=" + TestTls.truststore(), "-Djavax.net.ssl.trustStorePassword=" + TestTls.TRUSTSTORE_PASSWORD),
                "--host", "127.0.0.1", "--port", "0", "--redis", url)).awaitStarted();
        locksAndUnlocks(node);

        NodeProcess untrusting = closeLater(NodeProcess.fromClasspath("--host", "127.0.0.1", "--port", "0", "--redis", url));
        assertThat(startupError(untrusting)).startsWith("distlock-server: cannot connect to Redis at " + url
                + ": TLS handshake with Redis failed: Redis's certificate is not trusted by this JVM (")
                .contains("-Djavax.net.ssl.trustStore=FILE");
    }

    /**
     * {@code rediss://} at a plain Redis port: the node says it is connecting, then, within the
     * deadline, that the port may not speak TLS (it said "handshake timed out after 10000ms" after
     * 58 s of silence).
     */
    @Test
    void aTlsUrlForAPlainRedisPortIsSaidToBeThatWithinTheDeadline() {
        RedisProcess redis = closeLater(RedisProcess.start());
        String url = "rediss://127.0.0.1:" + redis.port();
        long start = System.nanoTime();
        NodeProcess node = closeLater(NodeProcess.fromClasspath("--host", "127.0.0.1", "--port", "0", "--redis", url));
        String connecting = "Connecting to Redis at " + url + " (gives up after 15 s)";
        await().atMost(Await.seconds(20)).until(() -> node.output().contains(connecting)); // before the wait, not after
        assertThat(node.isAlive()).as(node.output()).isTrue();
        assertThat(startupError(node)).isEqualTo("distlock-server: cannot connect to Redis at " + url + ": Redis accepted the"
                + " connection but did not answer the TLS handshake (handshake timed out after 10000ms): is this port TLS? A plain"
                + " Redis port answers nothing to a TLS handshake: use redis://. Or is Redis paused or overloaded?");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Await.seconds(30));
    }

    /**
     * A Redis that accepts the connection and answers nothing (paused here): said in words within
     * the deadline, never with the password (it was Redisson's "Command execution timeout for
     * command: (AUTH)" after 23 s of silence).
     */
    @Test
    void aPausedRedisIsSaidToAnswerNothingWithinTheDeadline() {
        RedisProcess redis = closeLater(RedisProcess.startWithLogin(List.of("s3cret-pw"), "--requirepass", "s3cret-pw"));
        redis.pause();
        try {
            long start = System.nanoTime();
            NodeProcess node = closeLater(NodeProcess.fromClasspath("--host", "127.0.0.1", "--port", "0",
                    "--redis", "redis://:s3cret-pw@127.0.0.1:" + redis.port()));
            assertThat(startupError(node)).isEqualTo("distlock-server: cannot connect to Redis at redis://:***@127.0.0.1:"
                    + redis.port() + ": Redis accepted the connection but did not answer AUTH within 15 s: is it paused,"
                    + " overloaded, or not Redis? (a port that takes TLS answers nothing to a redis:// URL: use rediss://)");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Await.seconds(30));
            assertThat(node.output()).contains("Connecting to Redis at redis://:***@127.0.0.1:" + redis.port() + " (gives up after 15 s)")
                    .doesNotContain("s3cret-pw");
        } finally {
            redis.resume();
        }
    }

    /** An ACL user without a right the lock scripts need stops the start with a line naming it, not a node failing every lock. */
    @Test
    void anAclUserWithoutARightDistlockNeeds() {
        RedisProcess redis = closeLater(RedisProcess.startWithLogin(List.of("admin", "admin-pw"),
                "--user", "admin", "on", ">admin-pw", "~*", "&*", "+@all", "--user", "default", "off",
                "--user", "distlock", "on", ">locks-pw", "resetkeys", "~distlock:*", "resetchannels", "&distlock:*", "-@all", "+@read",
                "+@write", "+@scripting", "+@pubsub", "-@dangerous", "+ping", "+time", "+wait"));
        NodeProcess node = closeLater(NodeProcess.fromClasspath("--host", "127.0.0.1", "--port", "0",
                "--redis", "redis://distlock:locks-pw@127.0.0.1:" + redis.port()));
        assertThat(startupError(node)).startsWith("distlock-server: cannot connect to Redis at redis://distlock:***@127.0.0.1:"
                + redis.port() + ": Redis refuses this node's user something distlock needs (INFO replication: ")
                .endsWith("see the ACL rights distlock needs in docs/operations.md");
        assertThat(node.output()).doesNotContain("locks-pw");
    }
}
