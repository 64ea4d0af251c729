package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

/**
 * The silence rule exactly at its boundary, on a clock the test moves and a timer it ticks by
 * hand (no sleeps): a connection silent for one nanosecond less than two ping intervals is
 * kept; at two intervals it is closed with 1001 and its session released. Real
 * Redis, a real Tyrus server, and a raw client that never answers pings.
 */
class SilenceOnFakeClockTest {

    private static final Duration PING = Duration.ofSeconds(15);

    @Test
    void aConnectionSilentForTwoPingIntervalsIsClosedThenAndNotOneNanosecondBefore() {
        AtomicLong now = new AtomicLong(123_456_789L);
        ManualTimer timer = new ManualTimer();
        EndpointOptions options = EndpointOptions.builder().pingInterval(PING).ticker(now::get).build();
        try (RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(5)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, options, timer, Runnable::run);
             TestServer server = TestServer.tyrus(List.of(endpoint.config()));
             RawWebSocket silent = RawWebSocket.open(server.uri("/distlock/lock"))) {
            silent.sendText(WsClient.json("action", "connect", "param", "silent"));
            assertThat(silent.readText(WsClient.TIMEOUT)).contains("Open session"); // last heard: now
            assertThat(timer.scheduled()).isEqualTo(1);

            // The sender runs on the ticking thread: a close decided by a tick has happened when it returns.
            // (Whether a tick pings depends on the connect reply's send having completed: not asserted.)
            now.addAndGet(PING.toNanos());
            timer.tick();
            assertThat(endpoint.openConnections()).as("after one interval").isEqualTo(1);

            now.addAndGet(PING.toNanos() - 1);
            timer.tick();
            assertThat(endpoint.openConnections()).as("one nanosecond before two intervals").isEqualTo(1);
            assertThat(service.sessionCount()).isEqualTo(1);

            now.incrementAndGet();
            timer.tick();
            assertThat(endpoint.openConnections()).as("at two intervals").isZero();
            RawWebSocket.Frame close = silent.readFrame(WsClient.TIMEOUT);
            while (close != null && close.opcode() == 0x9) {
                close = silent.readFrame(WsClient.TIMEOUT); // the pings of the ticks before
            }
            assertThat(close).isNotNull();
            assertThat(close.opcode()).isEqualTo(0x8);
            assertThat(ByteBuffer.wrap(close.payload()).getShort() & 0xffff).isEqualTo(1001);
            assertThat(timer.scheduled()).as("the closed connection's tick is cancelled").isZero();
            await().atMost(Await.seconds(5)).until(() -> service.sessionCount() == 0);
        } finally {
            timer.shutdownNow();
        }
    }
}
