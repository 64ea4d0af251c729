package io.distlock.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.netty.handler.ssl.SslHandshakeTimeoutException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.redisson.client.RedisConnectionException;
import org.redisson.client.RedisTimeoutException;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

/**
 * {@link LockService#connect} against a Redis that accepts connections and answers nothing gives
 * up after {@link LockService#CONNECT_DEADLINE} and says so in words. Redisson's five attempts,
 * each waiting out a timeout, took 58 s for {@code rediss://} at a plain Redis port ("handshake
 * timed out after 10000ms") and 23 s for a paused Redis ("Command execution timeout for command:
 * (AUTH)").
 */
class ConnectDeadlineTest {

    /** Generous: the deadline is 15 s, Redisson alone took 23 to 58 s. */
    private static final Duration WITHIN = Await.seconds(30);

    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        cleanup.add(c);
        return c;
    }

    @Test
    void aTlsUrlForAPlainRedisPortSaysThePortMayNotSpeakTls() {
        RedisProcess redis = closeLater(RedisProcess.start());
        long start = System.nanoTime();
        // a plain Redis reads the ClientHello as the start of an inline command and waits for the rest
        assertThatThrownBy(() -> closeLater(LockService.connect("rediss://127.0.0.1:" + redis.port(), LockConfig.defaults())))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageStartingWith("Cannot connect to Redis at 127.0.0.1:" + redis.port()
                        + ": Redis accepted the connection but did not answer the TLS handshake")
                .hasMessageContaining("is this port TLS? A plain Redis port answers nothing to a TLS handshake: use redis://");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(WITHIN);
    }

    @Test
    void aPausedRedisIsSaidToHaveAcceptedTheConnectionAndAnsweredNothing() {
        RedisProcess redis = closeLater(RedisProcess.startWithLogin(List.of("s3cret-pw"), "--requirepass", "s3cret-pw"));
        String url = "redis://:s3cret-pw@127.0.0.1:" + redis.port();
        redis.pause();
        try {
            long start = System.nanoTime();
            assertThatThrownBy(() -> closeLater(LockService.connect(url, LockConfig.defaults())))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessage("Cannot connect to Redis at 127.0.0.1:" + redis.port() + ": Redis accepted the connection but did"
                            + " not answer AUTH within 15 s: is it paused, overloaded, or not Redis? (a port that takes TLS"
                            + " answers nothing to a redis:// URL: use rediss://)");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(WITHIN);
        } finally {
            redis.resume();
        }
        // Redisson went on trying in the background, and now gets its answer: the client it makes is
        // shut down, not left connected.
        String connecting = "distlock-redis-connect 127.0.0.1:" + redis.port();
        await().atMost(Await.seconds(60)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().equals(connecting)));
        await().atMost(Await.seconds(10)).untilAsserted(() -> assertThat(String.valueOf(redis.command("CLIENT", "LIST")).lines())
                .as("only this test's own connection").hasSize(1));
    }

    /** Where a client of the application's (the Spring Boot starter's) ran out of attempts: Redisson's last failure, worded. */
    @Test
    void redissonsTimeoutsAtConnectAreSaidInWords() {
        assertThat(LockService.connectFailure(new RedisConnectionException("Unable to connect to Redis server",
                new RedisTimeoutException("Command execution timeout for command: (AUTH), params: (password masked), Redis client:"
                        + " [addr=redis://***@127.0.0.1:6379]"))))
                .isEqualTo("Redis accepted the connection but did not answer AUTH in time: is it paused, overloaded, or not Redis?"
                        + " (a port that takes TLS answers nothing to a redis:// URL: use rediss://)");
        assertThat(LockService.connectFailure(new RedisConnectionException("Unable to connect to Redis server",
                new SslHandshakeTimeoutException("handshake timed out after 10000ms"))))
                .isEqualTo("Redis accepted the connection but did not answer the TLS handshake (handshake timed out after 10000ms):"
                        + " is this port TLS? A plain Redis port answers nothing to a TLS handshake: use redis://. Or is Redis"
                        + " paused or overloaded?");
    }
}
