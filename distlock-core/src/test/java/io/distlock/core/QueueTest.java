package io.distlock.core;

import static io.distlock.testing.Await.result;
import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.distlock.testing.FakeTime;
import io.distlock.testing.Pushes;
import io.distlock.testing.Pushes.Kind;
import io.distlock.testing.TestRedis;

/**
 * The queue across nodes (three services, each with its own Redisson client, on one real Redis):
 * FIFO hand-over, shared and exclusive modes, cancel, timeouts, and places of dead nodes.
 */
class QueueTest {

    private static final LockOptions QUEUE = LockOptions.exclusive().queue();
    private static final LockOptions SHARED_QUEUE = LockOptions.shared().queue();

    private final List<LockService> nodes = new ArrayList<>();

    @BeforeEach
    void startNodes() {
        TestRedis.flushAll();
        for (int i = 0; i < 3; i++) {
            nodes.add(LockService.connect(TestRedis.url(), LockConfig.defaults()));
        }
    }

    @AfterEach
    void stopNodes() {
        nodes.forEach(LockService::close);
    }

    private record Client(LockSession session, Pushes pushes) { }

    private Client open(int node, String name) {
        Pushes pushes = new Pushes();
        return new Client(nodes.get(node).openSession(name, pushes), pushes);
    }

    private static long token(LockResult r) {
        assertThat(r).isInstanceOf(LockResult.Locked.class);
        return ((LockResult.Locked) r).token();
    }

    @Test
    void aReleasedLockGoesToTheQueueInOrderAcrossNodes() {
        Client holder = open(0, "holder");
        Client first = open(1, "first");
        Client second = open(2, "second");
        Client third = open(0, "third");
        long t0 = token(result(holder.session().lock("doc")));
        assertThat(result(first.session().lock("doc", QUEUE))).isEqualTo(new LockResult.Queued(1, "holder"));
        assertThat(result(second.session().lock("doc", QUEUE))).isEqualTo(new LockResult.Queued(2, "holder"));
        assertThat(result(third.session().lock("doc", QUEUE))).isEqualTo(new LockResult.Queued(3, "holder"));
        assertThat(first.session().queuedLocks()).containsExactly("doc");

        result(holder.session().unlock("doc"));
        long t1 = first.pushes().expect(Kind.GRANTED, "doc", seconds(5)).token();
        assertThat(t1).isGreaterThan(t0);
        assertThat(first.session().heldLocks()).containsEntry("doc", t1);
        assertThat(first.session().queuedLocks()).isEmpty();
        assertThat(result(holder.session().lock("doc"))).isEqualTo(new LockResult.Waiting("first"));

        result(first.session().unlock("doc"));
        long t2 = second.pushes().expect(Kind.GRANTED, "doc", seconds(5)).token();
        assertThat(t2).isGreaterThan(t1);
        result(second.session().closeAsync());
        long t3 = third.pushes().expect(Kind.GRANTED, "doc", seconds(5)).token();
        assertThat(t3).isGreaterThan(t2);
        assertThat(holder.pushes().all()).as("the v1 waiter is told nothing of hand-overs (its re-check, a lease after the grant it waited for, could)").isEmpty();

        result(third.session().unlock("doc"));
        holder.pushes().expect(Kind.RETRY, "doc", seconds(5));
        assertThat(token(result(holder.session().lock("doc")))).isGreaterThan(t3);
        first.pushes().expectNone(Duration.ofMillis(200));
    }

    @Test
    void aGrantToASessionOfTheReleasingNodeComesInTheUnlocksAnswerNotAsAMessage() {
        Client holder = open(0, "holder");
        Client local = open(0, "local");
        Client remote = open(1, "remote");
        long t0 = token(result(holder.session().lock("doc")));
        result(local.session().lock("doc", QUEUE));
        result(remote.session().lock("doc", QUEUE));
        long published = publishes();

        // Each script that changes holders or queue publishes one change notice for watchers: the
        // only PUBLISH of a hand-over on the releasing node; one to another node adds its grant message.
        result(holder.session().unlock("doc"));
        assertThat(local.pushes().expect(Kind.GRANTED, "doc", seconds(5)).token()).isGreaterThan(t0);
        assertThat(publishes() - published).as("PUBLISHes for a hand-over on the releasing node").isEqualTo(1);

        result(local.session().unlock("doc"));
        remote.pushes().expect(Kind.GRANTED, "doc", seconds(5));
        assertThat(publishes() - published).as("PUBLISHes for a hand-over to another node").isEqualTo(3);
    }

    /** PUBLISH commands Redis has run so far, those inside scripts included. */
    private static long publishes() {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("cmdstat_publish:calls=(\\d+)")
                .matcher(String.valueOf(TestRedis.command("INFO", "commandstats")));
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    @Test
    void nobodyJumpsTheQueue() {
        Client holder = open(0, "holder");
        Client queued = open(1, "queued");
        Client other = open(2, "other");
        token(result(holder.session().lock("doc")));
        result(queued.session().lock("doc", QUEUE));
        result(holder.session().unlock("doc"));
        queued.pushes().expect(Kind.GRANTED, "doc", seconds(5));

        Client late = open(2, "late");
        result(late.session().lock("doc", QUEUE));
        result(queued.session().unlock("doc"));
        late.pushes().expect(Kind.GRANTED, "doc", seconds(5));
        assertThat(result(other.session().lock("doc"))).isEqualTo(new LockResult.Waiting("late"));
    }

    @Test
    void askingAgainKeepsThePlace() {
        Client holder = open(0, "holder");
        Client a = open(1, "a");
        Client b = open(2, "b");
        token(result(holder.session().lock("doc")));
        result(a.session().lock("doc", QUEUE));
        result(b.session().lock("doc", QUEUE));
        assertThat(result(a.session().lock("doc", QUEUE))).isEqualTo(new LockResult.Queued(1, "holder"));
        assertThat(result(a.session().lock("doc"))).as("without queue: no jumping, no grant").isEqualTo(new LockResult.Waiting("holder"));
        assertThat(a.session().queuedLocks()).containsExactly("doc");
    }

    @Test
    void sharedHoldersCoexistAndAQueuedWriterStopsLaterReaders() {
        Client r1 = open(0, "r1");
        Client r2 = open(1, "r2");
        Client writer = open(2, "writer");
        Client r3 = open(0, "r3");
        long a = token(result(r1.session().lock("doc", LockOptions.shared())));
        long b = token(result(r2.session().lock("doc", LockOptions.shared())));
        assertThat(b).isGreaterThan(a);
        assertThat(result(writer.session().lock("doc"))).isEqualTo(new LockResult.Waiting("r1"));
        assertThat(result(writer.session().lock("doc", QUEUE))).isEqualTo(new LockResult.Queued(1, "r1"));
        assertThat(result(r3.session().lock("doc", LockOptions.shared()))).as("no reader passes a queued writer")
                .isInstanceOf(LockResult.Waiting.class);
        assertThat(result(r3.session().lock("doc", SHARED_QUEUE))).isEqualTo(new LockResult.Queued(2, "r1"));

        result(r1.session().unlock("doc"));
        writer.pushes().expectNone(Duration.ofMillis(300));
        result(r2.session().unlock("doc"));
        long w = writer.pushes().expect(Kind.GRANTED, "doc", seconds(5)).token();
        assertThat(w).isGreaterThan(b);
        assertThat(writer.pushes().all().get(0).detail()).endsWith("exclusive");
        r3.pushes().expectNone(Duration.ofMillis(300));

        result(writer.session().unlock("doc"));
        Pushes.Push granted = r3.pushes().expect(Kind.GRANTED, "doc", seconds(5));
        assertThat(granted.token()).isGreaterThan(w);
        assertThat(granted.detail()).endsWith("shared");
    }

    @Test
    void sharedRequestsAtTheHeadAreGrantedTogether() {
        Client x = open(0, "x");
        Client s1 = open(1, "s1");
        Client s2 = open(2, "s2");
        Client x2 = open(0, "x2");
        Client s3 = open(1, "s3");
        token(result(x.session().lock("doc")));
        result(s1.session().lock("doc", SHARED_QUEUE));
        result(s2.session().lock("doc", SHARED_QUEUE));
        result(x2.session().lock("doc", QUEUE));
        result(s3.session().lock("doc", SHARED_QUEUE));

        result(x.session().unlock("doc"));
        s1.pushes().expect(Kind.GRANTED, "doc", seconds(5));
        s2.pushes().expect(Kind.GRANTED, "doc", seconds(5));
        x2.pushes().expectNone(Duration.ofMillis(300));
        result(s1.session().unlock("doc"));
        x2.pushes().expectNone(Duration.ofMillis(300));
        result(s2.session().unlock("doc"));
        x2.pushes().expect(Kind.GRANTED, "doc", seconds(5));
        s3.pushes().expectNone(Duration.ofMillis(300));
        result(x2.session().unlock("doc"));
        s3.pushes().expect(Kind.GRANTED, "doc", seconds(5));
    }

    @Test
    void aCancelledRequestIsNeverGranted() {
        Client holder = open(0, "holder");
        Client quitter = open(1, "quitter");
        Client next = open(2, "next");
        token(result(holder.session().lock("doc")));
        result(quitter.session().lock("doc", QUEUE));
        result(next.session().lock("doc", QUEUE));
        assertThat(result(quitter.session().cancel("doc"))).isEqualTo(CancelResult.CANCELLED);
        assertThat(result(quitter.session().cancel("doc"))).extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.NOT_QUEUED);
        assertThat(quitter.session().queuedLocks()).isEmpty();

        result(holder.session().unlock("doc"));
        next.pushes().expect(Kind.GRANTED, "doc", seconds(5));
        quitter.pushes().expectNone(Duration.ofMillis(300));
    }

    @Test
    void aCancelAfterTheGrantKeepsTheGrantAndSaysSo() {
        Client holder = open(0, "holder");
        Client waiter = open(1, "waiter");
        token(result(holder.session().lock("doc")));
        result(waiter.session().lock("doc", QUEUE));
        result(holder.session().unlock("doc"));
        await().atMost(seconds(5)).until(() -> waiter.session().heldLocks().containsKey("doc"));
        assertThat(result(waiter.session().cancel("doc"))).extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.NOT_QUEUED);
        assertThat(waiter.session().heldLocks()).containsKey("doc");
    }

    /**
     * Found by review: a cancel whose leave found the place granted, answered after lease renewal had
     * given that place up (CANCELLED pushed, the grant to be freed), said NOT_QUEUED, "granted...
     * unlock it", for a lock the session did not hold.
     */
    @Test
    void aCancelAnsweredAfterRenewalGaveThePlaceUpIsCancelledNotGranted() {
        FakeTime time = new FakeTime();
        Duration lease = Duration.ofSeconds(60); // a command times out after 3 s of real time
        LockService node = LockService.connect(TestRedis.url(), LockConfig.builder().lease(lease).ticker(time).scheduler(time).build());
        nodes.add(node);
        Client holder = open(0, "holder");
        Pushes pushes = new Pushes();
        LockSession waiter = node.openSession("waiter", pushes);
        token(result(holder.session().lock("doc")));
        assertThat(result(waiter.lock("doc", QUEUE))).isInstanceOf(LockResult.Queued.class);
        grantMessagesGoNowhere(waiter, "doc");
        result(holder.session().unlock("doc")); // granted in Redis; the waiter's node is not told

        TestRedis.command("CLIENT", "PAUSE", "2000", "WRITE"); // the cancel's leave, and every keep-place, wait in Redis
        java.util.concurrent.CompletionStage<CancelResult> cancel = waiter.cancel("doc");
        time.advance(lease.multipliedBy(2).dividedBy(3)); // the tick at two thirds of the lease gives the place up
        assertThat(pushes.expect(Kind.CANCELLED, "doc", seconds(5)).detail()).isEqualTo("backend");
        TestRedis.command("CLIENT", "UNPAUSE"); // now the leave answers: granted

        assertThat(result(cancel)).isEqualTo(CancelResult.CANCELLED);
        assertThat(waiter.heldLocks()).isEmpty();
        Client probe = open(2, "probe");
        await().atMost(seconds(5)).until(() -> result(probe.session().lock("doc")) instanceof LockResult.Locked); // given back
        pushes.expectNone(Duration.ofMillis(200));
    }

    @Test
    void aTimedOutRequestLeavesTheQueue() {
        Client holder = open(0, "holder");
        Client impatient = open(1, "impatient");
        Client patient = open(2, "patient");
        token(result(holder.session().lock("doc")));
        result(impatient.session().lock("doc", QUEUE.timeout(Duration.ofMillis(300))));
        result(patient.session().lock("doc", QUEUE));
        Pushes.Push cancelled = impatient.pushes().expect(Kind.CANCELLED, "doc", seconds(5));
        assertThat(cancelled.detail()).isEqualTo("timeout");
        assertThat(impatient.session().queuedLocks()).isEmpty();

        result(holder.session().unlock("doc"));
        patient.pushes().expect(Kind.GRANTED, "doc", seconds(5));
        impatient.pushes().expectNone(Duration.ofMillis(300));
    }

    @Test
    void closingLeavesEveryQueue() {
        Client holder = open(0, "holder");
        Client leaving = open(1, "leaving");
        Client next = open(2, "next");
        token(result(holder.session().lock("a")));
        token(result(holder.session().lock("b")));
        result(leaving.session().lock("a", QUEUE));
        result(leaving.session().lock("b", QUEUE));
        result(next.session().lock("a", QUEUE));
        result(leaving.session().closeAsync());
        result(holder.session().unlock("a"));
        next.pushes().expect(Kind.GRANTED, "a", seconds(5));
        result(holder.session().unlock("b"));
        assertThat(TestRedis.command("KEYS", "distlock:queue*").toString()).isEqualTo("[]");
    }

    @Test
    void aFullQueueRefusesAndChangesNothing() {
        nodes.add(LockService.connect(TestRedis.url(), LockConfig.builder().maxQueueLength(2).build()));
        LockService small = nodes.get(3);
        LockSession holder = small.openSession("holder", new Pushes());
        token(result(holder.lock("doc")));
        result(small.openSession("a", new Pushes()).lock("doc", QUEUE));
        result(small.openSession("b", new Pushes()).lock("doc", QUEUE));
        LockSession c = small.openSession("c", new Pushes());
        LockResult full = result(c.lock("doc", QUEUE));
        assertThat(full).extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.TOO_MANY_LOCKS);
        assertThat(c.queuedLocks()).isEmpty();
    }

    @Test
    void sharedMultiLocksCoexist() {
        Client a = open(0, "a");
        Client b = open(1, "b");
        Client c = open(2, "c");
        assertThat(result(a.session().lockAll(List.of("x", "y"), LockMode.SHARED))).isInstanceOf(MultiLockResult.Locked.class);
        assertThat(result(b.session().lockAll(List.of("x", "y"), LockMode.SHARED))).isInstanceOf(MultiLockResult.Locked.class);
        assertThat(result(c.session().lockAll(List.of("x", "y")))).isInstanceOf(MultiLockResult.Waiting.class);
        result(a.session().unlockAll(List.of("x", "y")));
        result(b.session().closeAsync());
        c.pushes().expect(Kind.RETRY, "x", seconds(5));
        assertThat(result(c.session().lockAll(List.of("x", "y")))).isInstanceOf(MultiLockResult.Locked.class);
    }

    /** Found by review: a shared mlock past a queued writer named the writer, where lock names the readers it waits for. */
    @Test
    void aSharedMultiLockBehindAQueuedWriterNamesTheSharedHoldersAsLockDoes() {
        Client reader = open(0, "reader");
        Client writer = open(1, "writer");
        Client other = open(2, "other");
        assertThat(result(reader.session().lock("x", LockOptions.shared()))).isInstanceOf(LockResult.Locked.class);
        assertThat(result(writer.session().lock("x", QUEUE))).isEqualTo(new LockResult.Queued(1, "reader"));
        assertThat(result(other.session().lock("x", LockOptions.shared()))).isEqualTo(new LockResult.Waiting("reader"));
        assertThat(result(other.session().lockAll(List.of("x"), LockMode.SHARED))).isEqualTo(new MultiLockResult.Waiting(Map.of("x", "reader")));
    }

    @Test
    void aGrantToldAgainLateIsNotTakenForTheGrantOfALaterPlace() {
        Client holder = open(0, "holder");
        Client waiter = open(1, "waiter");
        Session session = (Session) waiter.session();
        token(result(holder.session().lock("doc")));
        result(waiter.session().lock("doc", QUEUE));
        String firstPlace = session.places().get("doc").attemptId();
        result(holder.session().unlock("doc"));
        long first = waiter.pushes().expect(Kind.GRANTED, "doc", seconds(5)).token();
        result(waiter.session().unlock("doc"));
        token(result(holder.session().lock("doc")));
        result(waiter.session().lock("doc", QUEUE)); // a second place

        // A copy of the first grant's news arrives now (a keep-place answered before the first grant was told):
        session.grantFound("doc", firstPlace, first, LockMode.EXCLUSIVE);
        assertThat(result(waiter.session().lock("probe"))).isInstanceOf(LockResult.Locked.class); // the chain has run it
        assertThat(waiter.session().heldLocks()).doesNotContainKey("doc");
        assertThat(waiter.session().queuedLocks()).containsExactly("doc");
        waiter.pushes().expectNone(Duration.ofMillis(200));
    }

    /**
     * Found by review: a grant of a place the session does not know (standing here for a place an
     * adoption could not prove, or one given up) was only logged, and held the lock, for nobody,
     * until the place's lease ran out (10 s here) while everybody else waited.
     */
    @Test
    void aGrantOfAPlaceTheSessionDoesNotKnowIsGivenBack() {
        Client holder = open(0, "holder");
        Client waiter = open(1, "waiter");
        Client probe = open(2, "probe");
        token(result(holder.session().lock("doc")));
        result(waiter.session().lock("doc", QUEUE));
        ((Session) waiter.session()).places().remove("doc"); // the session's view lost the place; Redis has it
        result(holder.session().unlock("doc"));
        await().atMost(seconds(3)).pollInterval(Duration.ofMillis(50))
                .until(() -> result(probe.session().lock("doc")) instanceof LockResult.Locked);
        assertThat(waiter.session().heldLocks()).isEmpty();
        waiter.pushes().expectNone(Duration.ofMillis(200));
    }

    @Test
    void aGrantIsNeverUpgraded() {
        Client a = open(0, "a");
        long shared = token(result(a.session().lock("doc", LockOptions.shared())));
        assertThat(result(a.session().lock("doc"))).extracting(r -> ((Refused) r).reason()).isEqualTo(Refusal.HELD_SHARED);
        assertThat(result(a.session().lockAll(List.of("doc", "other")))).extracting(r -> ((Refused) r).reason())
                .isEqualTo(Refusal.HELD_SHARED);
        assertThat(token(result(a.session().lock("doc", LockOptions.shared())))).isEqualTo(shared);
        result(a.session().unlock("doc"));
        long exclusive = token(result(a.session().lock("doc")));
        assertThat(token(result(a.session().lock("doc", LockOptions.shared())))).as("exclusive is more than shared").isEqualTo(exclusive);
    }

    @Test
    void aDeadNodesPlaceAtTheHeadCostsAtMostItsLease() {
        Duration lease = Duration.ofSeconds(1);
        LockConfig config = LockConfig.builder().lease(lease).build();
        FakeTime frozen = new FakeTime(); // the dead node's clock never moves: it never keeps its place
        LockService live = LockService.connect(TestRedis.url(), config);
        LockService dead = LockService.connect(TestRedis.url(), config.toBuilder().ticker(frozen).scheduler(frozen).build());
        nodes.add(live);
        nodes.add(dead);
        LockSession holder = live.openSession("holder", new Pushes());
        token(result(holder.lock("doc")));
        result(dead.openSession("dead", new Pushes()).lock("doc", QUEUE));
        Pushes pushes = new Pushes();
        LockSession next = live.openSession("next", pushes);
        result(next.lock("doc", QUEUE));
        long queuedAt = System.nanoTime();

        result(holder.unlock("doc")); // handed to the dead node's session (its place may still be alive) or past it
        Pushes.Push granted = pushes.expect(Kind.GRANTED, "doc", seconds(10));
        assertThat(Duration.ofNanos(granted.atNanos() - queuedAt)).as("one lease and a tick of renewal, with margin")
                .isLessThan(lease.plus(lease.dividedBy(6)).plusMillis(1500));
    }

    @Test
    void aLockWhoseHolderDiedGoesToTheQueueWithinALease() {
        Duration lease = Duration.ofSeconds(1);
        LockConfig config = LockConfig.builder().lease(lease).build();
        FakeTime frozen = new FakeTime(); // the holder's node never renews
        LockService live = LockService.connect(TestRedis.url(), config);
        LockService dead = LockService.connect(TestRedis.url(), config.toBuilder().ticker(frozen).scheduler(frozen).build());
        nodes.add(live);
        nodes.add(dead);
        long t0 = token(result(dead.openSession("dead", new Pushes()).lock("doc")));
        long lockedAt = System.nanoTime();
        Pushes pushes = new Pushes();
        LockSession next = live.openSession("next", pushes);
        assertThat(result(next.lock("doc", QUEUE))).isEqualTo(new LockResult.Queued(1, "dead"));
        Pushes.Push granted = pushes.expect(Kind.GRANTED, "doc", seconds(10));
        assertThat(granted.token()).isGreaterThan(t0);
        // not before the dead holder's lease ran out; then at the next keep-place of next's node (a sixth of the lease)
        assertThat(Duration.ofNanos(granted.atNanos() - lockedAt)).isGreaterThanOrEqualTo(lease.minusMillis(50))
                .as("one lease and a tick of renewal, with margin").isLessThan(lease.plus(lease.dividedBy(6)).plusMillis(1500));
    }

    @Test
    void aGrantWhoseMessageIsLostIsFoundByTheNextKeepPlace() {
        Client holder = open(0, "holder");
        Client waiter = open(1, "waiter");
        token(result(holder.session().lock("doc")));
        result(waiter.session().lock("doc", QUEUE));
        // The grant message goes to a node id nobody listens to: as lost as a message can be.
        String entry = (String) TestRedis.command("HGET", "distlock:queued:doc", waiter.session().id());
        String[] f = entry.split("\\|", 5);
        TestRedis.command("HSET", "distlock:queued:doc", waiter.session().id(), f[0] + "|" + f[1] + "|" + f[2] + "|nobody|" + f[4]);
        long unlocking = System.nanoTime();
        result(holder.session().unlock("doc"));
        Pushes.Push granted = waiter.pushes().expect(Kind.GRANTED, "doc", seconds(10));
        assertThat(waiter.session().heldLocks()).containsEntry("doc", granted.token());
        // found at the waiter's node's next keep-place: within a sixth of the lease (10 s by default), with margin
        Duration lease = LockConfig.defaults().lease();
        assertThat(Duration.ofNanos(granted.atNanos() - unlocking)).as("a sixth of the lease, with margin")
                .isLessThan(lease.dividedBy(6).plusSeconds(2));
    }

    // ---- a place granted in another mode than a later request of the same session asks ----

    /** X held doc and its lease ran out in Redis (its owner fields gone): the next script on doc hands it to the queue. */
    private static void holdersLeaseRanOut() {
        TestRedis.command("HDEL", "distlock:lock:doc", "owner", "holder", "attempt");
    }

    private static Refusal refusal(Object r) {
        assertThat(r).isInstanceOf(Refused.class);
        return ((Refused) r).reason();
    }

    @Test
    void anExclusiveRequestWhosePlaceItsOwnScriptGrantsSharedIsNotToldItHoldsTheLockExclusive() {
        Client x = open(0, "x");
        Client s = open(1, "s");
        Client r = open(2, "r");
        token(result(x.session().lock("doc")));
        assertThat(result(s.session().lock("doc", SHARED_QUEUE))).isEqualTo(new LockResult.Queued(1, "x"));
        assertThat(result(r.session().lock("doc", SHARED_QUEUE))).isEqualTo(new LockResult.Queued(2, "x"));
        holdersLeaseRanOut();

        // The same session asks for doc exclusive: it passes its place, which this very script hands over, shared.
        LockResult answer = result(s.session().lock("doc"));
        assertThat(r.pushes().expect(Kind.GRANTED, "doc", seconds(5)).detail()).endsWith("shared");
        assertThat(answer).as("not LOCKED (exclusive) while r holds doc shared").isNotInstanceOf(LockResult.Locked.class);
        assertThat(refusal(answer)).isEqualTo(Refusal.HELD_SHARED);
        // It is told what it holds (the grant of its queued request), and holds it as Redis granted it.
        Pushes.Push granted = s.pushes().expect(Kind.GRANTED, "doc", seconds(5));
        assertThat(granted.detail()).endsWith("shared");
        assertThat(s.session().heldLocks()).containsEntry("doc", granted.token());
        assertThat(((Session) s.session()).heldNow().get("doc").mode()).isEqualTo(LockMode.SHARED);
        assertThat(s.session().queuedLocks()).isEmpty();
        assertThat(result(s.session().unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
        assertThat(result(r.session().unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
        s.pushes().expectNone(Duration.ofMillis(200));
    }

    @Test
    void aStealWhosePlaceWasGrantedSharedBeforeItsNoticeCameStealsNothingAndSaysSo() {
        // s's node never keeps its place (its clock stands still) and its grant message goes nowhere:
        // the hand-over's notice is not handled when s asks again.
        LockService still = frozenNode();
        Client x = open(0, "x");
        Pushes sPushes = new Pushes();
        LockSession s = still.openSession("s", sPushes);
        Client r = open(2, "r");
        Client w = open(1, "w");
        token(result(x.session().lock("doc")));
        result(s.lock("doc", SHARED_QUEUE));
        result(r.session().lock("doc", SHARED_QUEUE));
        grantMessagesGoNowhere(s, "doc");
        holdersLeaseRanOut();
        assertThat(result(w.session().lock("doc"))).isInstanceOf(LockResult.Waiting.class); // its script hands doc to s and r, shared
        assertThat(r.pushes().expect(Kind.GRANTED, "doc", seconds(5)).detail()).endsWith("shared");

        LockResult answer = result(s.lock("doc", LockOptions.exclusive().stealing()));
        assertThat(answer).as("not LOCKED (exclusive) while r holds doc shared").isNotInstanceOf(LockResult.Locked.class);
        assertThat(refusal(answer)).isEqualTo(Refusal.HELD_SHARED);
        assertThat(sPushes.expect(Kind.GRANTED, "doc", seconds(5)).detail()).endsWith("shared");
        assertThat(((Session) s).heldNow().get("doc").mode()).isEqualTo(LockMode.SHARED);
        r.pushes().expectNone(Duration.ofMillis(300)); // nothing was stolen from r
        assertThat(r.session().heldLocks()).containsKey("doc");
        assertThat(result(s.unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
    }

    /**
     * Found by review (2026-12-05): a shared steal left a shared request at the head of the queue
     * waiting beside the stealer's shared hold, until its node's next keep-place tick (a sixth of
     * the lease) handed it over. The steal's own script lets it in now.
     */
    @Test
    void aSharedStealLetsTheSharedRequestsAtTheHeadInBesideIt() {
        Client x = open(0, "x");
        Client r = open(1, "r");
        Client w = open(2, "w");
        Client thief = open(0, "thief");
        token(result(x.session().lock("doc")));
        assertThat(result(r.session().lock("doc", SHARED_QUEUE))).isInstanceOf(LockResult.Queued.class);
        assertThat(result(w.session().lock("doc", QUEUE))).isInstanceOf(LockResult.Queued.class);

        long stolen = token(result(thief.session().lock("doc", LockOptions.shared().stealing())));
        LockState now = result(nodes.get(0).query(List.of("doc"))).get("doc");
        assertThat(now.holders()).extracting(LockState.Entry::name).containsExactlyInAnyOrder("thief", "r");
        assertThat(now.queue()).extracting(LockState.Entry::name).containsExactly("w");
        assertThat(r.pushes().expect(Kind.GRANTED, "doc", seconds(5)).token()).isGreaterThan(stolen);
        x.pushes().expect(Kind.LOST, "doc", seconds(5));
        assertThat(result(thief.session().unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
        assertThat(result(r.session().unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
        w.pushes().expect(Kind.GRANTED, "doc", seconds(5));
    }

    @Test
    void aSharedRequestWhosePlaceIsGrantedExclusiveHoldsItExclusive() {
        Client x = open(0, "x");
        Client s = open(1, "s");
        token(result(x.session().lock("doc")));
        result(s.session().lock("doc", QUEUE));
        holdersLeaseRanOut();
        long t = token(result(s.session().lock("doc", LockOptions.shared())));
        assertThat(TestRedis.command("HGET", "distlock:lock:doc", "owner")).isEqualTo(s.session().id());
        assertThat(((Session) s.session()).heldNow().get("doc")).isEqualTo(new ResumeResult.Held(t, LockMode.EXCLUSIVE));
        assertThat(token(result(s.session().lock("doc")))).as("held exclusive: an exclusive request gets it again").isEqualTo(t);
    }

    /**
     * Found by review (2026-12-05): a request asked again with a longer timeout while its first
     * timeout fired (the repeat out at Redis) was cancelled by the first one: QUEUED, then
     * CANCELLED timeout, against the repeat's minute.
     */
    @Test
    void aRepeatedRequestsTimeoutIsNotCutShortByTheFirstTimerFiringWhileItIsOut() {
        FakeTime time = new FakeTime();
        // A long lease: the place needs no keep-place proof within the minute the test moves the clock on.
        LockService node = LockService.connect(TestRedis.url(), LockConfig.builder().lease(Duration.ofMinutes(10)).ticker(time).scheduler(time).build());
        nodes.add(node);
        Client x = open(0, "x");
        token(result(x.session().lock("doc")));
        Pushes pushes = new Pushes();
        LockSession s = node.openSession("s", pushes);
        assertThat(result(s.lock("doc", QUEUE.timeout(Duration.ofSeconds(1))))).isInstanceOf(LockResult.Queued.class);
        TestRedis.command("CLIENT", "PAUSE", "300", "WRITE"); // the repeat is out while the first timer fires
        java.util.concurrent.CompletionStage<LockResult> again = s.lock("doc", QUEUE.timeout(Duration.ofMinutes(1)));
        time.advance(Duration.ofSeconds(1));
        assertThat(result(again)).isInstanceOf(LockResult.Queued.class);
        pushes.expectNone(Duration.ofMillis(500));
        assertThat(s.queuedLocks()).contains("doc");
        time.advance(Duration.ofMinutes(1)); // the repeat's own timeout still ends it
        assertThat(pushes.expect(Kind.CANCELLED, "doc", seconds(5)).detail()).isEqualTo("timeout");
    }

    // ---- a place that Redis no longer has ----

    /** A node whose clock stands still: it never keeps its sessions' places nor renews their locks. */
    private LockService frozenNode() {
        FakeTime frozen = new FakeTime();
        LockService still = LockService.connect(TestRedis.url(), LockConfig.builder().ticker(frozen).scheduler(frozen).build());
        nodes.add(still);
        return still;
    }

    /** Rewrites {@code s}'s queued request for {@code lock} so that the grant of its place is published to no node. */
    private static void grantMessagesGoNowhere(LockSession s, String lock) {
        String entry = (String) TestRedis.command("HGET", "distlock:queued:" + lock, s.id());
        String[] f = entry.split("\\|", 5);
        TestRedis.command("HSET", "distlock:queued:" + lock, s.id(), f[0] + "|" + f[1] + "|" + f[2] + "|nobody|" + f[4]);
    }

    @Test
    void askingAgainForAPlaceRedisLostQueuesAnewAndThatPlaceIsTheSessions() {
        Client x = open(0, "x");
        Client s = open(1, "s");
        Client v = open(2, "v");
        token(result(x.session().lock("doc")));
        assertThat(result(s.session().lock("doc", QUEUE))).isEqualTo(new LockResult.Queued(1, "x"));
        // Redis loses the place (a failover that missed it):
        TestRedis.command("ZREM", "distlock:queue:doc", s.session().id());
        TestRedis.command("HDEL", "distlock:queued:doc", s.session().id());

        assertThat(result(s.session().lock("doc", QUEUE))).isEqualTo(new LockResult.Queued(1, "x"));
        assertThat(result(v.session().lock("doc", QUEUE))).isEqualTo(new LockResult.Queued(2, "x"));
        result(x.session().unlock("doc"));
        Pushes.Push granted = s.pushes().expect(Kind.GRANTED, "doc", seconds(5)); // not CANCELLED
        assertThat(s.session().heldLocks()).containsEntry("doc", granted.token());
        assertThat(result(s.session().unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
        v.pushes().expect(Kind.GRANTED, "doc", seconds(1));
        s.pushes().expectNone(Duration.ofMillis(300));
    }

    @Test
    void askingAgainForAPlaceGrantedAndStolenBeforeItsGrantWasToldQueuesAnewAndThatPlaceIsTheSessions() {
        // s's node never keeps its place (its clock stands still), and the grant of that place goes nowhere.
        LockService still = frozenNode();
        Client x = open(0, "x");
        Pushes sPushes = new Pushes();
        LockSession s = still.openSession("s", sPushes);
        Client thief = open(1, "thief");
        Client v = open(2, "v");
        token(result(x.session().lock("doc")));
        result(s.lock("doc", QUEUE));
        grantMessagesGoNowhere(s, "doc");
        result(x.session().unlock("doc")); // granted to s's place, untold
        long stolen = token(result(thief.session().lock("doc", LockOptions.exclusive().stealing())));

        assertThat(result(s.lock("doc", QUEUE))).isEqualTo(new LockResult.Queued(1, "thief"));
        assertThat(result(v.session().lock("doc", QUEUE))).isEqualTo(new LockResult.Queued(2, "thief"));
        result(thief.session().unlock("doc"));
        Pushes.Push granted = sPushes.expect(Kind.GRANTED, "doc", seconds(5));
        assertThat(granted.token()).isGreaterThan(stolen);
        assertThat(s.heldLocks()).containsEntry("doc", granted.token());
        assertThat(result(s.unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
        v.pushes().expect(Kind.GRANTED, "doc", seconds(1));
        sPushes.expectNone(Duration.ofMillis(300));
    }

    // ---- a lock whose hash (its last token) is gone while it is held shared or queued for ----

    @Test
    void aSharedHoldLongerThanTheTokenMemoryKeepsWaitersWaitingAndIsReleasedCleanly() {
        LockConfig config = LockConfig.builder().lease(Duration.ofSeconds(1)).tokenMemory(Duration.ofSeconds(1)).build();
        LockService a = LockService.connect(TestRedis.url(), config);
        LockService b = LockService.connect(TestRedis.url(), config);
        nodes.add(a);
        nodes.add(b);
        Pushes s1Pushes = new Pushes();
        LockSession s1 = a.openSession("s1", s1Pushes);
        Pushes wPushes = new Pushes();
        LockSession w = b.openSession("w", wPushes);
        long shared = token(result(s1.lock("doc", LockOptions.shared())));
        assertThat(result(s1.lockAll(List.of("page", "note"), LockMode.SHARED))).isInstanceOf(MultiLockResult.Locked.class);
        // Held (renewed) for longer than the token memory and the lease.
        await().during(Duration.ofMillis(1600)).atMost(seconds(5)).until(() -> s1.heldLocks().size() == 3);
        assertThat(TestRedis.command("HGET", "distlock:lock:doc", "token")).as("the lock's last token").isEqualTo(Long.toString(shared));

        assertThat(result(w.lock("doc"))).isEqualTo(new LockResult.Waiting("s1"));
        assertThat(result(w.lockAll(List.of("page", "note")))).isInstanceOf(MultiLockResult.Waiting.class);
        await().during(Duration.ofMillis(500)).atMost(seconds(3)).until(() -> wPushes.all().isEmpty()); // no RETRY while s1 holds them

        assertThat(result(s1.unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
        assertThat(result(s1.unlockAll(List.of("page", "note")))).isEqualTo(UnlockResult.UNLOCKED);
        assertThat(s1.heldLocks()).isEmpty();
        List<Pushes.Push> retries = List.of(wPushes.next(seconds(5)), wPushes.next(seconds(5)), wPushes.next(seconds(5)));
        assertThat(retries).extracting(Pushes.Push::kind).containsOnly(Kind.RETRY);
        assertThat(retries).extracting(Pushes.Push::lock).containsExactlyInAnyOrder("doc", "page", "note");
        assertThat(token(result(w.lock("doc")))).isGreaterThan(shared);
        assertThat(result(w.lockAll(List.of("page", "note")))).isInstanceOf(MultiLockResult.Locked.class);
        s1Pushes.expectNone(Duration.ofMillis(200)); // no LOST
    }

    @Test
    void aQueueFormedDuringAQuarantineMakesOthersWaitNotSpin() {
        // The fixture's nodes, of a longer lease, gone (their records with them): a quarantine lasts the longest lease seen.
        stopNodes();
        nodes.clear();
        LockConfig config = LockConfig.builder().lease(Duration.ofSeconds(2)).dataLossQuarantine(true).build();
        LockService a = LockService.connect(TestRedis.url(), config);
        LockService b = LockService.connect(TestRedis.url(), config);
        nodes.add(a);
        nodes.add(b);
        // As after a failover: the marker names another primary, so the next grant starts a quarantine.
        TestRedis.command("SET", "distlock:epoch", "0123456789abcdef:0123456789abcdef:0");
        Pushes qPushes = new Pushes();
        LockSession q = a.openSession("q", qPushes);
        Pushes wPushes = new Pushes();
        LockSession w = b.openSession("w", wPushes);
        assertThat(result(q.lock("doc", QUEUE))).isEqualTo(new LockResult.Queued(1, LockResult.Waiting.RECOVERING));
        assertThat(TestRedis.command("HEXISTS", "distlock:lock:doc", "token")).as("a queued lock has a last token").isEqualTo(1L);

        // Nothing is granted yet: (recovering) for the rest of the quarantine, not the queue's head for a lease.
        assertThat(result(w.lock("doc"))).isEqualTo(new LockResult.Waiting(LockResult.Waiting.RECOVERING));
        await().during(Duration.ofMillis(500)).atMost(seconds(3)).until(() -> wPushes.all().isEmpty()); // no RETRY while q waits

        long t = qPushes.expect(Kind.GRANTED, "doc", seconds(6)).token();
        assertThat(result(q.unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
        await().atMost(seconds(5)).until(() -> wPushes.all().stream().anyMatch(p -> p.kind() == Kind.RETRY));
        assertThat(token(result(w.lock("doc")))).isGreaterThan(t);
        qPushes.expectNone(Duration.ofMillis(200));
    }
}
