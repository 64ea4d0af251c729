package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;

import org.junit.jupiter.api.Test;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.testing.LogRecorder;
import io.distlock.testing.RedisProcess;

/**
 * An authorizer that throws on what a client sent (the docs allow it: "an exception counts as
 * false") is a refusal every time, logged without letting the client flood the log. Found by
 * review (2026-12-05): each refused request logged a WARNING with a stack trace, 200 a second
 * from one connection at the default rate limit.
 */
class AuthorizerThrowsTest {

    @Test
    void aClientWhoseNamesMakeTheAuthorizerThrowIsRefusedWithoutFloodingTheLog() {
        // An authorizer of "doc-<number>" names: a name that is not one throws.
        Authorizer byNumber = (principal, lock) -> Long.parseLong(lock.substring(4)) >= 0;
        try (LogRecorder log = LogRecorder.of(RequestHandler.class);
             RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(5)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.builder().authorizer(byNumber).build());
             TestServer server = TestServer.tyrus(List.of(endpoint.config()));
             WsClient mallory = WsClient.open(server.uri("/distlock/lock"))) {
            mallory.request("OK", "action", "connect", "param", "mallory");
            for (int i = 0; i < 100; i++) {
                assertThat(mallory.request("FAIL", "action", "lock", "param", "doc-x" + i).path("code").asText()).isEqualTo("UNAUTHORIZED");
            }
            assertThat(mallory.request("LOCKED", "action", "lock", "param", "doc-7").path("status").asText()).isEqualTo("LOCKED");

            List<LogRecord> warnings = log.records().stream()
                    .filter(r -> r.getLevel().intValue() >= Level.WARNING.intValue() && r.getMessage().contains("authorizer threw")).toList();
            // the 1st (with its stack trace), then the 2nd, 4th, ... 64th, with the count
            assertThat(warnings).hasSize(7);
            assertThat(warnings.stream().filter(r -> r.getThrown() != null)).hasSize(1);
            assertThat(warnings.get(6).getMessage()).contains("64 times so far", "java.lang.NumberFormatException");
        }
    }
}
