package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;

/**
 * {@code --no-demo}, for nodes that serve only the WebSocket endpoint: the board page, its files
 * and its store answer 404 (a save reaches no Redis), {@code /} is a short page naming the node
 * and its endpoint, the startup line offers no page to open; the endpoint, {@code /health},
 * {@code /metrics} and the JavaScript client are served as before.
 */
class NoDemoTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void withoutTheDemoItsPathsAre404AndTheRestIsServed() throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url())
                     .keyPrefix("no-demo").demo(false).build())) {
            for (String path : new String[] {"/demo/docs", "/demo/docs/doc-7", "/demo/demo.js", "/demo/demo.css"}) {
                assertThat(Http.get(server.pageUri().resolve(path)).statusCode()).as(path).isEqualTo(404);
            }
            HttpResponse<String> save = HTTP.send(HttpRequest.newBuilder(server.pageUri().resolve("/demo/docs/doc-7"))
                    .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString("{\"token\": 5, \"text\": \"x\"}"))
                    .timeout(Await.seconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(save.statusCode()).isEqualTo(404);
            assertThat(redis.command("KEYS", "no-demo:demo:*").toString()).as("nothing stored").isEqualTo("[]");

            HttpResponse<String> page = Http.get(server.pageUri());
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.body()).contains(server.nodeId(), "ws://127.0.0.1:" + server.port() + "/distlock/lock", "--no-demo")
                    .doesNotContain("/demo/", "{{");
            assertThat(server.startupLine()).startsWith("distlock node " + server.nodeId() + " listening on ws://127.0.0.1:"
                    + server.port() + "/distlock/lock (no demo), Redis ").doesNotContain("http://");

            assertThat(Http.get(server.pageUri().resolve("/health")).statusCode()).isEqualTo(200);
            HttpResponse<String> metrics = Http.get(server.pageUri().resolve("/metrics"));
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("distlock_websocket_connections").doesNotContain("demo");
            assertThat(Http.get(server.pageUri().resolve("/distlock/distlock.js")).statusCode()).isEqualTo(200);
            try (WsClient client = WsClient.connect(server.webSocketUri())) {
                assertThat(client.request("{\"action\":\"connect\",\"param\":\"ops\"}").path("status").asText()).isEqualTo("OK");
                assertThat(client.request("{\"action\":\"lock\",\"param\":\"doc-7\"}").path("status").asText())
                        .as("granted, or waiting out the data-loss quarantine of a Redis new to it").isIn("LOCKED", "WAIT");
            }
        }
    }

    @Test
    void withTheDemoTheStartupLineOffersThePage() throws IOException {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url()).build())) {
            assertThat(server.startupLine()).startsWith("distlock node " + server.nodeId() + " listening on http://127.0.0.1:"
                    + server.port() + "/ (WebSocket ws://127.0.0.1:" + server.port() + "/distlock/lock), Redis ");
            assertThat(Http.get(server.pageUri().resolve("/demo/docs")).statusCode()).isEqualTo(200);
        }
    }
}
