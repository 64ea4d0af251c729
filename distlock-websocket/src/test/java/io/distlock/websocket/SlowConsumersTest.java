package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.distlock.testing.Await;

/**
 * Clients that send without reading, with requests whose replies are as large as the protocol
 * allows: what waits to be sent to them must stay bounded in bytes, not only in frames, and
 * the node must go on serving everyone else. On Tyrus, the runnable server's container.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SlowConsumersTest {

    static final int CLIENTS = 50;
    /** Requests per client: fewer than the 1,000 frames a connection may have waiting, so only a bound in bytes stops them. */
    static final int REQUESTS = 500;

    private GuardedNode node;
    private final List<RawWebSocket> sockets = new ArrayList<>();
    private final ExecutorService senders = Executors.newFixedThreadPool(8, r -> {
        Thread t = new Thread(r, "slow-consumer");
        t.setDaemon(true);
        return t;
    });
    private final AtomicLong answered = new AtomicLong();

    @BeforeAll
    void start() {
        // The rate limit and the silence rule out of the way: this is about what waits to be
        // sent, not how fast requests come or whether the clients answer pings.
        EndpointOptions options = EndpointOptions.builder().rateLimit(100_000, 100_000)
                .pingInterval(Duration.ofMinutes(10)).build();
        // The flood (rate limit off) keeps Redis busy on purpose: the bystander's renewals must
        // outlast the replies queued before them on a shared, noisy machine, so each command gets
        // 2.5 s (a sixth of a 15 s lease) instead of 0.8 s. Once, with 0.8 s and another build
        // beside it, a renewal timed out and the bystander was rightly told LOST (2026-12-04).
        node = GuardedNode.start("slow-bystander", List.of(options), TestServer::tyrus, Duration.ofSeconds(15));
        node.endpoints.get(0).telemetry(new EndpointTelemetry() {
            @Override
            public void answered(String action, Status status, long nanos) {
                answered.incrementAndGet();
            }
        });
    }

    @AfterAll
    void stop() {
        sockets.forEach(RawWebSocket::close); // ends writes still blocked on a full socket
        senders.shutdownNow();
        if (node != null) {
            node.endpoints.get(0).telemetry(EndpointTelemetry.NONE);
            node.close();
        }
    }

    @Test
    void fiftyClientsThatDoNotReadLargeRepliesLeaveTheHeapBoundedAndTheNodeServing() {
        Runtime runtime = Runtime.getRuntime();
        System.gc();
        long usedBefore = runtime.totalMemory() - runtime.freeMemory();

        // What one of those requests costs: a frame under 8 KiB, a reply many times larger.
        try (RawWebSocket probe = RawWebSocket.open(node.server.uri(GuardedNode.MAIN))) {
            probe.sendText(WsClient.json("action", "connect", "param", "probe"));
            probe.readText(WsClient.TIMEOUT);
            probe.sendText(largestMlock(CLIENTS));
            String reply = probe.readText(WsClient.TIMEOUT);
            assertThat(reply).startsWith("{\"status\":\"LOCKED\"");
            System.out.printf("request %d bytes, reply %d bytes%n", largestMlock(CLIENTS).getBytes(StandardCharsets.UTF_8).length,
                    reply.length());
        }

        for (int i = 0; i < CLIENTS; i++) {
            RawWebSocket ws = RawWebSocket.open(node.server.uri(GuardedNode.MAIN), 4096);
            sockets.add(ws);
            ws.sendText(WsClient.json("action", "connect", "param", "slow-" + i));
            String mlock = largestMlock(i);
            // Best effort: a client whose connection the server gave up may block in write; the
            // test does not wait for it.
            senders.execute(() -> {
                for (int r = 0; r < REQUESTS && ws.trySendBytes(RawWebSocket.encode(true, 0, 0x1, true,
                        mlock.getBytes(StandardCharsets.UTF_8))); r++) {
                    // keep sending, never read
                }
            });
        }
        // Settled: the node has answered all it will (every request, or until it gave a
        // connection up), so nothing more is being made.
        long[] last = {-1, System.nanoTime()};
        await().atMost(Await.seconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> {
            long now = answered.get();
            if (now != last[0]) {
                last[0] = now;
                last[1] = System.nanoTime();
            }
            return now > CLIENTS && System.nanoTime() - last[1] > 2_000_000_000L;
        });
        System.gc();
        long usedAfter = runtime.totalMemory() - runtime.freeMemory();
        long growth = usedAfter - usedBefore;
        System.out.printf("%d clients, %d requests answered, heap %d MB -> %d MB (growth %d MB)%n", CLIENTS, answered.get(),
                usedBefore >> 20, usedAfter >> 20, growth >> 20);
        // Held by a connection at most: 1 MiB waiting (maxQueuedBytes) plus what the container
        // is writing; 50 of them stay far below this bound, while frames counted alone let each
        // hold hundreds of ~70 KB replies (over 1 GB in all). Loose: System.gc() is a hint.
        assertThat(growth).as("heap growth, bytes").isLessThan(256L << 20);

        // Each of them was given up (1008) and its session released.
        await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> node.openConnections() == 1 && node.service.sessionCount() == 1);

        // Someone else is served as usual.
        try (WsClient other = WsClient.open(node.server.uri(GuardedNode.MAIN))) {
            other.request("OK", "action", "connect", "param", "reader");
            other.request("LOCKED", "action", "lock", "param", "slow-doc");
            other.request("OK", "action", "unlock", "param", "slow-doc");
        }
        node.assertBystanderUnharmed();
    }

    /**
     * An {@code mlock} frame just under the 8 KiB frame limit whose reply is as large as it
     * gets: lock names of the maximum 256 characters, non-ASCII, which a 2-byte UTF-8 request
     * carries and a reply escapes as six bytes ({@code \u00e9}), three times over (message,
     * {@code locks}, {@code tokens}).
     */
    static String largestMlock(int client) {
        List<String> names = new ArrayList<>();
        while (true) {
            String prefix = "c" + client + "-" + names.size() + "-";
            names.add(prefix + "\u00e9".repeat(256 - prefix.length()));
            String frame = WsClient.json("action", "mlock", "params", names);
            if (frame.getBytes(StandardCharsets.UTF_8).length > 8192) {
                names.remove(names.size() - 1);
                return WsClient.json("action", "mlock", "params", names);
            }
        }
    }
}
