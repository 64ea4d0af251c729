package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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

    /**
     * An Error is a refusal too, and the connection and its session go on (review 2026-12-06: a
     * regex's StackOverflowError on a long name escaped; Tyrus released the session, freeing its
     * locks, but left the socket open and unanswered, so the client still believed it held them).
     */
    @Test
    void anAuthorizerThatThrowsAnErrorRefusesTheRequestAndTheSessionKeepsItsLocks() {
        Authorizer erring = (principal, lock) -> {
            if (lock.startsWith("deep-")) {
                throw new StackOverflowError(); // what lock.matches("(\\w|-)+") throws on ~2,000 characters
            }
            if (lock.startsWith("todo-")) {
                throw new Error("not implemented"); // Kotlin's TODO() throws an Error
            }
            return true;
        };
        try (RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(5)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.builder().authorizer(erring).build());
             TestServer server = TestServer.tyrus(List.of(endpoint.config()));
             WsClient mallory = WsClient.open(server.uri("/distlock/lock"));
             WsClient bob = WsClient.open(server.uri("/distlock/lock"))) {
            mallory.request("OK", "action", "connect", "param", "mallory");
            mallory.request("LOCKED", "action", "lock", "param", "doc-1");
            bob.request("OK", "action", "connect", "param", "bob");
            bob.request("WAIT", "action", "lock", "param", "doc-1");

            assertThat(mallory.request("FAIL", "action", "lock", "param", "deep-1").path("code").asText()).isEqualTo("UNAUTHORIZED");
            assertThat(mallory.request("FAIL", "action", "lock", "param", "todo-1").path("code").asText()).isEqualTo("UNAUTHORIZED");
            mallory.request("LOCKED", "action", "lock", "param", "doc-2");
            mallory.request("OK", "action", "unlock", "param", "doc-1"); // still its own: the session was not let go
            assertThat(bob.next().path("status").asText()).isEqualTo("RETRY");
            assertThat(endpoint.openConnections()).isEqualTo(2);
        }
    }

    /** An authenticator's Error refuses the handshake with 403, as an exception does (it was no answer at all). */
    @Test
    void anAuthenticatorThatThrowsAnErrorRefusesTheHandshake() {
        Authenticator erring = handshake -> {
            if (handshake.header("Cookie") != null) {
                throw new StackOverflowError();
            }
            return Optional.of("user");
        };
        try (RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(5)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.builder().authenticator(erring).build());
             TestServer server = TestServer.tyrus(List.of(endpoint.config()))) {
            assertThat(WsClient.refusedHandshake(server.uri("/distlock/lock"), Map.of("Cookie", "a=b"))).isEqualTo(403);
            try (WsClient alice = WsClient.open(server.uri("/distlock/lock"))) {
                alice.request("OK", "action", "connect", "param", "alice");
            }
        }
    }
}
