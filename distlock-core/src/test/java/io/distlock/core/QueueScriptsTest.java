package io.distlock.core;

import static io.distlock.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import io.distlock.testing.TestRedis;

/**
 * The queue scripts driven directly, as a node's commands that arrive late would drive them: a
 * late leave or release names the grant it means and frees nothing newer.
 */
class QueueScriptsTest {

    private RedissonClient redisson;
    private RedisLockStore store;
    /** Grants to node-a's own requests, which unlock answers instead of publishing. */
    private final java.util.List<RedisLockStore.Granted> told = new java.util.ArrayList<>();

    @BeforeEach
    void start() {
        TestRedis.flushAll();
        Config config = new Config();
        config.useSingleServer().setAddress(TestRedis.url());
        redisson = Redisson.create(config);
        store = new RedisLockStore(redisson, LockConfig.defaults(), "node-a");
    }

    @AfterEach
    void stop() {
        redisson.shutdown();
    }

    /** A release by token of a node that never lost a session to an adoption (no bound on the grant's attempt id). */
    private static RedisLockStore.Release byToken(String lock, long token) {
        return RedisLockStore.Release.ofToken(lock, token, Long.MAX_VALUE);
    }

    private RedisLockStore.Attempt lock(String owner, String attempt, LockMode mode, boolean queue) {
        return result(store.lock(owner, owner + "-name", "doc", Optional.empty(), attempt, mode, queue, "", false, false));
    }

    @Test
    void aLateLeaveOfAnOlderPlaceFreesNoNewerGrant() {
        long holder = lock("holder", "1", LockMode.EXCLUSIVE, false).tokens().get(0);
        assertThat(lock("me", "1", LockMode.EXCLUSIVE, true).queued()).isEqualTo(new RedisLockStore.Queued(1, "holder-name", "1"));
        assertThat(result(store.unlock("holder", byToken("doc", holder), told::add)).released()).isTrue();
        // The place (attempt 1) was granted; the session let it go and locked again (attempt 2).
        RedisLockStore.Place granted = result(store.leave("me", "doc", "1"));
        assertThat(granted).isInstanceOf(RedisLockStore.Place.Holds.class);
        long first = ((RedisLockStore.Place.Holds) granted).token();
        assertThat(result(store.unlock("me", byToken("doc", first), told::add)).released()).isTrue();
        long second = lock("me", "2", LockMode.EXCLUSIVE, false).tokens().get(0);

        // A leave of the first place that arrives now, releasing what that place was granted:
        assertThat(result(store.leave("me", RedisLockStore.Release.ofAttempt("doc", "1")))).isInstanceOf(RedisLockStore.Place.Gone.class);
        assertThat(TestRedis.command("HGET", "distlock:lock:doc", "token").toString()).isEqualTo(Long.toString(second));
        assertThat(TestRedis.command("HGET", "distlock:lock:doc", "owner").toString()).isEqualTo("me");
    }

    @Test
    void aLateReleaseOfAnOlderSharedGrantFreesNoNewerOne() {
        long first = lock("me", "1", LockMode.SHARED, false).tokens().get(0);
        assertThat(result(store.unlock("me", byToken("doc", first), told::add)).released()).isTrue();
        long second = lock("me", "2", LockMode.SHARED, false).tokens().get(0);
        assertThat(second).isGreaterThan(first);

        assertThat(result(store.unlock("me", byToken("doc", first), told::add)).released()).isFalse();
        assertThat(result(store.unlock("me", RedisLockStore.Release.ofAttempt("doc", "1"), told::add)).released()).isFalse();
        assertThat(lock("other", "1", LockMode.EXCLUSIVE, false).conflicts()).extracting(RedisLockStore.Conflict::holder)
                .containsExactly("me-name");
    }

    @Test
    void aLateCopyOfAnOlderSharedAttemptDoesNotReplaceTheNewerGrant() {
        long newer = result(store.lock("me", "me-name", "doc", Optional.empty(), "5", LockMode.SHARED, false, "", false, false)).tokens().get(0);
        RedisLockStore.Attempt late = result(store.lock("me", "me-name", "doc", Optional.empty(), "4", LockMode.SHARED, false, "", false, false));
        assertThat(late.granted()).isFalse();
        assertThat(result(store.unlock("me", byToken("doc", newer), told::add)).released()).isTrue();
    }

    @Test
    void nothingIsLeftOfALockWhoseQueueAndHoldersAreGone() {
        long holder = lock("holder", "1", LockMode.EXCLUSIVE, false).tokens().get(0);
        lock("a", "1", LockMode.SHARED, true);
        lock("b", "1", LockMode.SHARED, true);
        assertThat(result(store.unlock("holder", byToken("doc", holder), told::add)).released()).isTrue();
        long a = ((RedisLockStore.Place.Holds) result(store.leave("a", "doc", "1"))).token();
        long b = ((RedisLockStore.Place.Holds) result(store.leave("b", "doc", "1"))).token();
        result(store.unlock("a", byToken("doc", a), told::add));
        result(store.unlock("b", byToken("doc", b), told::add));
        assertThat(TestRedis.command("KEYS", "distlock:*").toString().replaceAll("[\\[\\] ]", "").split(","))
                .as("the lock's last token and the quarantine marker, nothing else").containsExactlyInAnyOrder("distlock:lock:doc", "distlock:epoch");
        assertThat((Long) TestRedis.command("PTTL", "distlock:lock:doc")).isPositive(); // the token, for its memory
    }

    @Test
    void aPlaceTheSessionGaveUpIsNotGivenBackToItsNextRequest() {
        lock("holder", "1", LockMode.EXCLUSIVE, false);
        assertThat(lock("me", "1", LockMode.EXCLUSIVE, true).queued().position()).isEqualTo(1);
        assertThat(lock("other", "1", LockMode.EXCLUSIVE, true).queued().position()).isEqualTo(2);
        // The node gave the place up (its leave never arrived); the session asks again, knowing of no place:
        RedisLockStore.Attempt again = result(store.lock("me", "me-name", "doc", Optional.empty(), "2", LockMode.SHARED, true, "", false, false));
        assertThat(again.queued().position()).as("at the back, behind the request queued since").isEqualTo(2);
        String entry = (String) TestRedis.command("HGET", "distlock:queued:doc", "me");
        assertThat(entry).as("its own mode and attempt").startsWith("s|").contains("|2|");
        // Asking again with the place it knows keeps it.
        assertThat(result(store.lock("me", "me-name", "doc", Optional.empty(), "3", LockMode.SHARED, true, "2", false, false)).queued().position()).isEqualTo(2);
    }

    @Test
    void aGrantTheSessionLetGoIsNotToldAsTheGrantOfItsNewPlace() {
        long mine = lock("me", "1", LockMode.EXCLUSIVE, false).tokens().get(0);
        // Its release was lost (a failover): Redis still has the session as owner, but the session let it go.
        assertThat(lock("other", "1", LockMode.EXCLUSIVE, true).queued().position()).isEqualTo(1);
        RedisLockStore.Attempt queued = result(store.lock("me", "me-name", "doc", Optional.empty(), "2", LockMode.EXCLUSIVE, true, "", false, false));
        assertThat(queued.queued()).as("the old grant goes to the head of the queue; the session queues behind").isNotNull();
        assertThat(TestRedis.command("HGET", "distlock:lock:doc", "owner").toString()).isEqualTo("other");
        assertThat(Long.parseLong(TestRedis.command("HGET", "distlock:lock:doc", "token").toString())).isGreaterThan(mine);
        List<RedisLockStore.Place> places = store.keepPlaces(List.of("me"), List.of("doc"), List.of("2")).stream()
                .map(stage -> result(stage)).toList();
        assertThat(places).containsExactly(new RedisLockStore.Place.InQueue(1));
        // A place named by another attempt is not the session's place.
        assertThat(result(store.keepPlaces(List.of("me"), List.of("doc"), List.of("1")).get(0))).isEqualTo(new RedisLockStore.Place.Gone());
    }

    @Test
    void aLockHashGoneWhileHeldSharedNamesNoZeroTokenAndItsReleaseCompletes() {
        long shared = lock("s1", "1", LockMode.SHARED, false).tokens().get(0);
        result(store.lockAll("s1", "s1-name", List.of("doc2"), Map.of(), "2", LockMode.SHARED, Map.of()));
        // The lock hashes are gone (evicted; or expired under a node that did not renew them):
        TestRedis.command("DEL", "distlock:lock:doc", "distlock:lock:doc2");

        RedisLockStore.Conflict wait = lock("w", "1", LockMode.EXCLUSIVE, false).conflicts().get(0);
        assertThat(wait.holder()).isEqualTo("s1-name");
        assertThat(wait.token()).as("the token a grant would have had, not 0 (which waiters take for a release)").isGreaterThan(shared);
        RedisLockStore.Conflict waitAll = result(store.lockAll("w", "w-name", List.of("doc2"), Map.of(), "2", LockMode.EXCLUSIVE, Map.of()))
                .conflicts().get(0);
        assertThat(waitAll.token()).isGreaterThan(shared);

        // The last holder's release completes (the release of a lock someone waits for is published).
        assertThat(result(store.unlock("s1", byToken("doc", shared), told::add)).released()).isTrue();
        assertThat(TestRedis.command("HEXISTS", "distlock:lock:doc", "w")).isEqualTo(0L);
        assertThat(lock("w", "3", LockMode.EXCLUSIVE, false).granted()).isTrue();
    }

    /** {@code n} shared holders of "doc" whose leases ran out long ago (their nodes died holding), written as lock.lua writes them. */
    private static void deadSharedHolders(int n) {
        for (int i = 0; i < n; i++) {
            TestRedis.command("HSET", "distlock:shared:doc", "dead-" + i, i + 1 + "|1|1|0;dead-" + i);
        }
    }

    /**
     * A request reads only a page of the shared holders (with thousands, reading them all cost
     * Redis milliseconds per request): a live holder among thousands of dead ones, which a first
     * page almost never shows (past 512 holders Redis keeps the hash as a table, and a page is a
     * few of its buckets), still stands in the way of each: an exclusive request, an exclusive
     * multi-lock, the release of another holder (not published while one is left), and the
     * hand-over to the queue's exclusive head.
     */
    @Test
    void oneLiveSharedHolderAmongManyDeadOnesStillExcludes() {
        long reader = lock("reader", "1", LockMode.SHARED, false).tokens().get(0);
        long second = lock("second", "1", LockMode.SHARED, false).tokens().get(0);
        deadSharedHolders(2000); // again before each step: a full read removes them
        assertThat(TestRedis.command("OBJECT", "ENCODING", "distlock:shared:doc").toString()).isEqualTo("hashtable");

        RedisLockStore.Attempt writer = lock("writer", "1", LockMode.EXCLUSIVE, false);
        assertThat(writer.granted()).isFalse();
        assertThat(writer.conflicts().get(0).holder()).isEqualTo("reader-name");
        deadSharedHolders(2000);
        RedisLockStore.Attempt all = result(store.lockAll("other", "other-name", List.of("doc"), Map.of(), "1", LockMode.EXCLUSIVE, Map.of()));
        assertThat(all.granted()).isFalse();
        assertThat(all.conflicts().get(0).holder()).isEqualTo("reader-name");

        deadSharedHolders(2000);
        assertThat(result(store.unlock("second", byToken("doc", second), told::add)).released()).isTrue();
        assertThat(TestRedis.command("HEXISTS", "distlock:lock:doc", "w")).as("no release told while a holder is left").isEqualTo(1L);

        deadSharedHolders(2000);
        assertThat(lock("writer", "2", LockMode.EXCLUSIVE, true).queued()).isNotNull();
        deadSharedHolders(2000);
        assertThat(lock("other", "2", LockMode.SHARED, false).granted()).as("a queued exclusive request stops later shared ones").isFalse();
        assertThat(TestRedis.command("HGET", "distlock:lock:doc", "owner")).as("not handed to the writer while the reader holds").isNull();

        deadSharedHolders(2000);
        assertThat(result(store.unlock("reader", byToken("doc", reader), told::add)).released()).isTrue();
        assertThat(TestRedis.command("HGET", "distlock:lock:doc", "owner").toString()).isEqualTo("writer");
    }

    /**
     * A WAIT names the earliest shared holder while the holders fit in a page, whatever their names:
     * values past 64 bytes (a long name, an info) make Redis keep even a small hash as a table, in no
     * order (found by review: naming the first live one of the page named a later holder for most locks).
     */
    @Test
    void aWaitNamesTheEarliestOfAFewSharedHoldersWithLongNames() {
        String longer = "x".repeat(60);
        for (int i = 0; i < 20; i++) {
            String lock = "long-" + i;
            for (String reader : List.of("first", "second", "third")) {
                assertThat(result(store.lock(reader, reader + "-" + longer, lock, Optional.empty(), "1", LockMode.SHARED, false, "", false, false))
                        .granted()).isTrue();
            }
            assertThat(TestRedis.command("OBJECT", "ENCODING", "distlock:shared:" + lock).toString()).isEqualTo("hashtable");
            RedisLockStore.Attempt writer = result(store.lock("writer", "writer", lock, Optional.empty(), "1", LockMode.EXCLUSIVE, false, "",
                    false, false));
            assertThat(writer.conflicts().get(0).holder()).isEqualTo("first-" + longer);
        }
    }

    /** Dead shared holders of a lock only ever read are removed as the hash grows, not kept for good. */
    @Test
    void deadSharedHoldersAreRemovedAsTheHashGrows() {
        deadSharedHolders(100);
        assertThat(lock("reader", "1", LockMode.SHARED, false).granted()).isTrue();
        assertThat(TestRedis.command("HLEN", "distlock:shared:doc")).isEqualTo(1L);

        for (int i = 0; i < 70; i++) {
            assertThat(lock("reader-" + i, "1", LockMode.SHARED, false).granted()).isTrue();
        }
        deadSharedHolders(100); // more than the live ones: removed by the next grant
        assertThat(lock("last", "1", LockMode.SHARED, false).granted()).isTrue();
        assertThat(TestRedis.command("HLEN", "distlock:shared:doc")).isEqualTo(72L);
    }

    @Test
    void anExpiredPlaceBehindTheHeadIsNotKept() {
        lock("holder", "1", LockMode.EXCLUSIVE, false);
        assertThat(lock("head", "1", LockMode.EXCLUSIVE, true).queued().position()).isEqualTo(1);
        assertThat(lock("me", "1", LockMode.EXCLUSIVE, true).queued().position()).isEqualTo(2);
        // Its node did not keep it within its lease (it was paused, or cut off from Redis): past its expiry.
        String entry = (String) TestRedis.command("HGET", "distlock:queued:doc", "me");
        String[] f = entry.split("\\|", 3);
        long past = Long.parseLong(f[1]) - LockConfig.defaults().lease().toMillis() - 1;
        TestRedis.command("HSET", "distlock:queued:doc", "me", f[0] + "|" + past + "|" + f[2]);

        assertThat(result(store.keepPlaces(List.of("me"), List.of("doc"), List.of("1")).get(0)))
                .as("not InQueue: at the head it would be dropped, and the session told CANCELLED instead of GRANTED")
                .isEqualTo(new RedisLockStore.Place.Gone());
        assertThat(TestRedis.command("ZRANK", "distlock:queue:doc", "me")).isNull();
        assertThat(TestRedis.command("HEXISTS", "distlock:queued:doc", "me")).isEqualTo(0L);
        assertThat(result(store.keepPlaces(List.of("head"), List.of("doc"), List.of("1")).get(0)))
                .isEqualTo(new RedisLockStore.Place.InQueue(1));
    }

    /**
     * An adoption's proof renames what it takes over to an attempt id of the adopter's (past the
     * gap): the old node's requests that Redis sees later are older, and change nothing. Before,
     * the grant kept the old node's id, and a lock the old node sent after giving the grant up
     * (LOST, while cut from Redis) was taken for a request of a session that had let it go, which
     * let it go; an mlock replaced it; a keep-place pointed the place back to the old node.
     */
    @Test
    void anAdoptionsProofRenamesWhatItTakesOverSoTheOldNodesLateRequestsChangeNothing() {
        RedisLockStore adopter = new RedisLockStore(redisson, LockConfig.defaults(), "node-b");
        String past = Long.toString((1L << 32) + 1);
        long held = lock("me", "1", LockMode.EXCLUSIVE, false).tokens().get(0);
        assertThat(lock("waiter", "1", LockMode.EXCLUSIVE, true).queued()).isNotNull();
        assertThat(result(adopter.renew(List.of("me"), List.of((1L << 32) + 1), List.of("doc"), List.of(held), List.of(past)).get(0))
                .held()).isTrue();
        // The old node gave the grant up (it could not renew it) and its client asked for it again:
        assertThat(result(store.lock("me", "me-name", "doc", Optional.empty(), "2", LockMode.EXCLUSIVE, false, "", false, false)).granted()).isFalse();
        assertThat(result(store.lockAll("me", "me-name", List.of("doc"), Map.of(), "3", LockMode.EXCLUSIVE, Map.of())).granted()).isFalse();
        assertThat(TestRedis.command("HMGET", "distlock:lock:doc", "owner", "token", "attempt"))
                .isEqualTo(List.of("me", Long.toString(held), past));
        assertThat(TestRedis.command("ZRANK", "distlock:queue:doc", "waiter")).as("still queued, not granted").isEqualTo(0L);

        // A queue place, and its grant.
        String placed = Long.toString((1L << 32) + 2);
        long other = result(store.lock("holder", "holder-name", "other", Optional.empty(), "1", LockMode.EXCLUSIVE, false, "", false, false))
                .tokens().get(0);
        assertThat(result(store.lock("me", "me-name", "other", Optional.empty(), "4", LockMode.EXCLUSIVE, true, "", false, false)).queued())
                .isNotNull();
        assertThat(result(adopter.keepPlaces(List.of("me"), List.of("other"), List.of("4"), List.of(placed), List.of("")).get(0)))
                .isEqualTo(new RedisLockStore.Place.InQueue(1));
        assertThat(result(store.keepPlaces(List.of("me"), List.of("other"), List.of("4")).get(0)))
                .as("the old node's keep-place finds no place").isEqualTo(new RedisLockStore.Place.Gone());
        assertThat((String) TestRedis.command("HGET", "distlock:queued:other", "me")).contains("|" + placed + "|node-b|");
        assertThat(result(store.unlock("holder", byToken("other", other), told::add)).released()).isTrue();
        String granted = (String) TestRedis.command("HGET", "distlock:lock:other", "token");
        assertThat(result(store.lockAll("me", "me-name", List.of("other"), Map.of(), "5", LockMode.EXCLUSIVE, Map.of())).granted()).isFalse();
        assertThat(TestRedis.command("HMGET", "distlock:lock:other", "owner", "token", "attempt"))
                .isEqualTo(List.of("me", granted, placed));
    }

    /**
     * The old node's late renewals and releases by token (its client's unlock, a release of a grant
     * it gave up) name the grant by token, which the renaming keeps: they carry how many attempts
     * that node made for the session, and a grant renamed past them is the adopter's. Before, a late
     * unlock freed the grant the resumed session had been told it holds, and a late renewal or
     * re-lock by a node with a shorter lease set the adopter's grant to that lease (found by review
     * 2026-12-06). The adopter itself renews and releases it as before.
     */
    @Test
    void theOldNodesLateRenewalsAndReleasesLeaveWhatAnAdoptionRenamedAlone() {
        RedisLockStore adopter = new RedisLockStore(redisson, LockConfig.defaults(), "node-b");
        RedisLockStore shortLease = new RedisLockStore(redisson, LockConfig.builder().lease(java.time.Duration.ofSeconds(5)).build(),
                "node-a");
        long oldNodesCount = 3;
        long adoptersCount = (1L << 32) + 3;
        String renamed = Long.toString((1L << 32) + 1);
        long exclusive = lock("me", "1", LockMode.EXCLUSIVE, false).tokens().get(0);
        long shared = result(store.lock("me", "me-name", "other", Optional.empty(), "2", LockMode.SHARED, false, "", false, false))
                .tokens().get(0);
        assertThat(adopter.renew(List.of("me", "me"), List.of(adoptersCount, adoptersCount), List.of("doc", "other"),
                List.of(exclusive, shared), List.of(renamed, Long.toString((1L << 32) + 2))))
                .allSatisfy(renewal -> assertThat(result(renewal).held()).isTrue());

        for (String lock : List.of("doc", "other")) {
            long token = lock.equals("doc") ? exclusive : shared;
            assertThat(result(shortLease.renew(List.of("me"), List.of(oldNodesCount), List.of(lock), List.of(token)).get(0)).held())
                    .as("the old node's late renewal of %s", lock).isFalse();
            assertThat(result(store.unlock("me", RedisLockStore.Release.ofToken(lock, token, oldNodesCount), told::add)).released())
                    .as("the old node's late unlock of %s", lock).isFalse();
            assertThat(result(store.unlockAll("me", List.of(lock), List.of(token), oldNodesCount)).released()).isFalse();
        }
        Object pttl = TestRedis.command("PTTL", "distlock:lock:doc");
        assertThat(result(shortLease.lock("me", "me-name", "doc", Optional.of(exclusive), "3", LockMode.EXCLUSIVE, false, "", false, false))
                .granted()).as("the old node's late re-lock of the grant it held").isFalse();
        assertThat((Long) TestRedis.command("PTTL", "distlock:lock:doc")).as("not set to the old node's shorter lease")
                .isGreaterThan(java.time.Duration.ofSeconds(5).toMillis()).isLessThanOrEqualTo((Long) pttl);
        assertThat(TestRedis.command("HMGET", "distlock:lock:doc", "owner", "token", "attempt"))
                .isEqualTo(List.of("me", Long.toString(exclusive), renamed));
        assertThat((String) TestRedis.command("HGET", "distlock:shared:other", "me")).startsWith(shared + "|");

        assertThat(result(adopter.renew(List.of("me"), List.of(adoptersCount), List.of("doc"), List.of(exclusive)).get(0)).held()).isTrue();
        assertThat(result(adopter.unlock("me", RedisLockStore.Release.ofToken("doc", exclusive, adoptersCount), told::add)).released())
                .isTrue();
        assertThat(result(adopter.unlockAll("me", List.of("other"), List.of(shared), adoptersCount)).released()).isTrue();
    }

    /**
     * The renaming only ever raises an id: an earlier adopter's proof renewal that Redis sees after a
     * later adopter's (the first cut from Redis during its proof, the client gone on to a third node)
     * brought the grant back into the first one's range, and the first one's late lock (its client
     * asked again for the lock its resume did not list) let it go (found by review 2026-12-06).
     */
    @Test
    void anEarlierAdoptersLateProofDoesNotBringTheGrantBackIntoItsRange() {
        RedisLockStore first = new RedisLockStore(redisson, LockConfig.defaults(), "node-b");
        RedisLockStore second = new RedisLockStore(redisson, LockConfig.defaults(), "node-d");
        long held = lock("me", "1", LockMode.EXCLUSIVE, false).tokens().get(0);
        assertThat(lock("waiter", "1", LockMode.EXCLUSIVE, true).queued()).isNotNull();
        String secondsRange = Long.toString((1L << 33) + 1);
        assertThat(result(second.renew(List.of("me"), List.of((1L << 33) + 1), List.of("doc"), List.of(held), List.of(secondsRange))
                .get(0)).held()).isTrue();
        // The first adopter's proof, then its lock, late:
        String firstsRange = Long.toString((1L << 32) + 1);
        assertThat(result(first.renew(List.of("me"), List.of((1L << 32) + 1), List.of("doc"), List.of(held), List.of(firstsRange))
                .get(0)).held()).as("renamed past the first adopter's attempts: not its own any more").isFalse();
        // Without that bound, the renaming still only raises the id:
        assertThat(result(first.renew(List.of("me"), List.of(Long.MAX_VALUE), List.of("doc"), List.of(held), List.of(firstsRange))
                .get(0)).held()).isTrue();
        assertThat(result(first.lock("me", "me-name", "doc", Optional.empty(), Long.toString((1L << 32) + 2), LockMode.EXCLUSIVE, false, "",
                false, false)).granted()).isFalse();
        assertThat(TestRedis.command("HMGET", "distlock:lock:doc", "owner", "token", "attempt"))
                .isEqualTo(List.of("me", Long.toString(held), secondsRange));
    }

    /**
     * An adopter whose record write after its proof failed (the resume's answer goes all the same)
     * and that died before its next write left the record naming the session's places by their old
     * ids, and Redis knowing them by the ids the proof renamed them to: the next adoption's proof
     * finds each by the id that proof gave it (the i-th listed place, the i-th id of that adopter's
     * range, which the record keeps until a write lists the renamings: {@link LockService#renamedByTheLastProof}),
     * queued or granted meanwhile, and renames it
     * into its own range. Before, it found none: the resumed session was not told of them, and they
     * held their places (the grant, the lock) for nobody up to a lease. Nothing else of the session's
     * is taken for a listed place: not a place the old node queued anew (a request the session does
     * not know of), nor one the dead adopter queued anew after a cancel; and that adopter's late proof
     * takes nothing back.
     */
    @Test
    void aNextAdoptionFindsThePlacesThatAnAdopterRenamedAndDiedWithoutRecording() {
        RedisLockStore first = new RedisLockStore(redisson, LockConfig.defaults(), "node-b");
        RedisLockStore second = new RedisLockStore(redisson, LockConfig.defaults(), "node-d");
        List<String> listed = List.of("doc", "other", "third", "fourth");
        Map<String, Long> holders = new java.util.HashMap<>();
        for (String lock : listed) {
            holders.put(lock, result(store.lock("holder", "holder-name", lock, Optional.empty(), "1", LockMode.EXCLUSIVE, false, "", false,
                    false)).tokens().get(0));
        }
        List<String> attempts = List.of("4", "5", "3", "2"); // as the record lists them, with the count 5
        for (int i = 0; i < listed.size(); i++) {
            assertThat(result(store.lock("me", "me-name", listed.get(i), Optional.empty(), attempts.get(i), LockMode.EXCLUSIVE, true, "",
                    false, false)).queued()).isNotNull();
        }
        // The old node's later request for "third" (9), which it never answered, replaced the listed place.
        assertThat(result(store.lock("me", "me-name", "third", Optional.empty(), "9", LockMode.EXCLUSIVE, true, "", false, false)).queued())
                .isNotNull();

        // The first adopter: its range starts 2^32 past the record's count. Its proof renames what it finds; its record
        // write fails. Its client cancels "fourth" and asks for it again (a new place of the first adopter's own).
        long firstsFrom = 5 + (1L << 32);
        List<String> firsts = List.of(Long.toString(firstsFrom + 1), Long.toString(firstsFrom + 2), Long.toString(firstsFrom + 3),
                Long.toString(firstsFrom + 4));
        List<RedisLockStore.Place> firstsProof = first.keepPlaces(List.of("me", "me", "me", "me"), listed, attempts, firsts,
                LockService.renamedByTheLastProof(4, -1)).stream().map(io.distlock.testing.Await::result).toList();
        assertThat(firstsProof).containsExactly(new RedisLockStore.Place.InQueue(1), new RedisLockStore.Place.InQueue(1),
                new RedisLockStore.Place.Gone(), new RedisLockStore.Place.InQueue(1));
        result(first.leave("me", "fourth", firsts.get(3)));
        assertThat(result(first.lock("me", "me-name", "fourth", Optional.empty(), Long.toString(firstsFrom + 5), LockMode.SHARED, true,
                "", false, false)).queued()).isNotNull();
        // Then it dies. "other" is handed to its place meanwhile.
        assertThat(result(store.unlock("holder", byToken("other", holders.get("other")), told::add)).released()).isTrue();
        assertThat(TestRedis.command("HGET", "distlock:lock:other", "attempt")).isEqualTo(firsts.get(1));

        // The second adopter read the record as the first's adoption left it: it still lists 4, 5, 3, 2, and says where the
        // first's proof started.
        long secondsFrom = firstsFrom + (1L << 32);
        List<String> renamed = LockService.renamedByTheLastProof(4, firstsFrom);
        assertThat(renamed).isEqualTo(firsts);
        List<String> seconds = List.of(Long.toString(secondsFrom + 1), Long.toString(secondsFrom + 2), Long.toString(secondsFrom + 3),
                Long.toString(secondsFrom + 4));
        List<RedisLockStore.Place> proven = second.keepPlaces(List.of("me", "me", "me", "me"), listed, attempts, seconds, renamed)
                .stream().map(io.distlock.testing.Await::result).toList();
        assertThat(proven.get(0)).isEqualTo(new RedisLockStore.Place.InQueue(1));
        assertThat(proven.get(1)).isInstanceOf(RedisLockStore.Place.Holds.class);
        assertThat(proven.get(2)).as("a place the old node queued anew, unknown to the session").isEqualTo(new RedisLockStore.Place.Gone());
        assertThat(proven.get(3)).as("a place the dead adopter queued anew").isEqualTo(new RedisLockStore.Place.Gone());
        assertThat((String) TestRedis.command("HGET", "distlock:queued:doc", "me")).contains("|" + seconds.get(0) + "|node-d|");
        assertThat(TestRedis.command("HGET", "distlock:lock:other", "attempt")).isEqualTo(seconds.get(1));
        assertThat((String) TestRedis.command("HGET", "distlock:queued:third", "me")).contains("|9|node-a|");

        // The first adopter, should it come back: its keep-place and its proof sent again find nothing of what the second took.
        assertThat(result(first.keepPlaces(List.of("me"), List.of("doc"), List.of(firsts.get(0))).get(0)))
                .isEqualTo(new RedisLockStore.Place.Gone());
        assertThat(result(first.keepPlaces(List.of("me"), List.of("other"), List.of("5"), List.of(firsts.get(1)), List.of("")).get(0)))
                .isEqualTo(new RedisLockStore.Place.Gone());
        assertThat(result(store.unlock("holder", byToken("doc", holders.get("doc")), told::add)).released()).isTrue();
        assertThat(TestRedis.command("HMGET", "distlock:lock:doc", "owner", "attempt")).isEqualTo(List.of("me", seconds.get(0)));
        assertThat(TestRedis.command("HGET", "distlock:lock:other", "attempt")).isEqualTo(seconds.get(1));
    }

    /**
     * As lock.lua does, an mlock lets go of a grant Redis still has for the session but the session
     * let go (a release lost in a failover, a lock given up as LOST), so that the queue gets it at
     * once: before, the mlock waited for the queue's head, and the queue for that grant's lease.
     * Not a grant to the session's place, whose GRANTED may be on the way (found by review 2026-12-06).
     */
    @Test
    void anMlockLetsGoOfAGrantTheSessionLetGoButNotThatOfItsPlace() {
        lock("me", "1", LockMode.EXCLUSIVE, false);
        assertThat(lock("waiter", "1", LockMode.EXCLUSIVE, true).queued()).isNotNull();
        RedisLockStore.Attempt all = result(store.lockAll("me", "me-name", List.of("doc", "doc2"), Map.of(), "2", LockMode.EXCLUSIVE, Map.of()));
        assertThat(all.granted()).isFalse();
        assertThat(all.conflicts()).extracting(RedisLockStore.Conflict::holder).containsExactly("waiter-name");
        assertThat(TestRedis.command("HGET", "distlock:lock:doc", "owner")).as("handed to the queue").isEqualTo("waiter");

        // The grant of the session's place: kept for the place, the queue behind it waits.
        long holder = result(store.lock("holder", "holder-name", "doc3", Optional.empty(), "1", LockMode.EXCLUSIVE, false, "", false, false))
                .tokens().get(0);
        assertThat(result(store.lock("me", "me-name", "doc3", Optional.empty(), "3", LockMode.EXCLUSIVE, true, "", false, false)).queued()).isNotNull();
        assertThat(result(store.lock("next", "next-name", "doc3", Optional.empty(), "1", LockMode.EXCLUSIVE, true, "", false, false)).queued())
                .isNotNull();
        assertThat(result(store.unlock("holder", byToken("doc3", holder), told::add)).released()).isTrue();
        Object placeGrant = TestRedis.command("HGET", "distlock:lock:doc3", "token");
        assertThat(result(store.lockAll("me", "me-name", List.of("doc3"), Map.of(), "4", LockMode.EXCLUSIVE, Map.of("doc3", "3"))).granted())
                .isFalse();
        assertThat(TestRedis.command("HMGET", "distlock:lock:doc3", "owner", "token", "attempt")).isEqualTo(List.of("me", placeGrant, "3"));
    }

    /**
     * A lock the mlock let go but did not take (it conflicts on another name) is told free to
     * whoever was told WAIT for it, as a release tells them: before, they heard of it only at their
     * re-check, when the stale grant's lease would have run out (found by review 2026-12-06).
     */
    @Test
    void aLockAnMlockLetGoButDidNotTakeIsToldFree() {
        List<String> released = new java.util.concurrent.CopyOnWriteArrayList<>();
        redisson.getTopic("distlock:released", org.redisson.client.codec.StringCodec.INSTANCE)
                .addListener(String.class, (channel, message) -> released.add(message));
        lock("me", "1", LockMode.EXCLUSIVE, false); // a grant the session let go (LOST)
        assertThat(lock("waiter", "1", LockMode.EXCLUSIVE, false).granted()).isFalse(); // told WAIT
        assertThat(result(store.lock("other", "other-name", "doc2", Optional.empty(), "1", LockMode.EXCLUSIVE, false, "", false, false))
                .granted()).isTrue();

        RedisLockStore.Attempt all = result(store.lockAll("me", "me-name", List.of("doc", "doc2"), Map.of(), "2", LockMode.EXCLUSIVE,
                Map.of()));
        assertThat(all.conflicts()).extracting(RedisLockStore.Conflict::lock).containsExactly("doc2");
        assertThat(TestRedis.command("HGET", "distlock:lock:doc", "owner")).isNull();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                .until(() -> released.stream().anyMatch(message -> message.endsWith(":doc")));
    }

    /**
     * A place of the session that its node does not know (given up, and left to its lease) is
     * dropped before the mlock's hand-over could grant it to nobody, as lock.lua drops it: before,
     * the lock was held for nobody while the queue behind waited (found by review 2026-12-06).
     */
    @Test
    void anMlockDropsAPlaceOfTheSessionItsNodeDoesNotKnowBeforeHandingOver() {
        lock("holder", "1", LockMode.EXCLUSIVE, false);
        assertThat(lock("me", "1", LockMode.EXCLUSIVE, true).queued()).isNotNull();
        assertThat(lock("next", "1", LockMode.EXCLUSIVE, true).queued()).isNotNull();
        TestRedis.command("HDEL", "distlock:lock:doc", "owner", "holder", "attempt"); // the holder's lease ran out

        RedisLockStore.Attempt all = result(store.lockAll("me", "me-name", List.of("doc"), Map.of(), "5", LockMode.EXCLUSIVE, Map.of()));
        assertThat(all.granted()).isFalse();
        assertThat(TestRedis.command("HGET", "distlock:lock:doc", "owner")).as("handed to the next in the queue").isEqualTo("next");
        assertThat(TestRedis.command("HEXISTS", "distlock:queued:doc", "me")).isEqualTo(0L);
    }
}
