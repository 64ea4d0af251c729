package io.distlock.core;

import static io.distlock.testing.Await.result;
import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.distlock.testing.Pushes;
import io.distlock.testing.Pushes.Kind;
import io.distlock.testing.TestRedis;

/** The result table of one node, against a real Redis. */
class SingleNodeTest {

    private LockService service;
    private final List<LockSession> sessions = new ArrayList<>();

    @BeforeEach
    void startNode() {
        TestRedis.flushAll();
        service = LockService.connect(TestRedis.url(), LockConfig.builder().maxLocksPerSession(5).maxLocksPerRequest(3).build());
    }

    @AfterEach
    void stopNode() {
        service.close();
    }

    private LockSession open(String name, Pushes pushes) {
        LockSession s = service.openSession(name, pushes);
        sessions.add(s);
        return s;
    }

    private static long token(CompletionStage<LockResult> stage) {
        LockResult r = result(stage);
        assertThat(r).isInstanceOf(LockResult.Locked.class);
        return ((LockResult.Locked) r).token();
    }

    @Test
    void lockOfAFreeLockIsGrantedWithAToken() {
        LockSession alice = open("alice", new Pushes());
        long token = token(alice.lock("doc-1"));
        assertThat(token).isPositive();
        assertThat(alice.heldLocks()).containsExactly(Map.entry("doc-1", token));
    }

    @Test
    void relockBySameSessionAnswersTheSameTokenAndIsNotCounted() {
        LockSession alice = open("alice", new Pushes());
        long token = token(alice.lock("doc-1"));
        assertThat(token(alice.lock("doc-1"))).isEqualTo(token);
        assertThat(result(alice.unlock("doc-1"))).isEqualTo(UnlockResult.UNLOCKED);
        // one unlock undoes any number of re-locks
        assertThat(result(alice.unlock("doc-1"))).isInstanceOf(Refused.class);
    }

    @Test
    void aLockRedisStillHasAsOursAfterWeLetItGoIsGrantedWithANewToken() {
        LockSession alice = open("alice", new Pushes());
        long first = token(alice.lock("doc-1"));
        assertThat(result(alice.unlock("doc-1"))).isEqualTo(UnlockResult.UNLOCKED);
        // as if the release had been lost in a failover: Redis still names Alice the owner
        TestRedis.command("HSET", "distlock:lock:doc-1", "owner", alice.id(), "holder", "alice");
        long second = token(alice.lock("doc-1"));
        assertThat(second).isGreaterThan(first);
        assertThat(result(alice.unlock("doc-1"))).isEqualTo(UnlockResult.UNLOCKED);
        TestRedis.command("HSET", "distlock:lock:doc-1", "owner", alice.id(), "holder", "alice");
        MultiLockResult again = result(alice.lockAll(List.of("doc-1", "doc-2")));
        assertThat(again).isInstanceOf(MultiLockResult.Locked.class);
        assertThat(((MultiLockResult.Locked) again).tokens().get("doc-1")).isGreaterThan(second);
    }

    @Test
    void contendedLockAnswersWaitingWithTheHolderName() {
        LockSession alice = open("alice", new Pushes());
        LockSession bob = open("bob", new Pushes());
        token(alice.lock("doc-1"));
        assertThat(result(bob.lock("doc-1"))).isEqualTo(new LockResult.Waiting("alice"));
        assertThat(bob.heldLocks()).isEmpty();
    }

    @Test
    void sameNameIsTwoSessionsThatShareNothing() {
        LockSession one = open("same", new Pushes());
        LockSession two = open("same", new Pushes());
        assertThat(one.id()).isNotEqualTo(two.id());
        token(one.lock("doc-1"));
        assertThat(result(two.lock("doc-1"))).isEqualTo(new LockResult.Waiting("same"));
        assertThat(result(two.unlock("doc-1"))).isEqualTo(new Refused(Refusal.NOT_OWNER, "lock 'doc-1' is not held by this session"));
    }

    @Test
    void unlockByOwnerReleasesAndTellsTheWaiterOnce() {
        Pushes bobPushes = new Pushes();
        LockSession alice = open("alice", new Pushes());
        LockSession bob = open("bob", bobPushes);
        long first = token(alice.lock("doc-1"));
        assertThat(result(bob.lock("doc-1"))).isInstanceOf(LockResult.Waiting.class);

        assertThat(result(alice.unlock("doc-1"))).isEqualTo(UnlockResult.UNLOCKED);
        bobPushes.expect(Kind.RETRY, "doc-1", seconds(5));
        assertThat(token(bob.lock("doc-1"))).isGreaterThan(first);
        assertThat(result(bob.unlock("doc-1"))).isEqualTo(UnlockResult.UNLOCKED);
        bobPushes.expectNone(Duration.ofMillis(300));
    }

    @Test
    void unlockByNonOwnerIsRefusedAndChangesNothing() {
        LockSession alice = open("alice", new Pushes());
        LockSession bob = open("bob", new Pushes());
        long token = token(alice.lock("doc-1"));

        UnlockResult refused = result(bob.unlock("doc-1"));
        assertThat(refused).isInstanceOf(Refused.class);
        assertThat(((Refused) refused).reason()).isEqualTo(Refusal.NOT_OWNER);
        assertThat(alice.heldLocks()).containsEntry("doc-1", token);
        assertThat(result(bob.lock("doc-1"))).isEqualTo(new LockResult.Waiting("alice"));
    }

    @Test
    void lockAllTakesEverythingOrNothing() {
        LockSession alice = open("alice", new Pushes());
        Pushes bobPushes = new Pushes();
        LockSession bob = open("bob", bobPushes);
        token(alice.lock("b"));

        MultiLockResult partial = result(bob.lockAll(List.of("a", "b", "c")));
        assertThat(partial).isEqualTo(new MultiLockResult.Waiting(Map.of("b", "alice")));
        assertThat(bob.heldLocks()).isEmpty();
        // nothing was taken: alice can take a and c
        token(alice.lock("a"));
        token(alice.lock("c"));
        assertThat(result(alice.unlockAll(List.of("a", "b", "c")))).isEqualTo(UnlockResult.UNLOCKED);
        bobPushes.expect(Kind.RETRY, "b", seconds(5));

        MultiLockResult all = result(bob.lockAll(List.of("a", "b", "c")));
        assertThat(all).isInstanceOf(MultiLockResult.Locked.class);
        assertThat(((MultiLockResult.Locked) all).tokens()).containsOnlyKeys("a", "b", "c");
        assertThat(bob.heldLocks()).containsOnlyKeys("a", "b", "c");
    }

    @Test
    void lockAllRegistersForRetryOnEveryLockHeldByOthers() {
        LockSession alice = open("alice", new Pushes());
        LockSession carol = open("carol", new Pushes());
        Pushes bobPushes = new Pushes();
        LockSession bob = open("bob", bobPushes);
        token(alice.lock("x"));
        token(carol.lock("y"));

        assertThat(result(bob.lockAll(List.of("x", "y", "z")))).isEqualTo(new MultiLockResult.Waiting(Map.of("x", "alice", "y", "carol")));
        result(carol.unlock("y"));
        bobPushes.expect(Kind.RETRY, "y", seconds(5));
        result(alice.unlock("x"));
        bobPushes.expect(Kind.RETRY, "x", seconds(5));
        bobPushes.expectNone(Duration.ofMillis(300));
    }

    @Test
    void unlockAllWithPartialOwnershipReleasesNothing() {
        LockSession alice = open("alice", new Pushes());
        LockSession bob = open("bob", new Pushes());
        long a = token(alice.lock("a"));
        token(bob.lock("b"));

        UnlockResult refused = result(alice.unlockAll(List.of("a", "b")));
        assertThat(refused).isInstanceOf(Refused.class);
        assertThat(((Refused) refused).reason()).isEqualTo(Refusal.NOT_OWNER);
        assertThat(alice.heldLocks()).containsExactly(Map.entry("a", a));
        assertThat(result(bob.lock("a"))).isEqualTo(new LockResult.Waiting("alice"));
    }

    @Test
    void closeReleasesEverythingAndTellsWaiters() {
        LockSession alice = open("alice", new Pushes());
        Pushes bobPushes = new Pushes();
        LockSession bob = open("bob", bobPushes);
        token(alice.lock("a"));
        token(alice.lock("b"));
        result(bob.lock("a"));
        result(bob.lock("b"));

        result(alice.closeAsync());
        assertThat(alice.isClosed()).isTrue();
        assertThat(alice.heldLocks()).isEmpty();
        List<String> told = new ArrayList<>(List.of(bobPushes.next(seconds(5)).lock(), bobPushes.next(seconds(5)).lock()));
        Collections.sort(told);
        assertThat(told).containsExactly("a", "b");
        token(bob.lock("a"));
        token(bob.lock("b"));
        assertThat(service.sessionCount()).isEqualTo(1);
    }

    @Test
    void closeIsIdempotentAndLaterOperationsAreRefused() {
        LockSession alice = open("alice", new Pushes());
        token(alice.lock("a"));
        CompletionStage<Void> first = alice.closeAsync();
        assertThat(alice.closeAsync()).isSameAs(first);
        alice.close();
        assertThat(result(alice.lock("a"))).isInstanceOf(Refused.class)
                .extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.SESSION_CLOSED);
        assertThat(result(alice.unlock("a"))).extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.SESSION_CLOSED);
    }

    @Test
    void operationsIssuedBeforeCloseStillRunInOrder() {
        LockSession alice = open("alice", new Pushes());
        CompletionStage<LockResult> lock = alice.lock("a");
        CompletionStage<Void> close = alice.closeAsync();
        assertThat(result(lock)).isInstanceOf(LockResult.Locked.class);
        result(close);
        LockSession bob = open("bob", new Pushes());
        token(bob.lock("a"));
    }

    @Test
    void operationsCompleteInTheOrderTheyWereIssued() {
        LockSession alice = open("alice", new Pushes());
        List<Integer> completed = Collections.synchronizedList(new ArrayList<>());
        List<CompletionStage<?>> stages = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            int n = i;
            CompletionStage<?> stage = (i % 2 == 0) ? alice.lock("doc-" + (i % 4)) : alice.unlock("doc-" + ((i - 1) % 4));
            stages.add(stage.thenRun(() -> completed.add(n)));
        }
        stages.forEach(s -> result(s));
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            expected.add(i);
        }
        assertThat(completed).containsExactlyElementsOf(expected);
        assertThat(alice.heldLocks()).isEmpty();
    }

    @Test
    void badLockNamesAreRefusedAndChangeNothing() {
        LockSession alice = open("alice", new Pushes());
        token(alice.lock("ok"));
        for (String bad : List.of("", "x".repeat(257), "tab\there", "nul\u0000", "bell\u0007", "del\u007f", "c1\u0085", "\ud800")) {
            assertThat(result(alice.lock(bad))).as("lock %s", bad).isInstanceOf(Refused.class)
                    .extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.BAD_NAME);
            assertThat(result(alice.unlock(bad))).as("unlock %s", bad)
                    .extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.BAD_NAME);
            assertThat(result(alice.lockAll(List.of("fine", bad)))).as("lockAll %s", bad)
                    .extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.BAD_NAME);
        }
        assertThat(result(alice.lockAll(List.of()))).extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.BAD_NAME);
        assertThat(alice.heldLocks()).containsOnlyKeys("ok");
        // the longest name, unicode letters and emoji are fine
        token(alice.lock("x".repeat(256)));
        token(alice.lock("документ-🔒"));
    }

    @Test
    void tooManyLocksAreRefused() {
        LockSession alice = open("alice", new Pushes());
        for (int i = 0; i < 5; i++) {
            token(alice.lock("l" + i));
        }
        assertThat(result(alice.lock("l5"))).extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.TOO_MANY_LOCKS);
        // re-locking a held lock is not counted
        token(alice.lock("l0"));
        assertThat(result(alice.lockAll(List.of("l0", "l9")))).extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.TOO_MANY_LOCKS);
        assertThat(result(alice.lockAll(List.of("a", "b", "c", "d")))).as("more names than one request may carry")
                .extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.TOO_MANY_LOCKS);
        assertThat(alice.heldLocks()).hasSize(5);
        LockSession bob = open("bob", new Pushes());
        token(bob.lock("l9"));
    }

    @Test
    void badSessionNamesAreRefused() {
        assertThat(service.checkSessionName("user-1")).isEmpty();
        assertThat(service.checkSessionName("x".repeat(128))).isEmpty();
        assertThat(service.checkSessionName("")).hasValue("session name is empty");
        assertThat(service.checkSessionName("x".repeat(129))).hasValue("session name is longer than 128 characters");
        assertThat(service.checkSessionName("a\nb")).hasValue("session name contains a control character");
        assertThatThrownBy(() -> service.openSession("a\nb", LockListener.NONE)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void keyPrefixSeparatesApplications() {
        TestRedis.markInService("other-app");
        try (LockService other = LockService.connect(TestRedis.url(), LockConfig.builder().keyPrefix("other-app").build())) {
            LockSession alice = open("alice", new Pushes());
            LockSession bob = other.openSession("bob", LockListener.NONE);
            token(alice.lock("doc-1"));
            token(bob.lock("doc-1"));
            @SuppressWarnings("unchecked")
            List<String> keys = (List<String>) TestRedis.command("KEYS", "*");
            assertThat(keys).contains("distlock:lock:doc-1", "other-app:lock:doc-1");
        }
    }

    @Test
    void aThrowingListenerDoesNotBreakLocking() {
        LockSession alice = open("alice", new Pushes());
        LockSession bob = service.openSession("bob", new LockListener() {
            @Override
            public void retry(String lock) {
                throw new IllegalStateException("listener bug");
            }
        });
        token(alice.lock("doc-1"));
        result(bob.lock("doc-1"));
        result(alice.unlock("doc-1"));
        org.awaitility.Awaitility.await().atMost(seconds(5)).until(() -> service.waitedLocks() == 0);
        token(bob.lock("doc-1"));
        result(bob.closeAsync());
    }

    @Test
    void aLockTakenOverInRedisIsReportedLostNotUnlocked() {
        Pushes alicePushes = new Pushes();
        LockSession alice = open("alice", alicePushes);
        LockSession bob = open("bob", new Pushes());
        long alices = token(alice.lock("doc-1"));
        TestRedis.command("DEL", "distlock:lock:doc-1"); // as if the lease had run out unnoticed
        long bobs = token(bob.lock("doc-1"));

        // what was told by the time the answer came (a callback on the answer runs as it completes)
        List<Pushes.Push> toldFirst = result(alice.unlock("doc-1").thenApply(unlocked -> {
            assertThat(unlocked).isInstanceOf(Refused.class).extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.NOT_OWNER);
            return alicePushes.all();
        }));
        // LOST just before the answer: told after it, it could reach a client after the reply to its next request
        assertThat(toldFirst).extracting(Pushes.Push::kind, Pushes.Push::lock, Pushes.Push::token).containsExactly(tuple(Kind.LOST, "doc-1", alices));
        assertThat(alice.heldLocks()).isEmpty();
        assertThat(bob.heldLocks()).containsEntry("doc-1", bobs);
    }

    @Test
    void relockingALockTakenOverInRedisAnswersWaitAndLost() {
        Pushes alicePushes = new Pushes();
        LockSession alice = open("alice", alicePushes);
        LockSession bob = open("bob", new Pushes());
        token(alice.lock("doc-1"));
        TestRedis.command("DEL", "distlock:lock:doc-1");
        token(bob.lock("doc-1"));

        assertThat(result(alice.lock("doc-1"))).isEqualTo(new LockResult.Waiting("bob"));
        alicePushes.expect(Kind.LOST, "doc-1", seconds(5));
        assertThat(alice.heldLocks()).isEmpty();
    }

    @Test
    void releasedLocksLeaveOnlyAnExpiringTokenAndWaitersLeaveNothing() {
        LockSession alice = open("alice", new Pushes());
        LockSession bob = open("bob", new Pushes());
        token(alice.lock("doc-1"));
        result(bob.lock("doc-1"));
        result(alice.closeAsync());
        result(bob.closeAsync());
        Object ttl = TestRedis.command("PTTL", "distlock:lock:doc-1");
        assertThat((Long) ttl).isBetween(1L, 60_000L);
        assertThat(TestRedis.command("HKEYS", "distlock:lock:doc-1")).isEqualTo(List.of("token"));
        assertThat(service.waitedLocks()).isZero();
        assertThat(service.sessionCount()).isZero();
    }
}
