package io.distlock.core;

import static io.distlock.testing.Await.result;
import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import io.distlock.testing.Pushes;
import io.distlock.testing.Pushes.Kind;
import io.distlock.testing.RedisProcess;
import io.distlock.testing.TcpProxy;

/**
 * A release published while a waiter's node is between two pub/sub connections, and while that
 * waiter's own lock attempt is still out: the re-check after the reconnect must count for the
 * attempt, so the waiter hears RETRY right after its WAIT, not a lease later.
 */
class PubSubGapTest {

    /** Long, so that only the re-check after the reconnect can tell the waiter in time. */
    private static final Duration LEASE = Duration.ofSeconds(30);
    /** How long the waiter's attempt stays out: WAIT for a replica that is paused. */
    private static final Duration SYNC = Duration.ofSeconds(8);
    private static final LockConfig CONFIG = LockConfig.builder().lease(LEASE).replicaSync(SYNC).build();

    private RedisProcess primary;
    private RedisProcess replica;
    private TcpProxy proxy;
    private RedissonClient proxiedClient;

    @BeforeEach
    void start() {
        primary = RedisProcess.start();
        replica = RedisProcess.start("--replicaof", "127.0.0.1", Integer.toString(primary.port()));
        await().atMost(seconds(20)).until(() -> String.valueOf(primary.command("INFO", "replication")).contains("slave0:")
                && String.valueOf(replica.command("INFO", "replication")).contains("master_link_status:up"));
        proxy = TcpProxy.start(primary.port());
    }

    @AfterEach
    void stop() {
        replica.resume();
        if (proxiedClient != null) {
            proxiedClient.shutdown(0, 0, TimeUnit.SECONDS);
        }
        proxy.close();
        replica.close();
        primary.close();
    }

    @Test
    void aReleaseMissedWhileTheWaitersAttemptWasOutIsFoundByTheRecheckAfterTheReconnect() {
        Config config = new Config();
        config.useSingleServer().setAddress("redis://127.0.0.1:" + proxy.port());
        proxiedClient = Redisson.create(config);
        try (LockService direct = LockService.connect(primary.url(), CONFIG);
             LockService proxied = LockService.create(proxiedClient, CONFIG)) {
            LockSession holder = direct.openSession("holder", new Pushes());
            Pushes pushes = new Pushes();
            LockSession waiter = proxied.openSession("waiter", pushes);
            // Both nodes learn that the primary has a replica, so their attempts WAIT for it.
            assertThat(result(waiter.lock("warm-up"))).isInstanceOf(LockResult.Locked.class);
            assertThat(result(waiter.unlock("warm-up"))).isEqualTo(UnlockResult.UNLOCKED);
            assertThat(result(holder.lock("doc"))).isInstanceOf(LockResult.Locked.class);

            replica.pause();
            CompletableFuture<LockResult> attempt = waiter.lock("doc").toCompletableFuture();
            await().atMost(seconds(5)).until(() -> "1".equals(String.valueOf(primary.command("HGET", "distlock:lock:doc", "w"))));

            // The waiter's node loses its pub/sub connection and cannot get a new one while the lock is released.
            proxy.refuseNew(true);
            primary.command("CLIENT", "KILL", "TYPE", "pubsub");
            assertThat(result(holder.unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
            proxy.refuseNew(false);

            assertThat(attempt).isNotDone(); // still waiting for the paused replica
            LockResult answer = attempt.orTimeout(SYNC.toMillis() + seconds(10).toMillis(), TimeUnit.MILLISECONDS).join();
            assertThat(answer).isEqualTo(new LockResult.Waiting("holder"));
            pushes.expect(Kind.RETRY, "doc", seconds(5));
        }
    }
}
