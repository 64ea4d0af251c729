package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;

/**
 * Found by the logs review (2026-12-07): {@code GET /health} and {@code GET /demo/docs}, open to
 * anyone and held to no rate limit, cost Redis a script and six {@code HGETALL}s per request, so
 * a keep-alive loop from one address kept the Redis that serves the locks busy. Now concurrent
 * requests share one read, reused for a short window: 1,000 requests, 50 at a time on kept-alive
 * connections, cost a read per window at most.
 */
class HttpFloodTest {

    private static final int CLIENTS = 50;
    private static final int REQUESTS_EACH = 20;
    /**
     * Scripts besides: the lock service's own (its node beat, once a tick: a sixth of the minute's
     * lease), and Redisson's EVALSHA of a script Redis does not have yet, sent again as EVAL.
     */
    private static final int BACKGROUND_SCRIPTS = 4;

    @Test
    void aThousandHealthChecksCostRedisAScriptPerWindow() throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = start(redis)) {
            long before = HealthCheckTest.scripts(redis);
            long started = System.nanoTime();
            List<Integer> statuses = flood(server.pageUri().resolve("/health"));
            long windows = windows(started, HealthCheck.REUSE);
            long scripts = HealthCheckTest.scripts(redis) - before;

            assertThat(statuses).hasSize(CLIENTS * REQUESTS_EACH).containsOnly(200);
            assertThat(scripts).as("scripts for %s requests in %s windows", statuses.size(), windows)
                    .isLessThanOrEqualTo(windows + BACKGROUND_SCRIPTS);
        }
    }

    @Test
    void aThousandDocumentListsCostRedisSixReadsPerWindow() throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = start(redis)) {
            long before = hgetalls(redis);
            long started = System.nanoTime();
            List<Integer> statuses = flood(server.pageUri().resolve("/demo/docs"));
            long windows = windows(started, FencedDocs.LIST_REUSE);
            long reads = hgetalls(redis) - before;

            assertThat(statuses).hasSize(CLIENTS * REQUESTS_EACH).containsOnly(200);
            assertThat(reads).as("HGETALLs for %s requests in %s windows", statuses.size(), windows)
                    .isLessThanOrEqualTo(windows * FencedDocs.DOCUMENTS.size());
        }
    }

    private static DistLockServer start(RedisProcess redis) {
        return DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url())
                .lease(Duration.ofMinutes(1)).build());
    }

    /** How many reads could have begun since {@code started}, one per {@code window} at most. */
    private static long windows(long started, Duration window) {
        return (System.nanoTime() - started) / window.toNanos() + 1;
    }

    /** {@link #CLIENTS} threads, each sending {@link #REQUESTS_EACH} GETs one after the other (keep-alive); the statuses. */
    private static List<Integer> flood(URI uri) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        try {
            List<Future<List<Integer>>> clients = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                clients.add(pool.submit(() -> {
                    List<Integer> statuses = new ArrayList<>();
                    for (int i = 0; i < REQUESTS_EACH; i++) {
                        statuses.add(Http.get(uri).statusCode());
                    }
                    return statuses;
                }));
            }
            List<Integer> statuses = new ArrayList<>();
            for (Future<List<Integer>> client : clients) {
                statuses.addAll(client.get(Await.seconds(60).toMillis(), TimeUnit.MILLISECONDS));
            }
            return statuses;
        } finally {
            pool.shutdownNow();
        }
    }

    private static long hgetalls(RedisProcess redis) {
        Matcher m = Pattern.compile("cmdstat_hgetall:calls=(\\d+)").matcher(String.valueOf(redis.command("INFO", "commandstats")));
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }
}
