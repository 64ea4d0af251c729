package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

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
}
