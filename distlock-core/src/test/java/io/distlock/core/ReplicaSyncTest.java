package io.distlock.core;

import static io.distlock.testing.Await.result;
import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import io.distlock.testing.FakeTime;
import io.distlock.testing.Pushes;
import io.distlock.testing.Pushes.Kind;
import io.distlock.testing.RedisProcess;

/**
 * Replica sync of grants ({@link LockConfig#replicaSync()}): a grant is answered only once a
 * replica has it; a grant no replica confirms is released and fails with
 * {@link BackendUnavailableException}; without replicas nothing extra is sent.
 */
class ReplicaSyncTest {

    private static final Duration SYNC = Duration.ofMillis(500);
    private static final LockConfig CONFIG = LockConfig.builder().lease(Duration.ofSeconds(3)).replicaSync(SYNC).build();

    /** A primary with one replica, and a Redisson client that knows both (master/slave). */
    @Nested
    class WithAReplica {

        private final RedisProcess primary = RedisProcess.start();
        private final RedisProcess replica = RedisProcess.start("--replicaof", "127.0.0.1", Integer.toString(primary.port()));
        private RedissonClient client;

        WithAReplica() {
            await().atMost(seconds(20)).until(() -> info(primary, "replication").contains("slave0:")
                    && info(replica, "replication").contains("master_link_status:up"));
            Config config = new Config();
            config.useMasterSlaveServers().setMasterAddress(primary.url()).addSlaveAddress(replica.url())
                    .setTimeout(2000).setRetryAttempts(1);
            client = Redisson.create(config);
        }

        @AfterEach
        void stop() {
            replica.resume(); // in case a test failed while it was paused
            client.shutdown();
            replica.close();
            primary.close();
        }

        @Test
        void theReplicaHasEveryGrantAsSoonAsItIsAnswered() {
            try (LockService service = LockService.create(client, CONFIG)) {
                LockSession alice = service.openSession("alice", LockListener.NONE);
                // The first grant finds out that the primary has a replica (and is confirmed
                // afterwards); the next ones are sent together with WAIT.
                for (String lock : List.of("doc-1", "doc-2", "doc-3")) {
                    LockResult.Locked locked = (LockResult.Locked) result(alice.lock(lock));
                    assertThat(replica.command("HMGET", "distlock:lock:" + lock, "owner", "token"))
                            .isEqualTo(List.of(alice.id(), Long.toString(locked.token())));
                }
                MultiLockResult.Locked all = (MultiLockResult.Locked) result(alice.lockAll(List.of("a", "b")));
                for (Map.Entry<String, Long> grant : all.tokens().entrySet()) {
                    assertThat(replica.command("HMGET", "distlock:lock:" + grant.getKey(), "owner", "token"))
                            .isEqualTo(List.of(alice.id(), Long.toString(grant.getValue())));
                }
                assertThat(commandCalls(primary).get("wait")).isGreaterThanOrEqualTo(3);
            }
        }

        @Test
        void aGrantNoReplicaConfirmsIsRefusedAndReleased() {
            try (LockService service = LockService.create(client, CONFIG)) {
                LockSession alice = service.openSession("alice", LockListener.NONE);
                LockSession bob = service.openSession("bob", LockListener.NONE);
                long held = ((LockResult.Locked) result(alice.lock("held"))).token();

                replica.pause();
                try {
                    long start = System.nanoTime();
                    assertThat(failure(alice.lock("doc")))
                            .isInstanceOf(BackendUnavailableException.class)
                            .hasMessage("Redis replicas did not confirm the lock");
                    Duration took = Duration.ofNanos(System.nanoTime() - start);
                    assertThat(took).isGreaterThanOrEqualTo(SYNC.minusMillis(50)).isLessThan(SYNC.plus(seconds(3)));
                    // Released before the failure was answered: nobody owns it in Redis.
                    assertThat(primary.command("HGET", "distlock:lock:doc", "owner")).isNull();

                    assertThat(failure(alice.lockAll(List.of("x", "y", "held"))))
                            .isInstanceOf(BackendUnavailableException.class)
                            .hasMessage("Redis replicas did not confirm the lock");
                    assertThat(primary.command("HGET", "distlock:lock:x", "owner")).isNull();
                    assertThat(primary.command("HGET", "distlock:lock:y", "owner")).isNull();
                    // A lock the session held before is not given up by a refused request.
                    assertThat(primary.command("HGET", "distlock:lock:held", "owner")).isEqualTo(alice.id());
                    assertThat(alice.heldLocks()).isEqualTo(Map.of("held", held));

                    // Re-locking a held lock only refreshes it, like a renewal: it does not wait.
                    assertThat(result(alice.lock("held"))).isEqualTo(new LockResult.Locked(held));
                } finally {
                    replica.resume();
                }

                // The refused grants left nothing behind: another session gets the locks.
                await().atMost(seconds(10)).untilAsserted(() ->
                        assertThat(outcome(bob.lock("doc"))).isInstanceOf(LockResult.Locked.class));
                assertThat(result(bob.lockAll(List.of("x", "y")))).isInstanceOf(MultiLockResult.Locked.class);
                assertThat(replica.command("HGET", "distlock:lock:doc", "owner")).isEqualTo(bob.id());
            }
        }

        /**
         * Found by review (2026-12-05): an mlock over a lock just handed to the session's place
         * (its GRANTED not come yet) replaced that grant with its own, no replica confirmed it, and
         * it was released; the place, still known, then took the late GRANTED for a grant Redis no
         * longer had, while another session locked the lock. A failed mlock gives such places up.
         */
        @Test
        void aFailedMlockGivesUpThePlacesOfItsLocksAndTheirLateGrantsAreNotTakenForGrants() {
            try (LockService service = LockService.create(client, CONFIG)) {
                LockSession holder = service.openSession("holder", LockListener.NONE);
                assertThat(result(holder.lock("doc"))).isInstanceOf(LockResult.Locked.class);
                Pushes pushes = new Pushes();
                LockSession s = service.openSession("s", pushes);
                assertThat(result(s.lock("doc", LockOptions.exclusive().queue()))).isInstanceOf(LockResult.Queued.class);
                String place = ((Session) s).places().get("doc").attemptId();
                // The grant's message goes nowhere: it comes, late, below.
                String[] f = ((String) primary.command("HGET", "distlock:queued:doc", s.id())).split("\\|", 5);
                primary.command("HSET", "distlock:queued:doc", s.id(), f[0] + "|" + f[1] + "|" + f[2] + "|nobody|" + f[4]);
                result(holder.unlock("doc"));
                long handedOver = Long.parseLong((String) primary.command("HGET", "distlock:lock:doc", "token"));
                assertThat(primary.command("HGET", "distlock:lock:doc", "owner")).isEqualTo(s.id());

                replica.pause();
                try {
                    assertThat(failure(s.lockAll(List.of("doc")))).isInstanceOf(BackendUnavailableException.class);
                } finally {
                    replica.resume();
                }
                assertThat(pushes.expect(Kind.CANCELLED, "doc", seconds(5)).detail()).isEqualTo("backend");
                service.granted(new RedisLockStore.Granted(s.id(), place, "doc", handedOver, LockMode.EXCLUSIVE));

                LockSession other = service.openSession("other", LockListener.NONE);
                await().atMost(seconds(10)).untilAsserted(() ->
                        assertThat(outcome(other.lock("doc"))).isInstanceOf(LockResult.Locked.class));
                assertThat(s.heldLocks()).as("s is told it holds nothing Redis gave another").doesNotContainKey("doc");
                assertThat(pushes.all()).extracting(Pushes.Push::kind).doesNotContain(Kind.GRANTED);
            }
        }

        /**
         * Found by review (2026-12-05): a re-lock of a lock the session holds, which Redis had lost
         * and so granted anew, was left in Redis when no replica confirmed it (only locks not held
         * before were released), and blocked the lock for a lease. It is released by its attempt now.
         */
        @Test
        void aReLockRedisGrantedAnewAndNoReplicaConfirmedIsReleased() {
            try (LockService service = LockService.create(client, CONFIG)) {
                LockSession alice = service.openSession("alice", LockListener.NONE);
                assertThat(result(alice.lock("doc"))).isInstanceOf(LockResult.Locked.class);
                primary.command("DEL", "distlock:lock:doc"); // Redis lost it; alice does not know yet

                replica.pause();
                try {
                    assertThat(failure(alice.lock("doc"))).isInstanceOf(BackendUnavailableException.class)
                            .hasMessage("Redis replicas did not confirm the lock");
                } finally {
                    replica.resume();
                }
                assertThat(primary.command("HGET", "distlock:lock:doc", "owner")).as("the new grant, unconfirmed, released").isNull();
            }
        }

        @Test
        void theFirstGrantIsConfirmedToo() {
            // Nothing known about the primary yet when the replica is already stuck: the grant
            // goes out without WAIT, finds a replica, and its confirmation fails.
            try (LockService service = LockService.create(client, CONFIG)) {
                LockSession alice = service.openSession("alice", LockListener.NONE);
                replica.pause();
                try {
                    assertThat(failure(alice.lock("doc"))).isInstanceOf(BackendUnavailableException.class)
                            .hasMessage("Redis replicas did not confirm the lock");
                    assertThat(primary.command("HGET", "distlock:lock:doc", "owner")).isNull();
                    assertThat(alice.heldLocks()).isEmpty();
                } finally {
                    replica.resume();
                }
            }
        }

        @Test
        void withReplicaSyncOffAStuckReplicaDoesNotBlockGrants() {
            // The quarantine after a data loss reads INFO on every new grant: off too, to see that replica sync asks nothing.
            LockConfig off = CONFIG.toBuilder().replicaSync(Duration.ZERO).dataLossQuarantine(false).build();
            try (LockService service = LockService.create(client, off)) {
                LockSession alice = service.openSession("alice", LockListener.NONE);
                assertThat(result(alice.lock("warm-up"))).isInstanceOf(LockResult.Locked.class);
                replica.pause();
                try {
                    primary.command("CONFIG", "RESETSTAT");
                    long start = System.nanoTime();
                    assertThat(result(alice.lock("doc"))).isInstanceOf(LockResult.Locked.class);
                    assertThat(result(alice.lockAll(List.of("x", "y")))).isInstanceOf(MultiLockResult.Locked.class);
                    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(SYNC);
                    // No WAIT, and the scripts were not even asked to count replicas.
                    assertThat(commandCalls(primary)).doesNotContainKeys("wait", "info");
                } finally {
                    replica.resume();
                }
            }
        }
    }

    @Test
    void aStandaloneRedisGetsNoWaitAndNoExtraRoundTrip() {
        FakeTime time = new FakeTime(); // no renewal tick, so no node beat among the commands counted
        try (RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.builder().ticker(time).scheduler(time).build())) {
            assertThat(service.config().replicaSync()).isEqualTo(Duration.ofSeconds(1));
            LockSession alice = service.openSession("alice", LockListener.NONE);
            // Loads the scripts, and learns that the primary has no replicas.
            result(alice.lock("warm-up"));
            result(alice.lockAll(List.of("warm-up-2", "warm-up-3")));
            result(alice.unlock("warm-up"));
            result(alice.unlockAll(List.of("warm-up-2", "warm-up-3")));
            redis.command("CONFIG", "RESETSTAT");

            int rounds = 5;
            for (int i = 0; i < rounds; i++) {
                assertThat(result(alice.lock("doc"))).isInstanceOf(LockResult.Locked.class);
                assertThat(result(alice.lockAll(List.of("a", "b")))).isInstanceOf(MultiLockResult.Locked.class);
                assertThat(result(alice.unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
                assertThat(result(alice.unlockAll(List.of("a", "b")))).isEqualTo(UnlockResult.UNLOCKED);
            }
            // One script per operation, nothing else: no WAIT, no INFO round trip.
            Map<String, Long> calls = commandCalls(redis);
            assertThat(calls).doesNotContainKeys("wait", "eval", "script");
            assertThat(calls.get("evalsha")).isEqualTo(4L * rounds);
        }
    }

    @Test
    void hashSlotsAreRedisClusters() {
        // Values from the Redis Cluster specification and CLUSTER KEYSLOT.
        assertThat(ClusterSlots.slot("123456789")).isEqualTo(0x31C3);
        assertThat(ClusterSlots.slot("somekey")).isEqualTo(11058);
        assertThat(ClusterSlots.slot("foo{hash_tag}")).isEqualTo(2515).isEqualTo(ClusterSlots.slot("hash_tag"));
        assertThat(ClusterSlots.slot("distlock:lock:{doc-42}:body")).isEqualTo(ClusterSlots.slot("distlock:lock:{doc-42}:title"));
        assertThat(ClusterSlots.slot("a{}{b}")).isNotEqualTo(ClusterSlots.slot("b"));
    }

    @Test
    void replicaSyncSettings() {
        assertThat(LockConfig.defaults().replicaSync()).isEqualTo(Duration.ofSeconds(1));
        // The default follows a short lease: at most a third of it.
        assertThat(LockConfig.builder().lease(Duration.ofMillis(600)).build().replicaSync()).isEqualTo(Duration.ofMillis(200));
        assertThat(LockConfig.builder().replicaSync(Duration.ZERO).build().replicaSync()).isZero();
        LockConfig explicit = LockConfig.builder().replicaSync(Duration.ofMillis(250)).build();
        assertThat(explicit.toBuilder().build().replicaSync()).isEqualTo(Duration.ofMillis(250));
        assertThat(LockConfig.defaults().toBuilder().lease(Duration.ofMillis(900)).build().replicaSync())
                .isEqualTo(Duration.ofMillis(300));

        assertThatThrownBy(() -> LockConfig.builder().replicaSync(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("replicaSync");
        assertThatThrownBy(() -> LockConfig.builder().lease(Duration.ofSeconds(2)).replicaSync(Duration.ofSeconds(1)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("replicaSync").hasMessageContaining("666 ms");
    }

    // ---- helpers ----

    /** The value of a stage, or the exception it failed with. */
    private static Object outcome(CompletionStage<?> stage) {
        try {
            return stage.toCompletableFuture().get(seconds(10).toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (TimeoutException e) {
            throw new AssertionError("stage did not complete in time", e);
        }
    }

    private static Throwable failure(CompletionStage<?> stage) {
        Object outcome = outcome(stage);
        assertThat(outcome).as("the outcome of the request").isInstanceOf(Throwable.class);
        return (Throwable) outcome;
    }

    private static String info(RedisProcess redis, String section) {
        return String.valueOf(redis.command("INFO", section));
    }

    /** How many times each command ran since the last CONFIG RESETSTAT (commands run by scripts included). */
    private static Map<String, Long> commandCalls(RedisProcess redis) {
        Map<String, Long> calls = new TreeMap<>();
        Matcher m = Pattern.compile("cmdstat_([a-z|]+):calls=(\\d+)").matcher(info(redis, "commandstats"));
        while (m.find()) {
            calls.put(m.group(1), Long.parseLong(m.group(2)));
        }
        return calls;
    }
}
