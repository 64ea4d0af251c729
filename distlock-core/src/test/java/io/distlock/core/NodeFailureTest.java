package io.distlock.core;

import static io.distlock.testing.Await.result;
import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
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
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** Nodes that die and a Redis that dies, pauses or forgets: waiters are still told, holders told LOST. */
class NodeFailureTest {

    private static final Duration LEASE = Duration.ofSeconds(2);
    private static final LockConfig CONFIG = LockConfig.builder().lease(LEASE).build();

    private RedisProcess redis;

    @BeforeEach
    void startRedis() {
        redis = RedisProcess.start();
    }

    @AfterEach
    void stopRedis() {
        redis.close();
    }

    private RedissonClient client() {
        Config config = new Config();
        config.useSingleServer().setAddress(redis.url()).setTimeout(1000).setRetryAttempts(1);
        return Redisson.create(config);
    }

    @Test
    void aDeadNodesLocksFreeThemselvesWithinTheLeaseAndWaitersAreTold() {
        RedissonClient doomedClient = client();
        LockService doomed = LockService.create(doomedClient, CONFIG);
        try (LockService survivor = LockService.connect(redis.url(), CONFIG)) {
            LockSession holder = doomed.openSession("holder", LockListener.NONE);
            Pushes pushes = new Pushes();
            LockSession waiter = survivor.openSession("waiter", pushes);
            assertThat(result(holder.lock("doc"))).isInstanceOf(LockResult.Locked.class);
            assertThat(result(waiter.lock("doc"))).isEqualTo(new LockResult.Waiting("holder"));

            // The node dies: its Redis connections go away and nothing is released.
            long died = System.nanoTime();
            doomedClient.shutdown(0, 0, TimeUnit.SECONDS);

            pushes.expect(Kind.RETRY, "doc", LEASE.plus(seconds(1)));
            assertThat(Duration.ofNanos(System.nanoTime() - died)).isLessThan(LEASE.plusSeconds(1));
            assertThat(result(waiter.lock("doc"))).isInstanceOf(LockResult.Locked.class);
        } finally {
            doomed.close();
        }
    }

    @Test
    void waitersAreToldAfterRedisRestartsAndHoldersAreToldTheirLockIsLost() {
        // A long lease, so that only the re-check after the reconnect can tell the waiter in time.
        LockConfig longLease = LockConfig.builder().lease(Duration.ofSeconds(30)).build();
        try (LockService node1 = LockService.connect(redis.url(), longLease);
             LockService node2 = LockService.connect(redis.url(), longLease)) {
            Pushes holderPushes = new Pushes();
            Pushes waiterPushes = new Pushes();
            LockSession holder = node1.openSession("holder", holderPushes);
            LockSession waiter = node2.openSession("waiter", waiterPushes);
            assertThat(result(holder.lock("doc"))).isInstanceOf(LockResult.Locked.class);
            assertThat(result(waiter.lock("doc"))).isInstanceOf(LockResult.Waiting.class);

            redis.restart(); // empty: the lock is gone, and nobody published anything

            waiterPushes.expect(Kind.RETRY, "doc", seconds(8));
            // The holder learns at its next renewal, on the first tick a twelfth of the lease after its grant.
            holderPushes.expect(Kind.LOST, "doc", seconds(25));
            assertThat(holder.heldLocks()).isEmpty();
            // Redis lost data: no lock is granted for a lease (DataLossTest), the waiter waits again.
            assertThat(result(waiter.lock("doc"))).isEqualTo(new LockResult.Waiting(LockResult.Waiting.RECOVERING));
        }
    }

    @Test
    void aNodeOnANewRedisAtAnAddressAnEarlierClientUsedStillRenewsAndReleases() {
        // Redisson remembers loaded scripts per address for the whole JVM: a new Redis at the same
        // address, started while no client was connected, must not make every renewal fail.
        LockConfig config = CONFIG.toBuilder().dataLossQuarantine(false).build();
        try (LockService first = LockService.connect(redis.url(), config)) {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            new LockServiceMetrics(first).bindTo(registry);
            result(first.openSession("a", LockListener.NONE).lock("doc"));
            await().atMost(seconds(5)).until(() ->
                    registry.get("distlock.lease.renewals").tag("result", "renewed").counter().count() >= 1);
        }
        redis.restart();
        try (LockService second = LockService.connect(redis.url(), config)) {
            Pushes pushes = new Pushes();
            LockSession holder = second.openSession("b", pushes);
            long token = ((LockResult.Locked) result(holder.lock("doc"))).token();
            pushes.expectNone(LEASE.multipliedBy(2));
            assertThat(holder.heldLocks()).containsEntry("doc", token);
            result(holder.closeAsync());
            assertThat(redis.command("HGET", "distlock:lock:doc", "owner")).isNull();
        }
    }

    @Test
    void aHolderWhoseLeaseCannotBeRenewedIsToldLostBeforeTheLeaseRunsOut() {
        // LOST comes with a sixth of the lease to spare: a longer lease here, so that a loaded
        // machine's scheduling delays (seen: 0.8 s) do not eat the whole margin.
        Duration lease = Duration.ofSeconds(6);
        RedissonClient client = client();
        try (LockService node = LockService.create(client, LockConfig.builder().lease(lease).build())) {
            Pushes pushes = new Pushes();
            LockSession holder = node.openSession("holder", pushes);
            long sent = System.nanoTime();
            assertThat(result(holder.lock("doc"))).isInstanceOf(LockResult.Locked.class);

            redis.pause();
            try {
                Pushes.Push lost = pushes.expect(Kind.LOST, "doc", seconds(10));
                // The lease started no earlier than the lock command was sent; LOST must come before it ends.
                assertThat(Duration.ofNanos(lost.atNanos() - sent)).isLessThan(lease);
                assertThat(holder.heldLocks()).isEmpty();
            } finally {
                redis.resume();
            }
        } finally {
            client.shutdown();
        }
    }

    @Test
    void aLiveNodeKeepsItsLocksPastTheLease() {
        // Every command goes out with a response timeout of a sixth of the lease. With a 2 s lease,
        // one answer slower than 333 ms on a loaded machine failed a lock attempt of the test's
        // (BackendUnavailableException, "Redis server response timeout (333 ms)"), and with it the
        // test, while the holder kept its lock (a timed-out renewal is sent again at a later tick;
        // seen with Redis stopped for 0.5 to 0.8 s). A 6 s lease gives each command 1 s, more than
        // the scheduling delays seen under load (0.8 s).
        Duration lease = Duration.ofSeconds(6);
        LockConfig config = LockConfig.builder().lease(lease).build();
        try (LockService node1 = LockService.connect(redis.url(), config);
             LockService node2 = LockService.connect(redis.url(), config)) {
            Pushes pushes = new Pushes();
            LockSession holder = node1.openSession("holder", pushes);
            LockSession other = node2.openSession("other", LockListener.NONE);
            long token = ((LockResult.Locked) result(holder.lock("doc"))).token();
            long until = System.nanoTime() + lease.multipliedBy(3).toNanos();
            await().atMost(lease.multipliedBy(4)).pollInterval(Duration.ofMillis(200)).until(() -> {
                assertThat(result(other.lock("doc"))).isEqualTo(new LockResult.Waiting("holder"));
                return System.nanoTime() > until;
            });
            pushes.expectNone(Duration.ZERO);
            assertThat(holder.heldLocks()).containsEntry("doc", token);
        }
    }

    @Test
    void aLockAttemptThatCannotReachRedisFailsWithBackendUnavailable() {
        RedissonClient client = client();
        try (LockService node = LockService.create(client, CONFIG)) {
            LockSession session = node.openSession("s", LockListener.NONE);
            redis.pause();
            try {
                Throwable failure = session.lock("doc").toCompletableFuture()
                        .handle((r, e) -> e).get(30, TimeUnit.SECONDS);
                assertThat(failure).isInstanceOf(BackendUnavailableException.class);
                assertThat(session.heldLocks()).isEmpty();
            } catch (Exception e) {
                throw new AssertionError(e);
            } finally {
                redis.resume();
            }
            // the session still works once Redis answers again
            await().atMost(seconds(10)).untilAsserted(() ->
                    assertThat(result(session.lock("doc"))).isInstanceOf(LockResult.Locked.class));
        } finally {
            client.shutdown();
        }
    }
}
