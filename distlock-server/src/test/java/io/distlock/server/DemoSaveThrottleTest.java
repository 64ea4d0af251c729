package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Found by review (2026-12-07): {@code PUT /demo/docs/{id}} was held to no limit, and each runs
 * a script in the Redis that serves the locks, so one client on a kept-alive connection made the
 * node run scripts as fast as it could send. Now saves are taken per client address (the one a
 * trusted proxy names in {@code X-Forwarded-For}) and per node ({@link SaveThrottle}), and the
 * rest are answered 429 with {@code Retry-After}, before Redis is asked. The bounds are counts
 * of scripts Redis ran against the saves the buckets could have let through in the time taken.
 */
class DemoSaveThrottleTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    /** Scripts besides the saves: the lock service's node beat, Redisson's EVALSHA sent again as EVAL. */
    private static final int BACKGROUND_SCRIPTS = 4;
    private static final String SAVE = "{\"token\": 1000, \"text\": \"flood\", \"by\": \"flood\"}";

    @Test
    void oneClientOnAKeptAliveConnectionGetsItsAddresssShareAndThen429() throws Exception {
        int requests = 300;
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = start(redis, ServerOptions.builder())) {
            long scriptsBefore = HealthCheckTest.scripts(redis);
            long started = System.nanoTime();
            List<HttpResponse<String>> answers = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                answers.add(put(server, null));
            }
            long allowed = allowance(started, SaveThrottle.PER_ADDRESS_BURST, SaveThrottle.PER_ADDRESS_PER_SECOND);
            long scripts = HealthCheckTest.scripts(redis) - scriptsBefore;

            long saved = answers.stream().filter(a -> a.statusCode() == 200).count();
            assertThat(scripts).as("scripts Redis ran for %s saves", requests).isLessThanOrEqualTo(allowed + BACKGROUND_SCRIPTS);
            assertThat(saved).as("saves taken of %s, %s allowed", requests, allowed)
                    .isGreaterThanOrEqualTo(SaveThrottle.PER_ADDRESS_BURST).isLessThanOrEqualTo(allowed);
            assertThat(answers).extracting(HttpResponse::statusCode).containsOnly(200, 429);

            HttpResponse<String> refused = answers.stream().filter(a -> a.statusCode() == 429).findFirst().orElseThrow();
            assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
            assertThat(refused.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
            JsonNode body = JSON.readTree(refused.body());
            assertThat(body.get("error").asText()).isEqualTo("TOO_MANY_REQUESTS");
            assertThat(body.get("message").asText()).isEqualTo("at most " + SaveThrottle.PER_ADDRESS_PER_SECOND
                    + " saves a second from one address; try again in 1 s");

            long refusedCount = answers.stream().filter(a -> a.statusCode() == 429).count();
            assertThat(refusedSaves(server, "address")).as("/metrics").isEqualTo(refusedCount);
            assertThat(refusedSaves(server, "node")).as("/metrics").isZero();

            // Refusals cost nothing: once the client waits, it saves again.
            Awaitility.await().atMost(Await.seconds(5)).pollInterval(Duration.ofMillis(50))
                    .until(() -> put(server, null).statusCode() == 200);
            // A request the store refuses anyway (400) is not counted, nor answered 429.
            assertThat(put(server, null, "doc-7", "{\"token\": 0}").statusCode()).isEqualTo(400);
        }
    }

    @Test
    void clientsBehindATrustedProxyEachHaveTheirShareAndTheNodeOneForAll() throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = start(redis, ServerOptions.builder().trustedProxies(List.of("127.0.0.1")))) {
            // One client behind the proxy at its limit does not hold back the next.
            int refused = 0;
            for (int i = 0; i < SaveThrottle.PER_ADDRESS_BURST * 10 && refused == 0; i++) { // a 429 even at 11 saves a second
                refused += put(server, "10.9.9.9").statusCode() == 429 ? 1 : 0;
            }
            assertThat(refused).as("10.9.9.9 refused once past its burst").isEqualTo(1);
            assertThat(put(server, "10.9.9.10").statusCode()).isEqualTo(200);

            // Many clients, one save each: what the node's bucket lets through, however many there are.
            int clients = 1_000;
            long scriptsBefore = HealthCheckTest.scripts(redis);
            long started = System.nanoTime();
            List<HttpResponse<String>> answers = parallel(clients, i -> put(server, "10.1." + (i / 250) + "." + (i % 250)));
            long allowed = allowance(started, SaveThrottle.PER_NODE_BURST, SaveThrottle.PER_NODE_PER_SECOND);
            long scripts = HealthCheckTest.scripts(redis) - scriptsBefore;

            long saved = answers.stream().filter(a -> a.statusCode() == 200).count();
            assertThat(scripts).as("scripts Redis ran for %s clients' saves", clients).isLessThanOrEqualTo(allowed + BACKGROUND_SCRIPTS);
            assertThat(saved).as("saves of %s clients, %s allowed", clients, allowed).isLessThanOrEqualTo(allowed);
            assertThat(answers).extracting(HttpResponse::statusCode).containsOnly(200, 429);
            HttpResponse<String> nodeFull = answers.stream().filter(a -> a.statusCode() == 429).findFirst().orElseThrow();
            assertThat(JSON.readTree(nodeFull.body()).get("message").asText()).startsWith("this node takes at most "
                    + SaveThrottle.PER_NODE_PER_SECOND + " saves a second, from everyone; try again in ");
            assertThat(nodeFull.headers().firstValue("Retry-After")).isPresent();
            assertThat(refusedSaves(server, "node")).as("/metrics")
                    .isEqualTo(answers.stream().filter(a -> a.statusCode() == 429).count());
            assertThat(refusedSaves(server, "address")).as("/metrics: 10.9.9.9's").isEqualTo(1);
        }
    }

    /** What {@code /metrics} says of the saves refused for {@code reason}. */
    private static long refusedSaves(DistLockServer server, String reason) throws IOException, InterruptedException {
        String series = "distlock_server_demo_saves_refused_total{reason=\"" + reason + "\"} ";
        String body = HTTP.send(HttpRequest.newBuilder(server.pageUri().resolve("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        String line = body.lines().filter(l -> l.startsWith(series)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + series + "in /metrics"));
        return (long) Double.parseDouble(line.substring(series.length()));
    }

    private static DistLockServer start(RedisProcess redis, ServerOptions.Builder options) {
        return DistLockServer.start(options.host("127.0.0.1").port(0).redisUrl(redis.url()).lease(Duration.ofMinutes(1)).build());
    }

    /** The saves a bucket of {@code burst}, refilled at {@code perSecond}, can have let through since {@code started}. */
    private static long allowance(long started, int burst, int perSecond) {
        return burst + (System.nanoTime() - started) * perSecond / TimeUnit.SECONDS.toNanos(1) + 1;
    }

    private static HttpResponse<String> put(DistLockServer server, String forwardedFor) {
        return put(server, forwardedFor, "doc-7", SAVE);
    }

    private static HttpResponse<String> put(DistLockServer server, String forwardedFor, String id, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(server.pageUri().resolve("/demo/docs/" + id))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(body)).timeout(Await.seconds(10));
        if (forwardedFor != null) {
            request.header("X-Forwarded-For", forwardedFor);
        }
        try {
            return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private interface Request {
        HttpResponse<String> send(int i);
    }

    /** {@code n} requests, 16 at a time. */
    private static List<HttpResponse<String>> parallel(int n, Request request) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<HttpResponse<String>>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                futures.add(pool.submit(() -> request.send(index)));
            }
            List<HttpResponse<String>> answers = new ArrayList<>();
            for (Future<HttpResponse<String>> future : futures) {
                answers.add(future.get(Await.seconds(60).toMillis(), TimeUnit.MILLISECONDS));
            }
            return answers;
        } finally {
            pool.shutdownNow();
        }
    }
}
