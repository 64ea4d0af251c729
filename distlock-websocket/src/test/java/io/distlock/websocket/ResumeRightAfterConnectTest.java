package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

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
 * Found by the leak soak (2026-12-05): the {@code OK} of a version 2 {@code connect} with a grace
 * went out before the session's registry record was written, so a {@code resume} with the secret
 * it gave, sent right after it (its connection dropped at once, or the client moved), could be
 * refused {@code SESSION_EXPIRED} for a session that was alive: under load (Redis answering in
 * hundreds of ms) 4 to 7 resumes per round. Node A's link to Redis is delayed 400 ms each way,
 * so its record write takes 0.8 s; the resume goes to node B, whose link is direct.
 */
class ResumeRightAfterConnectTest {

    static final String PATH = "/distlock/lock";

    @Test
    void aResumeRightAfterTheConnectsOkFindsTheSession() throws Exception {
        LockConfig config = LockConfig.builder().lease(Duration.ofSeconds(12)).build(); // commands get 2 s
        try (RedisProcess redis = RedisProcess.start();
             TcpProxy proxy = TcpProxy.start(redis.port())) {
            Config c = new Config();
            c.useSingleServer().setAddress("redis://127.0.0.1:" + proxy.port());
            RedissonClient slowClient = Redisson.create(c);
            try (LockService a = LockService.create(slowClient, config);
                 LockService b = LockService.connect(redis.url(), config);
                 DistLockEndpoints endpointA = DistLockEndpoints.create(a, EndpointOptions.defaults());
                 DistLockEndpoints endpointB = DistLockEndpoints.create(b, EndpointOptions.defaults());
                 TestServer nodeA = TestServer.tyrus(List.of(endpointA.config()));
                 TestServer nodeB = TestServer.tyrus(List.of(endpointB.config()));
                 WsClient first = WsClient.open(nodeA.uri(PATH));
                 WsClient second = WsClient.open(nodeB.uri(PATH))) {
                proxy.delay(Duration.ofMillis(400));
                JsonNode ok = first.request("OK", "action", "connect", "param", "ann", "version", 2, "grace", 10_000);
                JsonNode resumed = second.send("action", "resume", "session", ok.get("session").asText(),
                        "resume", ok.get("resume").asText()).next();
                assertThat(resumed.get("status").asText()).as("resume right after the connect's OK: %s", resumed).isEqualTo("OK");
                proxy.delay(Duration.ZERO);
            } finally {
                slowClient.shutdown(0, 0, java.util.concurrent.TimeUnit.SECONDS);
            }
        }
    }
}
