package io.distlock.core;

import static io.distlock.testing.Await.result;
import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import io.distlock.testing.LogRecorder;
import io.distlock.testing.Pushes;
import io.distlock.testing.Pushes.Kind;
import io.distlock.testing.RedisProcess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * The quarantine after a possible loss of Redis data ({@link LockConfig#dataLossQuarantine()}):
 * when Redis forgets its locks (an empty restart, a failover to a replica), no lock is granted
 * until every earlier holder has been told {@code LOST} or its lease has run out.
 */
class DataLossTest {

    private static final LockResult.Waiting RECOVERING = new LockResult.Waiting(LockResult.Waiting.RECOVERING);

    private RedisProcess redis;
    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @BeforeEach
    void startRedis() {
        redis = RedisProcess.start();
        cleanup.add(redis);
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    private static LockConfig config(Duration lease, boolean quarantine) {
        return LockConfig.builder().lease(lease).dataLossQuarantine(quarantine).build();
    }

    /** A node with a Redisson client of its own, like a server in another JVM. */
    private LockService node(RedisProcess on, LockConfig config) {
        LockService node = LockService.connect(on.url(), config);
        cleanup.add(node);
        return node;
    }

    private static long token(LockResult r) {
        assertThat(r).isInstanceOf(LockResult.Locked.class);
        return ((LockResult.Locked) r).token();
    }

    /** The result, or the failure (a node still reconnecting to a restarted Redis fails with BACKEND_UNAVAILABLE). */
    private static Object outcome(CompletionStage<?> stage) {
        try {
            return stage.toCompletableFuture().get(seconds(20).toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | CompletionException e) {
            return e.getCause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (TimeoutException e) {
            throw new AssertionError("no answer", e);
        }
    }

    /** Asks until an answer comes from Redis, not a failure while the node reconnects. */
    private static LockResult firstAnswer(LockSession session, String lock) {
        Object[] answer = new Object[1];
        await().atMost(seconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            answer[0] = outcome(session.lock(lock));
            return answer[0] instanceof LockResult;
        });
        return (LockResult) answer[0];
    }

    private record Answer(LockResult result, long atNanos) { }

    /** What {@link #lockRedisForgot} saw. */
    private record Timeline(long restartedNanos, long aliceToken, List<Answer> bobsAnswers, Pushes.Push alicesLost) {
        Answer bobsLock() {
            return bobsAnswers.get(bobsAnswers.size() - 1);
        }
    }

    /**
     * Alice holds "doc" on one node; Redis restarts empty right after her node renewed, so her
     * node learns of it only at its next renewal, a sixth of the lease later; Bob, on another
     * node, asks for "doc" at once and again every 50 ms until he gets it.
     */
    private Timeline lockRedisForgot(LockConfig config) {
        return lockRedisForgot(config, config);
    }

    /** The same, Alice's node with {@code config}, Bob's with {@code configB}. */
    private Timeline lockRedisForgot(LockConfig config, LockConfig configB) {
        LockService nodeA = node(redis, config);
        LockService nodeB = node(redis, configB);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        new LockServiceMetrics(nodeA).bindTo(registry);
        Pushes alicePushes = new Pushes();
        LockSession alice = nodeA.openSession("alice", alicePushes);
        LockSession bob = nodeB.openSession("bob", new Pushes());
        long aliceToken = token(result(alice.lock("doc")));

        await().atMost(config.lease()).pollInterval(Duration.ofMillis(10)).until(() ->
                registry.get("distlock.lease.renewals").tag("result", "renewed").counter().count() >= 1);
        redis.restart();
        long restarted = System.nanoTime();

        List<Answer> answers = new CopyOnWriteArrayList<>();
        await().atMost(config.lease().plus(seconds(15))).pollInterval(Duration.ofMillis(50)).until(() -> {
            if (outcome(bob.lock("doc")) instanceof LockResult r) {
                answers.add(new Answer(r, System.nanoTime()));
                return r instanceof LockResult.Locked;
            }
            return false;
        });
        Pushes.Push lost = alicePushes.expect(Kind.LOST, "doc", config.lease());
        assertThat(alice.heldLocks()).isEmpty();
        return new Timeline(restarted, aliceToken, answers, lost);
    }

    @Test
    void aLockRedisForgotIsNotGrantedBeforeItsHolderIsToldLost() {
        Duration lease = Duration.ofSeconds(12);
        Timeline t = lockRedisForgot(config(lease, true));

        // Bob got it only after Alice was told she lost it...
        assertThat(t.bobsLock().atNanos()).as("Bob's LOCKED after Alice's LOST").isGreaterThan(t.alicesLost().atNanos());
        // ...and until then was told to wait, with no holder but the quarantine.
        List<Answer> waits = t.bobsAnswers().subList(0, t.bobsAnswers().size() - 1);
        assertThat(waits).isNotEmpty().allSatisfy(a -> assertThat(a.result()).isEqualTo(RECOVERING));
        assertThat(waits.get(0).atNanos()).as("Bob's first WAIT came before Alice's LOST (the race the quarantine is for)")
                .isLessThan(t.alicesLost().atNanos());
        // A lease after the first grant that found the marker gone, not much later.
        Duration took = Duration.ofNanos(t.bobsLock().atNanos() - t.restartedNanos());
        assertThat(took).isGreaterThan(lease.minusMillis(500)).isLessThan(lease.plus(seconds(5)));
        assertThat(token(t.bobsLock().result())).isGreaterThan(t.aliceToken());
    }

    @Test
    void withoutTheQuarantineTwoSessionsHoldTheLockAtOnce() {
        // The negative control: the same scenario with the quarantine off is granted while Alice
        // still believes she holds the lock, so the test above can fail.
        Timeline t = lockRedisForgot(config(Duration.ofSeconds(12), false));

        assertThat(t.bobsAnswers()).hasSize(1); // LOCKED at the first answer
        assertThat(t.bobsLock().atNanos()).as("Bob's LOCKED before Alice's LOST").isLessThan(t.alicesLost().atNanos());
        assertThat(token(t.bobsLock().result())).isGreaterThan(t.aliceToken()); // tokens still grow
    }

    /**
     * Nodes of one key prefix with different leases (a lease changed node by node, or a mistake):
     * Alice's node renews a sixth of its long lease apart, so after the loss she is told LOST only
     * then, later than a quarantine of Bob's node's short lease would last. The quarantine lasts
     * the longest lease Bob's node has seen; both nodes warn that the leases differ.
     */
    @Test
    void aQuarantineLastsTheLongestLeaseOfTheNodes() {
        Duration longLease = Duration.ofSeconds(18);
        Duration shortLease = Duration.ofSeconds(1);
        try (LogRecorder log = LogRecorder.of(NodeLeases.class)) {
            Timeline t = lockRedisForgot(config(longLease, true), config(shortLease, true));

            assertThat(t.bobsLock().atNanos()).as("Bob's LOCKED after Alice's LOST").isGreaterThan(t.alicesLost().atNanos());
            Duration took = Duration.ofNanos(t.bobsLock().atNanos() - t.restartedNanos());
            assertThat(took).as("the long lease, not the short one").isGreaterThan(longLease.minusMillis(500));
            assertThat(token(t.bobsLock().result())).isGreaterThan(t.aliceToken());
            // Bob's node as it started, Alice's at a renewal tick after it
            assertThat(log.messages(java.util.logging.Level.WARNING))
                    .anySatisfy(w -> assertThat(w).contains("use other leases than this node's 1000 ms: [18000] ms", "docs/safety.md"))
                    .anySatisfy(w -> assertThat(w).contains("use other leases than this node's 18000 ms: [1000] ms"));
        }
    }

    @Test
    void aNodeStartedAfterTheLossWaitsTooAndIsToldRetryWhenTheQuarantineEnds() {
        // The case a node's own memory of the marker could not cover: this node never saw one.
        Duration lease = Duration.ofSeconds(3);
        LockService nodeA = node(redis, config(lease, true));
        Pushes alicePushes = new Pushes();
        LockSession alice = nodeA.openSession("alice", alicePushes);
        long aliceToken = token(result(alice.lock("doc")));

        redis.restart();
        LockService nodeC = node(redis, config(lease, true));
        Pushes carolPushes = new Pushes();
        LockSession carol = nodeC.openSession("carol", carolPushes);
        assertThat(firstAnswer(carol, "doc")).isEqualTo(RECOVERING);
        long waited = System.nanoTime();
        // Asking again is still one wait.
        assertThat(result(carol.lock("doc"))).isEqualTo(RECOVERING);
        assertThat(result(carol.lockAll(List.of("doc", "other")))).isEqualTo(new MultiLockResult.Waiting(
                Map.of("doc", LockResult.Waiting.RECOVERING, "other", LockResult.Waiting.RECOVERING)));

        // One RETRY per waited lock when the quarantine ends, after Alice was told.
        List<Pushes.Push> retries = List.of(carolPushes.next(lease.plus(seconds(3))), carolPushes.next(seconds(2)));
        assertThat(retries).extracting(Pushes.Push::kind).containsOnly(Kind.RETRY);
        assertThat(retries).extracting(Pushes.Push::lock).containsExactlyInAnyOrder("doc", "other");
        long retried = Math.min(retries.get(0).atNanos(), retries.get(1).atNanos());
        assertThat(Duration.ofNanos(retried - waited)).isGreaterThan(lease.minusMillis(500));
        Pushes.Push lost = alicePushes.expect(Kind.LOST, "doc", seconds(2));
        assertThat(lost.atNanos()).isLessThan(retried);
        assertThat(token(result(carol.lock("doc")))).isGreaterThan(aliceToken);
        carolPushes.expectNone(Duration.ofMillis(300));
    }

    @Test
    void aBrandNewRedisWaitsOneLeaseUnlessTheQuarantineIsOff() {
        Duration lease = Duration.ofSeconds(1);
        redis.command("DEL", "distlock:epoch"); // as a Redis that never served a lock
        LockSession alice = node(redis, config(lease, true)).openSession("alice", new Pushes());
        try (LogRecorder log = LogRecorder.of(RedisLockStore.class)) {
            assertThat(result(alice.lock("doc"))).isEqualTo(RECOVERING);
            // An operator's first start reads this line: it must not speak of a loss only.
            assertThat(log.messages(Level.WARNING)).singleElement().asString()
                    .startsWith("Redis may have lost locks: it is new, or it restarted").containsPattern("no lock is granted for [0-9]+ ms");
        }
        // With the quarantine off, no marker is looked at or written.
        LockSession bob = node(redis, config(lease, false)).openSession("bob", new Pushes());
        assertThat(result(bob.lock("free"))).isInstanceOf(LockResult.Locked.class);
        await().atMost(seconds(5)).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
                assertThat(result(alice.lock("doc"))).isInstanceOf(LockResult.Locked.class));

        // A marked Redis (what the test fixture and every earlier grant leave) grants at once.
        RedisProcess marked = RedisProcess.start();
        cleanup.add(marked);
        LockSession carol = node(marked, config(lease, true)).openSession("carol", new Pushes());
        assertThat(result(carol.lock("doc"))).isInstanceOf(LockResult.Locked.class);
    }

    @Test
    void aRedisTheApplicationStartedItselfIsMarkedInServiceForEveryNode() {
        Duration lease = Duration.ofSeconds(30);
        redis.command("DEL", "distlock:epoch"); // as a Redis started empty just now
        node(redis, config(lease, true).toBuilder().newRedis(true).build());
        // another node sharing it, quarantine on, grants at once: no lease to wait out
        LockSession bob = node(redis, config(lease, true)).openSession("bob", new Pushes());
        assertThat(result(bob.lock("doc"))).isInstanceOf(LockResult.Locked.class);
        assertThat(redis.command("PTTL", "distlock:epoch")).isEqualTo(-1L);
    }

    @Test
    void theQuarantineStopsOnlyNewGrants() {
        Duration lease = Duration.ofMillis(1500);
        LockService node = node(redis, config(lease, true));
        Pushes alicePushes = new Pushes();
        LockSession alice = node.openSession("alice", alicePushes);
        LockSession bob = node.openSession("bob", new Pushes());
        long doc = token(result(alice.lock("doc")));
        long page = token(result(alice.lock("page")));
        result(alice.lock("gone"));

        // As after a failover to a replica that has Alice's locks: the marker names another primary.
        redis.command("SET", "distlock:epoch", "0123456789abcdef:0123456789abcdef:0");
        assertThat(result(bob.lock("new"))).isEqualTo(RECOVERING);
        // Bob waits for Alice as before; Alice keeps, re-locks and releases what she holds.
        assertThat(result(bob.lock("doc"))).isEqualTo(new LockResult.Waiting("alice"));
        assertThat(result(alice.lock("doc"))).isEqualTo(new LockResult.Locked(doc));
        assertThat(result(alice.lockAll(List.of("doc", "page")))).isEqualTo(new MultiLockResult.Locked(Map.of("doc", doc, "page", page)));
        assertThat(result(alice.unlock("page"))).isEqualTo(UnlockResult.UNLOCKED);
        assertThat(result(alice.lock("page"))).isEqualTo(RECOVERING);
        // A lock she held but Redis forgot is lost, not granted again.
        redis.command("DEL", "distlock:lock:gone");
        assertThat(result(alice.lock("gone"))).isEqualTo(RECOVERING);
        alicePushes.expect(Kind.LOST, "gone", seconds(2));
        // Alice now waits for both; the quarantine's end tells her.
        List<Pushes.Push> retries = List.of(alicePushes.next(lease.plus(seconds(3))), alicePushes.next(seconds(2)));
        assertThat(retries).extracting(Pushes.Push::kind).containsOnly(Kind.RETRY);
        assertThat(retries).extracting(Pushes.Push::lock).containsExactlyInAnyOrder("page", "gone");
        // Renewals went on through the quarantine, and go on.
        alicePushes.expectNone(lease);
        assertThat(alice.heldLocks()).isEqualTo(Map.of("doc", doc));
        assertThat(result(alice.unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
        assertThat(token(result(bob.lock("doc")))).isGreaterThan(doc);
    }

    @Test
    void aFreeLockWithAQueueNamesNoHolderDuringTheQuarantine() {
        Duration lease = Duration.ofSeconds(3);
        LockService node = node(redis, config(lease, true));
        LockSession alice = node.openSession("alice", new Pushes());
        Pushes carolPushes = new Pushes();
        LockSession carol = node.openSession("carol", carolPushes);
        LockSession bob = node.openSession("bob", new Pushes());
        long doc = token(result(alice.lock("doc")));
        assertThat(result(carol.lock("doc", LockOptions.exclusive().queue()))).isEqualTo(new LockResult.Queued(1, "alice"));

        // As after a failover: the marker names another primary. Alice's release is not handed to Carol.
        redis.command("SET", "distlock:epoch", "0123456789abcdef:0123456789abcdef:0");
        assertThat(result(alice.unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
        // Nobody holds 'doc' and nothing is granted: Bob is told (recovering), not that Carol holds it.
        long asked = System.nanoTime();
        assertThat(result(bob.lock("doc"))).isEqualTo(RECOVERING);
        assertThat(result(bob.lockAll(List.of("doc")))).isEqualTo(new MultiLockResult.Waiting(Map.of("doc", LockResult.Waiting.RECOVERING)));
        assertThat(result(bob.lock("doc", LockOptions.exclusive().queue()))).isEqualTo(new LockResult.Queued(2, LockResult.Waiting.RECOVERING));

        // When the quarantine ends the head is granted.
        Pushes.Push granted = carolPushes.expect(Kind.GRANTED, "doc", lease.plus(seconds(5)));
        assertThat(granted.token()).isGreaterThan(doc);
        assertThat(Duration.ofNanos(granted.atNanos() - asked)).isGreaterThan(lease.minusMillis(500));
    }

    @Test
    void aReplicaPromotedToPrimaryWaitsOutTheQuarantine() {
        Duration lease = Duration.ofSeconds(2);
        RedisProcess replica = RedisProcess.start("--replicaof", "127.0.0.1", Integer.toString(redis.port()));
        cleanup.add(replica);
        awaitLinkUp(replica);
        LockSession alice = node(redis, config(lease, true)).openSession("alice", new Pushes());
        long aliceToken = token(result(alice.lock("doc")));
        await().atMost(seconds(10)).until(() -> alice.id().equals(replica.command("HGET", "distlock:lock:doc", "owner")));
        String replIdBefore = info(replica, "master_replid");

        // What Sentinel does in a failover: the replica becomes a primary, with a new replication id.
        replica.command("REPLICAOF", "NO", "ONE");
        assertThat(info(replica, "master_replid")).isNotEqualTo(replIdBefore);
        assertThat(info(replica, "master_replid2")).isEqualTo(replIdBefore);

        Pushes bobPushes = new Pushes();
        LockSession bob = node(replica, config(lease, true)).openSession("bob", bobPushes);
        assertThat(result(bob.lock("free"))).isEqualTo(RECOVERING);
        long waited = System.nanoTime();
        assertThat(result(bob.lock("doc"))).isEqualTo(new LockResult.Waiting("alice")); // replicated: still Alice's
        // Alice's node renews on the old primary: her lease on the promoted one runs out, perhaps
        // before the quarantine ends; the re-check then waits for the quarantine too.
        List<Pushes.Push> retries = List.of(bobPushes.next(lease.plus(seconds(3))), bobPushes.next(lease.plus(seconds(3))));
        assertThat(retries).extracting(Pushes.Push::kind).containsOnly(Kind.RETRY);
        assertThat(retries).extracting(Pushes.Push::lock).containsExactlyInAnyOrder("free", "doc");
        long retried = Math.min(retries.get(0).atNanos(), retries.get(1).atNanos());
        assertThat(Duration.ofNanos(retried - waited)).isGreaterThan(lease.minusMillis(500));
        assertThat(result(bob.lock("free"))).isInstanceOf(LockResult.Locked.class);
        assertThat(token(result(bob.lock("doc")))).isGreaterThan(aliceToken);
    }

    @Test
    void aReplicaAttachingIsNoDataLossButAPrimaryDemotedAndPromotedAgainIs() {
        Duration lease = Duration.ofSeconds(1);
        LockConfig config = config(lease, true).toBuilder().replicaSync(Duration.ZERO).build();
        RedissonClient client = client(redis);
        cleanup.add(client::shutdown);
        LockService node = LockService.create(client, config);
        cleanup.add(node);
        LockSession alice = node.openSession("alice", new Pushes());
        token(result(alice.lock("a")));
        String runId = info(redis, "run_id", "server");
        String replId = info(redis, "master_replid");

        // A first replica makes Redis start a replication backlog under a new replication id: nothing was lost.
        RedisProcess replica = RedisProcess.start("--replicaof", "127.0.0.1", Integer.toString(redis.port()));
        cleanup.add(replica);
        awaitLinkUp(replica);
        assertThat(info(redis, "master_replid")).isNotEqualTo(replId);
        token(result(alice.lock("b")));

        // The replica is promoted (and grants nothing), the old primary follows it, then is promoted back:
        // the same process, but its data came from another primary meanwhile.
        replica.command("REPLICAOF", "NO", "ONE");
        redis.command("REPLICAOF", "127.0.0.1", Integer.toString(replica.port()));
        awaitLinkUp(redis);
        redis.command("REPLICAOF", "NO", "ONE");
        assertThat(info(redis, "run_id", "server")).isEqualTo(runId);
        await().atMost(seconds(10)).pollInterval(Duration.ofMillis(50)).untilAsserted(() ->
                assertThat(outcome(alice.lock("c"))).isEqualTo(RECOVERING));
    }

    @Test
    void inAClusterEachSlotHasItsOwnMarker() {
        RedisProcess node = clusterNode();
        cleanup.add(node);
        node.command(IntStream.rangeClosed(-2, 16383)
                .mapToObj(i -> i == -2 ? "CLUSTER" : i == -1 ? "ADDSLOTS" : Integer.toString(i)).toArray(String[]::new));
        await().atMost(seconds(20)).until(() -> String.valueOf(node.command("CLUSTER", "INFO")).contains("cluster_state:ok"));
        Config redissonConfig = new Config();
        redissonConfig.useClusterServers().addNodeAddress(node.url());
        RedissonClient client = Redisson.create(redissonConfig);
        cleanup.add(client::shutdown);
        Duration lease = Duration.ofSeconds(1);
        LockService service = LockService.create(client, config(lease, true));
        cleanup.add(service);
        Pushes pushes = new Pushes();
        LockSession alice = service.openSession("alice", pushes);

        // A brand-new Cluster: the first grant in a slot waits.
        assertThat(result(alice.lockAll(List.of("{doc-42}:body", "{doc-42}:title")))).isInstanceOf(MultiLockResult.Waiting.class);
        String marker = "distlock:epoch:{" + ClusterSlots.Tags.tag(ClusterSlots.slot("distlock:lock:{doc-42}:body")) + "}";
        assertThat(node.command("CLUSTER", "KEYSLOT", marker)).isEqualTo(node.command("CLUSTER", "KEYSLOT", "distlock:lock:{doc-42}:body"));
        assertThat(node.command("EXISTS", marker)).isEqualTo(1L);
        List<Pushes.Push> retries = List.of(pushes.next(seconds(4)), pushes.next(seconds(4)));
        assertThat(retries).extracting(Pushes.Push::lock).containsExactlyInAnyOrder("{doc-42}:body", "{doc-42}:title");
        assertThat(result(alice.lockAll(List.of("{doc-42}:body", "{doc-42}:title")))).isInstanceOf(MultiLockResult.Locked.class);
        assertThat(result(alice.lock("{doc-42}:comments"))).isInstanceOf(LockResult.Locked.class); // same slot: no wait

        // An empty restart of the node: the slot's marker is gone with its locks.
        node.restart();
        await().atMost(seconds(20)).until(() -> String.valueOf(node.command("CLUSTER", "INFO")).contains("cluster_state:ok"));
        assertThat(firstAnswer(alice, "{doc-42}:comments")).isEqualTo(RECOVERING);
    }

    // ---- helpers ----

    /** A Cluster node alone, announcing its loopback address (a node that met no other does not know it). */
    private static RedisProcess clusterNode() {
        IllegalStateException last = null;
        for (int attempt = 0; attempt < 10; attempt++) {
            try {
                return RedisProcess.start("--cluster-enabled", "yes", "--cluster-announce-ip", "127.0.0.1");
            } catch (IllegalStateException e) {
                last = e; // a port above 55535 leaves no room for the cluster bus port: Redis exits at once
            }
        }
        throw last;
    }

    private static RedissonClient client(RedisProcess on) {
        Config config = new Config();
        config.useSingleServer().setAddress(on.url());
        return Redisson.create(config);
    }

    private static void awaitLinkUp(RedisProcess replica) {
        await().atMost(seconds(20)).until(() -> info(replica, "master_link_status").equals("up"));
    }

    private static String info(RedisProcess redis, String field) {
        return info(redis, field, "replication");
    }

    private static String info(RedisProcess redis, String field, String section) {
        for (String line : String.valueOf(redis.command("INFO", section)).split("\r\n")) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1);
            }
        }
        return "";
    }
}
