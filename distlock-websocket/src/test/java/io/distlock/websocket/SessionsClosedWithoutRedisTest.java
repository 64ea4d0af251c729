package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;

import org.junit.jupiter.api.Test;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.testing.Await;
import io.distlock.testing.LogRecorder;
import io.distlock.testing.RedisProcess;

/**
 * Sessions closed while Redis does not answer (a node shut down with Redis frozen) are logged
 * without one line each. Found by review (2026-12-05): one WARNING per session, so 10,000
 * connections closing wrote 10,000 lines.
 */
class SessionsClosedWithoutRedisTest {

    private static final int CONNECTIONS = 8;

    @Test
    void sessionsClosedWhileRedisIsPausedAreLoggedAtTheFirstThenWithACount() {
        List<WsClient> clients = new ArrayList<>();
        // a 3 s lease: Redis gets 500 ms to answer a command, so a close during a pause fails soon, and the steps that
        // must reach Redis (the second part's lock, WAIT, close and lock) have room for a stall on a loaded machine
        try (LogRecorder log = LogRecorder.of(Connection.class);
             RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(3)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.defaults());
             TestServer server = TestServer.tyrus(List.of(endpoint.config()))) {
            for (int i = 0; i < CONNECTIONS; i++) {
                WsClient client = WsClient.open(server.uri("/distlock/lock"));
                clients.add(client);
                client.request("OK", "action", "connect", "param", "user-" + i);
                client.request("LOCKED", "action", "lock", "param", "doc-" + i);
            }
            redis.pause();
            try {
                clients.forEach(WsClient::close); // each connection's session is closed, and cannot reach Redis
                await().atMost(Await.seconds(20)).until(() -> closedWithoutRedis(log).size() >= CONNECTIONS
                        || closedWithoutRedis(log).stream().anyMatch(r -> r.getMessage().contains(CONNECTIONS + " times so far")));
            } finally {
                redis.resume();
            }
            List<LogRecord> warnings = closedWithoutRedis(log);
            // the 1st with its detail, then the 2nd, 4th and 8th with the count
            assertThat(warnings).hasSize(4);
            assertThat(warnings.get(0).getMessage()).contains("user-");
            assertThat(warnings.get(3).getMessage()).contains(CONNECTIONS + " times so far", "user-");

            // A close that reaches Redis starts the count over: the next outage's first is logged whole
            // (without it, the 9th would be logged at no power of two, not at all; found by review).
            try (WsClient holder = WsClient.open(server.uri("/distlock/lock"));
                 WsClient probe = WsClient.open(server.uri("/distlock/lock"))) {
                holder.request("OK", "action", "connect", "param", "again-holder");
                holder.request("LOCKED", "action", "lock", "param", "again");
                probe.request("OK", "action", "connect", "param", "again-probe");
                probe.request("WAIT", "action", "lock", "param", "again");
                holder.close(); // its session's close reaches Redis and frees the lock
                probe.expectNext("RETRY");
                probe.request("LOCKED", "action", "lock", "param", "again"); // its close must free it in Redis
                redis.pause();
                try {
                    probe.close();
                    await().atMost(Await.seconds(20)).until(() -> closedWithoutRedis(log).size() > warnings.size());
                } finally {
                    redis.resume();
                }
            }
            LogRecord next = closedWithoutRedis(log).get(warnings.size());
            assertThat(next.getMessage()).contains("again-probe").doesNotContain("times so far");
        } finally {
            clients.forEach(WsClient::close);
        }
    }

    private static List<LogRecord> closedWithoutRedis(LogRecorder log) {
        return log.records().stream()
                .filter(r -> r.getLevel().intValue() >= Level.WARNING.intValue() && r.getMessage().contains("without reaching Redis")).toList();
    }
}
