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

/** Redis stops answering: requests fail with BACKEND_UNAVAILABLE, and work again once it is back. */
class BackendUnavailableTest {

    @Test
    void aPausedRedisAnswersBackendUnavailableAndTheConnectionSurvives() {
        try (RedisProcess redis = RedisProcess.start()) {
            Config config = new Config();
            config.useSingleServer().setAddress(redis.url()).setTimeout(300).setRetryAttempts(0).setConnectTimeout(1000);
            RedissonClient redisson = Redisson.create(config);
            try (LockService service = LockService.create(redisson, LockConfig.builder().lease(Duration.ofSeconds(10)).build());
                 DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.defaults());
                 TestServer server = TestServer.tyrus(List.of(endpoint.config()));
                 WsClient c = WsClient.open(server.uri("/distlock/lock"))) {
                c.request("OK", "action", "connect", "param", "alice");
                c.request("LOCKED", "action", "lock", "param", "before");
                redis.pause();
                try {
                    c.send("action", "lock", "param", "during", "id", 1);
                    JsonNode reply = c.expectFail("BACKEND_UNAVAILABLE");
                    assertThat(reply.path("id").asInt()).isEqualTo(1);
                    assertThat(reply.path("lock").asText()).isEqualTo("during");
                } finally {
                    redis.resume();
                }
                c.request("LOCKED", "action", "lock", "param", "during");
                c.request("OK", "action", "unlock", "param", "before");
            } finally {
                redisson.shutdown();
            }
        }
    }
}
