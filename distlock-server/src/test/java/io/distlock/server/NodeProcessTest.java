package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two server nodes as separate JVM processes on one Redis: what a waiter on node 2 sees when
 * node 1, holding the lock, is killed with {@code kill -9} or stopped with SIGTERM.
 */
class NodeProcessTest {

    private static final Duration LEASE = Duration.ofMillis(2000);

    private static RedisProcess redis;
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
        // A killed node's record of its lease outlives it by up to that lease: the next test's
        // nodes, of another lease, would rightly warn of it (the SIGTERM test checks for no WARNING).
        redis.command("DEL", "distlock:nodes");
    }

    /** Starts both nodes before waiting for either, so their JVMs boot side by side. */
    private List<NodeProcess> startNodes(int count, Duration lease) {
        List<NodeProcess> nodes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            NodeProcess node = NodeProcess.fromClasspath("--host", "127.0.0.1", "--port", "0", "--redis", redis.url(),
                    "--lease-ms", Long.toString(lease.toMillis()));
            cleanup.add(node);
            nodes.add(node);
        }
        nodes.forEach(NodeProcess::awaitStarted);
        return nodes;
    }

    private WsClient session(NodeProcess node, String name) {
        WsClient client = WsClient.connect(node.webSocketUri());
        cleanup.add(client);
        assertThat(client.request("{\"action\":\"connect\",\"param\":\"" + name + "\"}").path("status").asText()).isEqualTo("OK");
        return client;
    }

    @Test
    void theWaiterIsToldWithinTheLeaseWhenTheHoldersNodeIsKilled() {
        List<NodeProcess> nodes = startNodes(2, LEASE);
        WsClient alice = session(nodes.get(0), "alice");
        WsClient bob = session(nodes.get(1), "bob");
        JsonNode locked = alice.request("{\"action\":\"lock\",\"param\":\"report\"}");
        assertThat(locked.path("status").asText()).isEqualTo("LOCKED");
        assertThat(bob.request("{\"action\":\"lock\",\"param\":\"report\"}").path("status").asText()).isEqualTo("WAIT");

        long killed = System.nanoTime();
        nodes.get(0).kill();

        JsonNode retry = bob.next(Await.budget(LEASE.plusSeconds(2)));
        Duration waited = Duration.ofNanos(System.nanoTime() - killed);
        assertThat(retry.path("status").asText()).isEqualTo("RETRY");
        assertThat(retry.path("lock").asText()).isEqualTo("report");
        assertThat(waited).isLessThanOrEqualTo(Await.budget(LEASE.plusSeconds(2)));
        JsonNode mine = bob.request("{\"action\":\"lock\",\"param\":\"report\"}");
        assertThat(mine.path("status").asText()).isEqualTo("LOCKED");
        assertThat(mine.path("token").asLong()).isGreaterThan(locked.path("token").asLong());
    }

    @Test
    void aNodeStoppedWithSigtermReleasesItsLocksAtOnceAndExits() {
        // a long lease: a RETRY within seconds can only come from the release at stop
        List<NodeProcess> nodes = startNodes(2, Duration.ofSeconds(30));
        NodeProcess node1 = nodes.get(0);
        WsClient alice = session(node1, "alice");
        WsClient bob = session(nodes.get(1), "bob");
        assertThat(alice.request("{\"action\":\"lock\",\"param\":\"ledger\"}").path("status").asText()).isEqualTo("LOCKED");
        assertThat(bob.request("{\"action\":\"lock\",\"param\":\"ledger\"}").path("status").asText()).isEqualTo("WAIT");

        long stopped = System.nanoTime();
        int exitCode = node1.terminate(Await.seconds(15));

        // 143 is 128 + SIGTERM: every JVM that a signal stopped exits with it, shutdown hooks run
        assertThat(exitCode).isIn(0, 143);
        assertThat(node1.output()).as("exit code %d", exitCode).contains("distlock node " + node1.nodeId() + " stopped");
        assertThat(alice.awaitClose(Await.seconds(5))).isEqualTo(1001);
        JsonNode retry = bob.next(Await.seconds(3));
        assertThat(retry.path("status").asText()).isEqualTo("RETRY");
        assertThat(Duration.ofNanos(System.nanoTime() - stopped)).isLessThan(Await.seconds(5));
        assertThat(node1.output()).doesNotContain("Exception").doesNotContain("WARNING");
    }

    /**
     * The JDK's shutdown hook resets JUL beside the server's own, which left the console without
     * a handler: what the server's hook logged (here, that Redis took no release) was lost.
     */
    @Test
    void whatTheShutdownLogsIsPrintedEvenWhenRedisDoesNotAnswer() {
        RedisProcess own = RedisProcess.start();
        cleanup.add(own::close);
        NodeProcess node = NodeProcess.fromClasspath("--host", "127.0.0.1", "--port", "0", "--redis", own.url(),
                "--lease-ms", "2000");
        cleanup.add(node);
        node.awaitStarted();
        WsClient alice = session(node, "alice");
        assertThat(alice.request("{\"action\":\"lock\",\"param\":\"ledger\"}").path("status").asText()).isEqualTo("LOCKED");

        own.pause();
        cleanup.add(own::resume); // runs before own::close
        node.terminate(Await.seconds(30));

        assertThat(node.output()).contains("WARNING", "free themselves when their leases run out")
                .contains("distlock node " + node.nodeId() + " stopped");
    }
}
