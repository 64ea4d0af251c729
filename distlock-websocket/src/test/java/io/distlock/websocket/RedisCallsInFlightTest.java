package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;
import io.distlock.testing.TcpProxy;

/**
 * The Redis calls one connection has in flight are bounded ({@link Connection#MAX_REDIS_CALLS}):
 * past it frames wait their turn, in order, and every one is answered. Before, a {@code query}
 * of 64 names counted as one request of the rate limit's burst of 400 but made 64 calls: a
 * probe from one address (20 connections, 390 queries each, all within the burst) put 173,000
 * calls in flight and ran a node with a 512 MB heap out of memory. Redis is paused here, so
 * nothing ends: what the authorizer is asked is what was sent to Redis.
 */
class RedisCallsInFlightTest {

    private static final int QUERIES = 40;
    private static final int NAMES = 64;

    @Test
    void queriesPastTheBoundWaitTheirTurnAndAreAllAnsweredInOrder() {
        AtomicInteger asked = new AtomicInteger();
        EndpointOptions options = EndpointOptions.builder().authorizer((principal, lock) -> {
            asked.incrementAndGet();
            return true;
        }).build();
        try (RedisProcess redis = RedisProcess.start();
             // A command waits up to a sixth of the lease, at most 3 s: Redis is paused for over 0.5 s here (0.8 s
             // with a 5 s lease made the first queries fail BACKEND_UNAVAILABLE on a loaded machine).
             LockService service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(30)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, options);
             TestServer server = TestServer.tyrus(List.of(endpoint.config()));
             RawWebSocket ws = RawWebSocket.open(server.uri("/distlock/lock"))) {
            ws.sendText(WsClient.json("action", "connect", "param", "reader", "version", 2));
            assertThat(ws.readText(WsClient.TIMEOUT)).contains("\"OK\"");
            asked.set(0);
            redis.pause();
            try {
                for (int q = 0; q < QUERIES; q++) {
                    List<String> names = new ArrayList<>();
                    for (int n = 0; n < NAMES; n++) {
                        names.add("doc-" + q + "-" + n);
                    }
                    ws.sendText(WsClient.json("action", "query", "params", names, "id", q));
                }
                int bound = Connection.MAX_REDIS_CALLS;
                await().atMost(Await.seconds(10)).until(() -> asked.get() >= bound);
                // All 40 × 64 were asked at once before; now at most the bound, whatever the wait.
                await().during(Duration.ofMillis(500)).atMost(Await.seconds(5)).until(() -> asked.get() <= bound);
            } finally {
                redis.resume();
            }
            for (int q = 0; q < QUERIES; q++) {
                String reply = ws.readText(Await.seconds(30));
                assertThat(reply).as("query %d", q).contains("\"id\":" + q + ",").contains("\"OK\"");
            }
            assertThat(asked.get()).isEqualTo(QUERIES * NAMES);
        }
    }

    /**
     * One {@code watch} may name 1,000 locks, all read: in turns of at most the bound (review
     * 2026-12-07: a watch of 999 names, let through whole when nothing else was in flight, put 999
     * reads in flight at once). Redis is paused, behind a proxy that counts the watched names the
     * commands sent to it carry.
     */
    @Test
    void aWatchOfMoreNamesThanTheBoundReadsThemInTurns() {
        int watched = 999;
        try (RedisProcess redis = RedisProcess.start();
             TcpProxy proxy = TcpProxy.start(redis.port());
             LockService service = LockService.connect("redis://127.0.0.1:" + proxy.port(),
                     LockConfig.builder().lease(Duration.ofSeconds(30)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.defaults());
             TestServer server = TestServer.tyrus(List.of(endpoint.config()));
             RawWebSocket ws = RawWebSocket.open(server.uri("/distlock/lock"))) {
            ws.sendText(WsClient.json("action", "connect", "param", "watcher", "version", 2));
            assertThat(ws.readText(WsClient.TIMEOUT)).contains("\"OK\"");
            ws.sendText(WsClient.json("action", "watch", "params", List.of("first"))); // subscribes: the next watch only reads
            assertThat(ws.readText(WsClient.TIMEOUT)).contains("\"OK\"");
            List<String> names = new ArrayList<>();
            for (int n = 0; n < watched; n++) {
                names.add("w" + n); // short: 999 of them fit in one 8 KiB frame
            }
            proxy.capture(true);
            redis.pause();
            ws.sendText(WsClient.json("action", "watch", "params", names, "id", 1));
            int bound = Connection.MAX_REDIS_CALLS;
            await().atMost(Await.seconds(10)).until(() -> namesRead(proxy).size() >= bound);
            await().during(Duration.ofMillis(300)).atMost(Await.seconds(5)).until(() -> namesRead(proxy).size() <= bound);
            redis.resume();
            String reply = ws.readText(Await.seconds(30));
            assertThat(reply).contains("\"id\":1,").contains("\"OK\"").contains("\"w" + (watched - 1) + "\"");
            assertThat(namesRead(proxy)).hasSize(watched);
        }
    }

    /** The watched names that the commands sent to Redis so far carry. */
    private static Set<String> namesRead(TcpProxy proxy) {
        Set<String> names = new HashSet<>();
        Pattern name = Pattern.compile("(?<![A-Za-z0-9])w\\d+(?![0-9])");
        for (List<String> command : proxy.captured()) {
            for (String arg : command) {
                Matcher m = name.matcher(arg);
                while (m.find()) {
                    names.add(m.group());
                }
            }
        }
        return names;
    }
}
