package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.regex.Pattern;

import io.distlock.core.LockService;
import io.distlock.testing.Await;
import io.distlock.testing.LogRecorder;
import io.distlock.testing.RedisProcess;
import io.distlock.testing.TcpProxy;

import org.junit.jupiter.api.Test;

/** The server's {@code /metrics} and {@code /health}, with a real Redis that is paused and resumed. */
class MetricsAndHealthTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private static HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void metricsShowTheLocksTheEndpointAndTheJvmInPrometheusText() throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0)
                     .redisUrl(redis.url()).lease(Duration.ofSeconds(5)).build());
             WsClient client = WsClient.connect(server.webSocketUri())) {
            client.request("{\"action\":\"connect\",\"param\":\"alice\"}");
            assertThat(client.request("{\"action\":\"lock\",\"param\":\"doc\"}").path("status").asText()).isEqualTo("LOCKED");

            HttpResponse<String> metrics = get(server.pageUri().resolve("/metrics"));

            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
            assertThat(metrics.body())
                    .contains("distlock_sessions 1.0")
                    .contains("distlock_locks_held 1.0")
                    .contains("distlock_websocket_connections 1.0")
                    .containsPattern("distlock_websocket_requests_seconds_count\\{action=\"lock\",status=\"LOCKED\"} 1")
                    .containsPattern("distlock_websocket_requests_seconds_count\\{action=\"connect\",status=\"OK\"} 1")
                    .contains("distlock_retry_pushes_total", "distlock_lease_renewals_total")
                    .contains("jvm_memory_used_bytes{area=\"heap\"", "jvm_gc_", "process_cpu_", "jvm_threads_live_threads");

            // operations.md names every distlock series /metrics has (a timer's by its base name).
            String doc = Files.readString(Path.of("..", "docs", "operations.md"));
            List<String> series = metrics.body().lines().filter(l -> l.startsWith("distlock_"))
                    .map(l -> l.split("[{ ]", 2)[0].replaceAll("_(bucket|count|sum|max)$", "")).distinct().toList();
            assertThat(series).contains("distlock_redis_up", "distlock_build_info")
                    .allSatisfy(name -> assertThat(doc).as("operations.md names %s", name).contains("`" + name));
        }
    }

    @Test
    void metricsTellTheBuildAndNodeAndWhetherRedisAnswersWhichTheLogSaysOnceEachWay() throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             LogRecorder log = LogRecorder.of(LockService.class);
             DistLockServer server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0)
                     .redisUrl(redis.url()).lease(Duration.ofSeconds(3)).build())) {
            URI metrics = server.pageUri().resolve("/metrics");
            assertThat(server.startupLine()).startsWith("distlock node " + server.nodeId() + " ");
            assertThat(get(metrics).body())
                    .contains("distlock_redis_up 1.0")
                    .containsPattern("(?m)^distlock_build_info\\{node=\"" + server.nodeId() + "\",version=\""
                            + Pattern.quote(DistLockServer.version()) + "\"} 1$"); // an info gauge: "1", not "1.0"

            redis.kill();
            await().atMost(Await.seconds(10)).until(() -> get(metrics).body().contains("distlock_redis_up 0.0"));
            String where = "Redis at 127.0.0.1:" + redis.port();
            // Down for a lease (six ticks, each failing): one line all the same.
            long down = System.nanoTime();
            await().atMost(Await.seconds(10)).until(() -> System.nanoTime() - down >= Duration.ofSeconds(3).toNanos());
            assertThat(log.messages(Level.ALL)).filteredOn(m -> m.startsWith(where)).singleElement().asString()
                    .startsWith(where + " does not answer (").doesNotContain("Unexpected exception"); // refused, or a command caught by the kill

            redis.startAgain();
            await().atMost(Await.seconds(30)).until(() -> get(metrics).body().contains("distlock_redis_up 1.0"));
            await().atMost(Await.seconds(5)).until(() -> log.messages(Level.WARNING).stream().anyMatch(m -> m.contains("answers again")));
            assertThat(log.messages(Level.WARNING)).filteredOn(m -> m.contains("answers again")).singleElement().asString()
                    .matches(Pattern.quote(where) + " answers again, after \\d+\\.\\d s without an answer");
            assertThat(log.messages(Level.ALL)).filteredOn(m -> m.startsWith(where)).hasSize(2);
        }
    }

    @Test
    void healthIsUpOnlyWhileRedisAnswers() throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0)
                     .redisUrl(redis.url()).lease(Duration.ofSeconds(5)).build())) {
            URI health = server.pageUri().resolve("/health");
            HttpResponse<String> up = get(health);
            assertThat(up.statusCode()).isEqualTo(200);
            assertThat(up.body()).contains("\"UP\"");

            redis.pause();
            try {
                // An UP is given again for HealthCheck.REUSE after Redis was asked, no longer: then
                // Redis is asked, and does not answer within HealthCheck.TIMEOUT.
                long paused = System.nanoTime();
                AtomicReference<HttpResponse<String>> down = new AtomicReference<>();
                await().atMost(Await.seconds(10)).until(() -> {
                    down.set(get(health));
                    return down.get().statusCode() == 503;
                });
                assertThat(Duration.ofNanos(System.nanoTime() - paused)).as("DOWN soon after Redis stopped answering")
                        .isLessThan(HealthCheck.REUSE.plus(HealthCheck.TIMEOUT).plus(Await.seconds(2)));
                assertThat(down.get().body()).contains("\"DOWN\"");
            } finally {
                redis.resume();
            }
            await().atMost(Await.seconds(10)).until(() -> get(health).statusCode() == 200);
        }
    }

    /**
     * Found by review: {@code /health} said 200 UP while the node was stopping and already refused
     * handshakes with 503, so a balancer went on sending clients to a node that was going. Here
     * Redis answers throughout (slowly, through a proxy: the stop's releases take a few round
     * trips, which keeps the port open for a while) and {@code /health} is 503 as soon as the
     * stop has begun.
     */
    @Test
    void healthIsDownFromTheMomentTheNodeBeginsToStop() throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             TcpProxy slowRedis = TcpProxy.start(redis.port())) {
            DistLockServer server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0)
                    .redisUrl("redis://127.0.0.1:" + slowRedis.port()).lease(Duration.ofSeconds(5)).build());
            CompletableFuture<Void> stop = null;
            try (WsClient alice = WsClient.connect(server.webSocketUri())) {
                alice.request("{\"action\":\"connect\",\"param\":\"alice\"}");
                assertThat(alice.request("{\"action\":\"lock\",\"param\":\"doc\"}").path("status").asText()).isEqualTo("LOCKED");
                URI health = server.pageUri().resolve("/health");
                assertThat(get(health).statusCode()).isEqualTo(200);
                // 0.4 s a round trip, within HealthCheck.TIMEOUT: Redis still answers the health question
                slowRedis.delay(Duration.ofMillis(200));

                stop = CompletableFuture.runAsync(server::close);
                assertThat(alice.awaitClose(Await.seconds(5))).as("the stop has begun").isEqualTo(1001);

                // The releases of alice's lock and of the node's registry wait on Redis meanwhile.
                AtomicReference<HttpResponse<String>> answer = new AtomicReference<>();
                List<String> seen = new CopyOnWriteArrayList<>();
                await().atMost(Await.seconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> {
                    try {
                        answer.set(get(health));
                    } catch (IOException e) {
                        throw new AssertionError("the port closed, and /health had said only " + seen, e);
                    }
                    seen.add(answer.get().statusCode() + " " + answer.get().body().strip());
                    return answer.get().statusCode() == 503;
                });
                assertThat(answer.get().body()).isEqualTo("{\"status\":\"DOWN\",\"reason\":\"the node is stopping\"}\n");
                assertThat(answer.get().headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
                stop.get(Await.seconds(30).toMillis(), TimeUnit.MILLISECONDS);
            } finally {
                if (stop == null) {
                    server.close();
                }
                server.awaitClosed();
            }
        }
    }
}
