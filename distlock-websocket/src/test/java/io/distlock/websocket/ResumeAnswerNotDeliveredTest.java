package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.testing.RedisProcess;
import io.distlock.testing.TcpProxy;

/**
 * Found by the reconnect-storm probe (2026-12-05): a resume whose connection ends before its
 * answer goes out (the client gave up waiting, as the bundled one does after its request timeout,
 * or its network dropped again) still moved the session, with a new secret nobody received. The
 * client's next resume, with the only secret it has, was refused {@code SESSION_EXPIRED}: a live
 * session lost. Node B's link to Redis is delayed 300 ms each way, so the resume takes seconds;
 * the client closes its connection right after sending it.
 */
class ResumeAnswerNotDeliveredTest {

    static final String PATH = "/distlock/lock";

    @Test
    void aResumeWhoseAnswerCouldNotBeSentLeavesTheSecretTheClientHas() throws Exception {
        LockConfig config = LockConfig.builder().lease(Duration.ofSeconds(12)).build(); // commands get 2 s
        try (RedisProcess redis = RedisProcess.start();
             TcpProxy proxy = TcpProxy.start(redis.port())) {
            Config c = new Config();
            c.useSingleServer().setAddress("redis://127.0.0.1:" + proxy.port());
            RedissonClient slowClient = Redisson.create(c);
            try (LockService a = LockService.connect(redis.url(), config);
                 LockService b = LockService.create(slowClient, config);
                 DistLockEndpoints endpointA = DistLockEndpoints.create(a, EndpointOptions.defaults());
                 DistLockEndpoints endpointB = DistLockEndpoints.create(b, EndpointOptions.defaults());
                 TestServer nodeA = TestServer.tyrus(List.of(endpointA.config()));
                 TestServer nodeB = TestServer.tyrus(List.of(endpointB.config()))) {
                WsClient first = WsClient.open(nodeA.uri(PATH));
                JsonNode ok = first.request("OK", "action", "connect", "param", "ann", "version", 2, "grace", 30_000);
                String session = ok.get("session").asText();
                String secret = ok.get("resume").asText();
                long token = first.request("LOCKED", "action", "lock", "param", "doc").get("token").asLong();
                first.abort();
                String record = "distlock:session:" + session;
                await().atMost(Duration.ofSeconds(5)).until(() -> "d".equals(redis.command("HGET", record, "state")));
                Object ownerA = redis.command("HGET", record, "node");

                proxy.delay(Duration.ofMillis(300));
                WsClient gaveUp = WsClient.open(nodeB.uri(PATH));
                gaveUp.send("action", "resume", "session", session, "resume", secret);
                gaveUp.abort(); // before the answer
                // B took the session over, and detached it again since its connection was gone.
                await().atMost(Duration.ofSeconds(15)).until(() -> !ownerA.equals(redis.command("HGET", record, "node"))
                        && "d".equals(redis.command("HGET", record, "state")));
                proxy.delay(Duration.ZERO);

                try (WsClient again = WsClient.open(nodeB.uri(PATH))) {
                    JsonNode resumed = again.send("action", "resume", "session", session, "resume", secret).next();
                    assertThat(resumed.get("status").asText()).as("the retry with the secret the client has: %s", resumed)
                            .isEqualTo("OK");
                    assertThat(resumed.get("locks").get("doc").get("token").asLong()).isEqualTo(token);
                }
            } finally {
                slowClient.shutdown(0, 0, java.util.concurrent.TimeUnit.SECONDS);
            }
        }
    }
}
