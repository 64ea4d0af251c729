package io.distlock.faults;

import static io.distlock.faults.History.Kind.FAIL;
import static io.distlock.faults.History.Kind.INFO;
import static io.distlock.faults.History.Kind.INVOKE;
import static io.distlock.faults.History.Kind.OK;
import static io.distlock.faults.History.Op.CANCEL;
import static io.distlock.faults.History.Op.CANCELLED;
import static io.distlock.faults.History.Op.CLOSE;
import static io.distlock.faults.History.Op.DISCONNECT;
import static io.distlock.faults.History.Op.LOCK;
import static io.distlock.faults.History.Op.QUEUED;
import static io.distlock.faults.History.Op.CONNECT;
import static io.distlock.faults.History.Op.RESUME;
import static io.distlock.faults.History.Op.LOST;
import static io.distlock.faults.History.Op.RETRY;
import static io.distlock.faults.History.Op.UNLOCK;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checkers on hand-built histories: each one passes a clean history and finds its own violation. */
class CheckersTest {

    private final History history = new History();
    private final FencedRegister fenced = new FencedRegister("L", history, true);
    private final Counter counter = new Counter("L", history);

    /** p holds L with token from LOCK OK to UNLOCK INVOKE, writing and incrementing in between. */
    private void cycle(int p, long token) {
        history.record(p, INVOKE, LOCK, "L", 0, null);
        history.record(p, OK, LOCK, "L", token, null);
        fenced.write(p, token);
        counter.increment(p, token);
        fenced.write(p, token);
        history.record(p, INVOKE, UNLOCK, "L", token, null);
        history.record(p, OK, UNLOCK, "L", token, null);
    }

    @Test
    void aCleanHistoryPassesEveryChecker() {
        cycle(1, 10);
        history.record(2, FAIL, LOCK, "L", 0, "WAIT holder=p1");
        history.record(2, OK, RETRY, "L", 0, null);
        cycle(2, 11);
        cycle(1, 12);
        history.record(3, INFO, RETRY, "L", 0, "late");

        Checkers.Report report = Checkers.check(history);

        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(report.grants()).isEqualTo(3);
        assertThat(report.writesAccepted()).isEqualTo(6);
        assertThat(report.writesRejected()).isZero();
        assertThat(report.increments()).isEqualTo(3);
        assertThat(report.lateRetries()).isEqualTo(1);
        assertThat(report.missingRetries()).isZero();
        assertThat(counter.value()).isEqualTo(3);
        assertThat(report.violationsByChecker()).containsOnlyKeys(Checkers.ALL);
    }

    /**
     * An mlock's grants as the workload records them (LOCK INVOKE and OK per name, detail {@code mlock
     * a,b}): a clean history of mlocks, munlocks and single locks of the same names passes; an mlock
     * whose grant of one name overlaps another holder of it (as a broken lock-all.lua would grant)
     * is found by no-overlap, and by tokens-grow when its token is not above the holder's; a LOST of
     * one name ends that name's hold only: the other name is still held (its write accepted, a grant
     * of it to another is an overlap).
     */
    @Test
    void multiLockGrantsAreJudgedPerName() {
        FencedRegister a = new FencedRegister("A", history, true);
        FencedRegister b = new FencedRegister("B", history, true);
        // p1 takes A and B at once, p2 waits for B, p1 gives both back, p2 takes B alone, p3 both
        history.record(1, INVOKE, LOCK, "A", 0, "mlock A,B");
        history.record(1, INVOKE, LOCK, "B", 0, "mlock A,B");
        history.record(1, OK, LOCK, "A", 5, "mlock A,B");
        history.record(1, OK, LOCK, "B", 7, "mlock A,B");
        a.write(1, 5);
        b.write(1, 7);
        history.record(2, INVOKE, LOCK, "B", 0, null);
        history.record(2, FAIL, LOCK, "B", 0, "WAIT holder=p1");
        history.record(1, INVOKE, UNLOCK, "A", 5, "munlock");
        history.record(1, INVOKE, UNLOCK, "B", 7, "munlock");
        history.record(1, OK, UNLOCK, "A", 5, "munlock");
        history.record(1, OK, UNLOCK, "B", 7, "munlock");
        history.record(2, OK, RETRY, "B", 0, null);
        history.record(2, INVOKE, LOCK, "B", 0, null);
        history.record(2, OK, LOCK, "B", 8, null);
        b.write(2, 8);
        history.record(2, INVOKE, UNLOCK, "B", 8, null);
        history.record(2, OK, UNLOCK, "B", 8, null);
        history.record(3, INVOKE, LOCK, "A", 0, "mlock A,B");
        history.record(3, INVOKE, LOCK, "B", 0, "mlock A,B");
        history.record(3, OK, LOCK, "A", 6, "mlock A,B");
        history.record(3, OK, LOCK, "B", 9, "mlock A,B");
        // a LOST for A ends p3's hold of A only: p2 may take A, and p3 goes on writing B
        history.record(3, OK, LOST, "A", 6, "reason=lease");
        history.record(2, INVOKE, LOCK, "A", 0, null);
        history.record(2, OK, LOCK, "A", 10, null);
        a.write(2, 10);
        b.write(3, 9);
        assertThat(Checkers.check(history).ok()).as(Checkers.check(history).summary()).isTrue();

        // broken: p4's mlock is granted B (with a stale token) while p3 still holds it
        List<History.Event> clean = history.events();
        history.record(4, INVOKE, LOCK, "A", 0, "mlock A,B");
        history.record(4, INVOKE, LOCK, "B", 0, "mlock A,B");
        history.record(4, OK, LOCK, "A", 11, "mlock A,B");
        history.record(4, OK, LOCK, "B", 9, "mlock A,B");
        b.write(4, 9);
        Checkers.Report report = Checkers.check(history);
        assertThat(report.violations(Checkers.NO_OVERLAP)).as(report.summary()).isEqualTo(2); // A from p2, B from p3
        assertThat(report.violations(Checkers.TOKENS_GROW)).as(report.summary()).isEqualTo(1); // B: 9 after 9
        assertThat(report.examples()).anySatisfy(v -> assertThat(v.description())
                .startsWith("p4 granted token 9 at").contains("while p3 holds token 9 since"));

        // an mlock grant of B while p3 holds it, with a higher token: no-overlap alone
        History second = new History();
        second.record(3, INVOKE, LOCK, "B", 0, null);
        second.record(3, OK, LOCK, "B", 1, null);
        second.record(4, INVOKE, LOCK, "A", 0, "mlock A,B");
        second.record(4, INVOKE, LOCK, "B", 0, "mlock A,B");
        second.record(4, OK, LOCK, "A", 1, "mlock A,B");
        second.record(4, OK, LOCK, "B", 2, "mlock A,B");
        Checkers.Report overlapping = Checkers.check(second);
        assertThat(overlapping.violations(Checkers.NO_OVERLAP)).as(overlapping.summary()).isEqualTo(1);
        assertThat(overlapping.violations(Checkers.TOKENS_GROW)).as(overlapping.summary()).isZero();
    }

    @Test
    void aWaitNeverToldIsMissingNotJustLate() {
        history.record(1, OK, LOCK, "L", 10, null);
        history.record(2, FAIL, LOCK, "L", 0, "WAIT holder=p1");
        history.record(2, INFO, RETRY, "L", 0, "late");
        history.record(3, FAIL, LOCK, "L", 0, "WAIT holder=p1");
        history.record(3, INFO, RETRY, "L", 0, "late");
        history.record(2, OK, RETRY, "L", 0, null);        // p2 told, late
        history.record(3, INFO, RETRY, "L", 0, "missing"); // p3 never told by the longer deadline

        Checkers.Report report = Checkers.check(history);

        assertThat(report.lateRetries()).isEqualTo(2);
        assertThat(report.missingRetries()).isEqualTo(1);
        assertThat(report.summary()).contains("late retries=2 missing retries=1");
    }

    @Test
    void aGrantAfterAnotherSessionsFailedUnlockNeedsThatGrantEndedFirst() {
        history.record(1, OK, LOCK, "L", 10, null);
        history.record(1, INVOKE, UNLOCK, "L", 10, null);
        history.record(1, FAIL, UNLOCK, "L", 10, "code=BACKEND_UNAVAILABLE");
        history.record(2, OK, LOCK, "L", 11, null); // p1 was never told its grant ended

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.GRANTS_END)).as(report.summary()).isEqualTo(1);
        assertThat(report.violations(Checkers.NO_OVERLAP)).as(report.summary()).isZero();
    }

    @Test
    void aFailedUnlockFollowedByLostEndsTheGrant() {
        history.record(1, OK, LOCK, "L", 10, null);
        history.record(1, INVOKE, UNLOCK, "L", 10, null);
        history.record(1, FAIL, UNLOCK, "L", 10, "code=BACKEND_UNAVAILABLE");
        history.record(1, OK, LOST, "L", 0, "not held");
        history.record(2, OK, LOCK, "L", 11, null);

        assertThat(Checkers.check(history).ok()).isTrue();
    }

    /** A connection sends a LOST ahead of replies still owed: it may come just before the unlock's failure. */
    @Test
    void aLostHeardWhileTheUnlockWasOutEndsTheGrantItNames() {
        history.record(1, OK, LOCK, "L", 10, null);
        history.record(1, INVOKE, UNLOCK, "L", 10, null);
        history.record(1, OK, LOST, "L", 10, "not held reason=lease");
        history.record(1, FAIL, UNLOCK, "L", 10, "code=BACKEND_UNAVAILABLE");
        history.record(2, OK, LOCK, "L", 11, null);

        assertThat(Checkers.check(history).ok()).isTrue();
    }

    /** The negative control: a LOST of an earlier grant, heard while the unlock was out, ends nothing it names not. */
    @Test
    void aLostOfAnotherGrantHeardWhileTheUnlockWasOutEndsNothingElse() {
        history.record(1, OK, LOCK, "L", 10, null);
        history.record(1, INVOKE, UNLOCK, "L", 10, null);
        history.record(1, OK, LOST, "L", 9, "not held reason=lease");
        history.record(1, FAIL, UNLOCK, "L", 10, "code=BACKEND_UNAVAILABLE");
        history.record(2, OK, LOCK, "L", 11, null);

        assertThat(Checkers.check(history).violations(Checkers.GRANTS_END)).isEqualTo(1);
    }

    @Test
    void twoHoldersAtOnceAreAnOverlap() {
        history.record(1, OK, LOCK, "L", 10, null);
        history.record(2, OK, LOCK, "L", 11, null);
        history.record(1, INVOKE, UNLOCK, "L", 10, null);
        history.record(2, INVOKE, UNLOCK, "L", 11, null);

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.NO_OVERLAP)).isEqualTo(1);
        assertThat(report.violations(Checkers.TOKENS_GROW)).isZero();
        assertThat(report.examples().get(0).description()).contains("p2", "p1", "token 11", "token 10");
        assertThat(report.ok()).isFalse();
    }

    @Test
    void differentLocksDoNotOverlap() {
        history.record(1, OK, LOCK, "L", 10, null);
        history.record(2, OK, LOCK, "M", 11, null);

        assertThat(Checkers.check(history).ok()).isTrue();
    }

    @Test
    void intervalsEndAtUnlockInvokeLostAndDisconnect() {
        history.record(1, OK, LOCK, "L", 10, null);
        history.record(1, INVOKE, UNLOCK, "L", 10, null);
        history.record(2, OK, LOCK, "L", 11, null);      // before p1's unlock reply: fine
        history.record(1, OK, UNLOCK, "L", 10, null);
        history.record(2, OK, LOST, "L", 11, null);
        history.record(3, OK, LOCK, "L", 12, null);      // right after p2's LOST: fine
        history.record(3, INFO, DISCONNECT, null, 0, "closed 1006");
        history.record(4, OK, LOCK, "L", 13, null);      // after p3's DISCONNECT: fine

        Checkers.Report report = Checkers.check(history);

        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(report.grants()).isEqualTo(4);
    }

    @Test
    void aLockWhoseOutcomeIsUnknownIsNoInterval() {
        history.record(1, INVOKE, LOCK, "L", 0, null);
        history.record(1, INFO, LOCK, "L", 0, "timeout");
        history.record(2, OK, LOCK, "L", 11, null);

        assertThat(Checkers.check(history).ok()).isTrue();
    }

    @Test
    void aSessionThatKeptItsLockAfterAFailedUnlockMayGetItsTokenAgain() {
        history.record(1, OK, LOCK, "L", 20, null);
        history.record(1, INVOKE, UNLOCK, "L", 20, null);
        history.record(1, FAIL, UNLOCK, "L", 20, "code=BACKEND_UNAVAILABLE"); // the session still holds it
        history.record(1, OK, LOCK, "L", 20, null);                           // a re-lock: same token
        history.record(1, INVOKE, UNLOCK, "L", 20, null);
        history.record(1, OK, UNLOCK, "L", 20, null);
        assertThat(Checkers.check(history).ok()).isTrue();

        history.record(1, OK, LOCK, "L", 20, null); // after a release that went through: a token that did not grow
        assertThat(Checkers.check(history).violations(Checkers.TOKENS_GROW)).isEqualTo(1);
    }

    /**
     * A LOCKED that a frozen node (or a blackholed link) held back reaches its client after a grant made
     * meanwhile with a higher token: as it arrived, a token going down and a second holder. Without the
     * replies a fault held back (asked before it, answered after its heal, on its node) that is gone,
     * and a token going down that no fault held back is still found.
     */
    @Test
    void withoutTheRepliesAFaultHeldBackOnlyTheOthersAreJudged() {
        history.record(1, OK, CONNECT, null, 0, "node=0");
        history.record(2, OK, CONNECT, null, 0, "node=1");
        history.record(1, INVOKE, LOCK, "L", 0, null);      // Redis grants it token 10; its node freezes before answering
        history.fault("SIGSTOP node 0 for 4000 ms");
        history.record(2, INVOKE, LOCK, "L", 0, null);
        history.record(2, OK, LOCK, "L", 11, null);          // after p1's lease ran out
        history.heal("SIGCONT node 0");
        history.record(1, OK, LOCK, "L", 10, null);          // the answer, seconds late
        history.record(1, OK, LOST, "L", 10, null);

        Checkers.Report whole = Checkers.check(history);
        assertThat(whole.violations(Checkers.TOKENS_GROW)).as(whole.summary()).isEqualTo(1);
        assertThat(whole.violations(Checkers.NO_OVERLAP)).as(whole.summary()).isEqualTo(1);
        Checkers.Report judged = Checkers.check(Checkers.withoutHeldBack(history.events()));
        assertThat(judged.ok()).as(judged.summary()).isTrue();
        assertThat(judged.grants()).isEqualTo(1);

        // not held back: asked after the heal, or on another node than the fault's
        history.record(1, INVOKE, LOCK, "L", 0, null);
        history.record(1, OK, LOCK, "L", 9, null);
        history.record(2, INVOKE, UNLOCK, "L", 11, null);
        history.record(3, OK, CONNECT, null, 0, "node=2");
        history.record(3, OK, LOCK, "L", 8, null);           // its request (none recorded) was not asked before the fault on node 0
        Checkers.Report still = Checkers.check(Checkers.withoutHeldBack(history.events()));
        assertThat(still.violations(Checkers.TOKENS_GROW)).as(still.summary()).isEqualTo(2);
    }

    @Test
    void aTokenGoingDownIsFound() {
        cycle(1, 20);
        cycle(2, 19);

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.TOKENS_GROW)).isEqualTo(1);
        assertThat(report.violations(Checkers.NO_OVERLAP)).isZero();
        assertThat(report.summary()).contains("tokens-grow", "token 19", "20");
    }

    @Test
    void theSameTokenTwiceIsFoundUnlessTheHolderRelocks() {
        history.record(1, OK, LOCK, "L", 20, null);
        history.record(1, OK, LOCK, "L", 20, null);      // re-lock inside its interval: same token, fine
        history.record(1, INVOKE, UNLOCK, "L", 20, null);
        assertThat(Checkers.check(history).ok()).isTrue();

        history.record(2, OK, LOCK, "L", 20, null);      // somebody else, same token: not fine
        assertThat(Checkers.check(history).violations(Checkers.TOKENS_GROW)).isEqualTo(1);
    }

    /** p1 and p2 both believe they hold L; p1, the older holder, writes after p2. */
    private void staleWriteThrough(FencedRegister register) {
        history.record(1, OK, LOCK, "L", 10, null);
        register.write(1, 10);
        history.record(1, OK, LOST, "L", 10, null);  // p1 is told late, or never
        history.record(2, OK, LOCK, "L", 11, null);
        register.write(2, 11);
        register.write(1, 10);                          // p1 still writing: a stale write
    }

    @Test
    void withoutFencingAStaleWriteIsAcceptedAndFound() {
        staleWriteThrough(new FencedRegister("L", history, false));

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.FENCED_REGISTER)).isEqualTo(1);
        assertThat(report.writesAccepted()).isEqualTo(3);
        assertThat(report.writesRejected()).isZero();
        assertThat(report.summary()).contains("p1's write with token 10", "p2's with token 11");
    }

    @Test
    void withFencingTheStaleWriteIsRejectedAndCounted() {
        FencedRegister register = new FencedRegister("L", history, true);
        staleWriteThrough(register);

        Checkers.Report report = Checkers.check(history);

        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(report.writesAccepted()).isEqualTo(2);
        assertThat(report.writesRejected()).isEqualTo(1);
        assertThat(register.highest()).isEqualTo(11);
    }

    @Test
    void aLostUpdateIsFound() {
        // two increments that both read 0, as two holders at once would do
        history.record(1, OK, History.Op.INCREMENT, "L", 10, "read=0 wrote=1");
        history.record(2, OK, History.Op.INCREMENT, "L", 11, "read=0 wrote=1");

        Checkers.Report report = Checkers.check(history);

        // once for the value read twice, once for the final value (1 after 2 increments)
        assertThat(report.violations(Checkers.COUNTER)).isEqualTo(2);
        assertThat(report.summary()).contains("lost update", "both read 0", "final value 1 after 2 increments");
    }

    // ---- protocol version 2: shared locks, the queue, leaving it ----

    private long ids;

    /** p asks for L (version 2, wait), and is queued at {@code position}; returns the request's id. */
    private long queue(int p, String mode, int position) {
        long id = ++ids;
        history.record(p, INVOKE, LOCK, "L", 0, "id=" + id + ("shared".equals(mode) ? " mode=shared" : "") + " wait");
        history.record(p, OK, QUEUED, "L", 0, "position=" + position + " holder=p0");
        return id;
    }

    private void granted(int p, long id, long token, String mode) {
        history.record(p, OK, LOCK, "L", token, "GRANTED" + ("shared".equals(mode) ? " mode=shared" : "") + " request=" + id);
    }

    private void unlock(int p, long token) {
        history.record(p, INVOKE, UNLOCK, "L", token, null);
        history.record(p, OK, UNLOCK, "L", token, null);
    }

    @Test
    void sharedHoldsOverlapEachOtherButNotAnExclusiveOne() {
        history.record(1, OK, LOCK, "L", 10, "mode=shared");
        history.record(2, OK, LOCK, "L", 11, "mode=shared");
        counter.read(1, 10);
        counter.read(2, 11);
        counter.read(1, 10);
        assertThat(Checkers.check(history).ok()).as(Checkers.check(history).summary()).isTrue();

        history.record(3, OK, LOCK, "L", 12, null); // a writer while two readers hold it

        Checkers.Report report = Checkers.check(history);
        assertThat(report.violations(Checkers.SHARED_EXCLUSIVE)).as(report.summary()).isEqualTo(2);
        assertThat(report.violations(Checkers.NO_OVERLAP)).isZero();
        assertThat(report.examples().get(0).description()).contains("p3", "token 12", "(shared)");
    }

    @Test
    void aSharedHoldThatSeesTheCounterChangeIsFound() {
        history.record(1, OK, LOCK, "L", 10, "mode=shared");
        counter.read(1, 10);
        counter.increment(2, 11); // a writer that nobody recorded as holding: the reader's reads disagree
        counter.read(1, 10);

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.COUNTER)).as(report.summary()).isEqualTo(1);
        assertThat(report.summary()).contains("shared hold (token 10) read 0", "and 1");
    }

    @Test
    void sharedGrantsMadeTogetherMayArriveOutOfTokenOrder() {
        history.record(1, OK, LOCK, "L", 10, null);
        long a = queue(2, "shared", 1);
        long b = queue(3, "shared", 2);
        unlock(1, 10);
        granted(3, b, 12, "shared"); // handed over together: p3's message came first
        granted(2, a, 11, "shared");
        unlock(2, 11);
        unlock(3, 12);
        history.record(1, INVOKE, LOCK, "L", 0, null);
        history.record(1, OK, LOCK, "L", 13, null);
        unlock(1, 13);

        Checkers.Report report = Checkers.check(history);

        assertThat(report.ok()).as(report.summary()).isTrue();
    }

    @Test
    void anExclusiveGrantBelowAnEarlierSharedTokenIsFound() {
        history.record(1, OK, LOCK, "L", 12, "mode=shared");
        unlock(1, 12);
        history.record(2, OK, LOCK, "L", 11, null);

        assertThat(Checkers.check(history).violations(Checkers.TOKENS_GROW)).isEqualTo(1);
    }

    @Test
    void aSharedGrantBelowATokenGrantedBeforeItsRequestIsFound() {
        history.record(1, OK, LOCK, "L", 12, "mode=shared");
        history.record(2, INVOKE, LOCK, "L", 0, "id=1 mode=shared wait");
        history.record(2, OK, LOCK, "L", 11, "mode=shared"); // its request came after token 12 was granted

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.TOKENS_GROW)).as(report.summary()).isEqualTo(1);
        assertThat(report.violations(Checkers.SHARED_EXCLUSIVE)).isZero();
    }

    @Test
    void aFailedUnlockOfASharedGrantDoesNotStopAnotherSharedGrant() {
        history.record(1, OK, LOCK, "L", 10, "mode=shared");
        history.record(1, INVOKE, UNLOCK, "L", 10, null);
        history.record(1, FAIL, UNLOCK, "L", 10, "code=BACKEND_UNAVAILABLE");
        history.record(2, OK, LOCK, "L", 11, "mode=shared");
        assertThat(Checkers.check(history).ok()).isTrue();

        history.record(3, OK, LOCK, "L", 12, null);
        assertThat(Checkers.check(history).violations(Checkers.GRANTS_END)).isEqualTo(1);
    }

    @Test
    void queuedRequestsGrantedInQueueOrderPassTheFifoChecker() {
        history.record(1, OK, LOCK, "L", 10, null);
        long a = queue(2, "exclusive", 1);
        long b = queue(3, "exclusive", 2);
        unlock(1, 10);
        granted(2, a, 11, "exclusive");
        unlock(2, 11);
        granted(3, b, 12, "exclusive");
        unlock(3, 12);

        Checkers.Report report = Checkers.check(history);

        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(report.grants()).isEqualTo(3);
    }

    @Test
    void aRequestQueuedLaterButGrantedFirstBreaksFifo() {
        history.record(1, OK, LOCK, "L", 10, null);
        long a = queue(2, "exclusive", 1);
        long b = queue(3, "exclusive", 2);
        unlock(1, 10);
        granted(3, b, 11, "exclusive"); // the later request first
        unlock(3, 11);
        granted(2, a, 12, "exclusive");
        unlock(2, 12);

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.FIFO)).as(report.summary()).isEqualTo(1);
        assertThat(report.violations(Checkers.NO_OVERLAP)).isZero();
        assertThat(report.violations(Checkers.TOKENS_GROW)).isZero();
        assertThat(report.examples().get(0).description()).contains("p2's request 1", "granted token 12", "p3's request", "token 11");
    }

    @Test
    void aRequestGrantedAtOnceWhileAnotherQueuesJumpsTheQueue() {
        history.record(1, OK, LOCK, "L", 10, null);
        long a = queue(2, "exclusive", 1);
        unlock(1, 10);
        history.record(3, INVOKE, LOCK, "L", 0, "id=9 wait");
        history.record(3, OK, LOCK, "L", 11, null); // LOCKED although p2 queued before it
        unlock(3, 11);
        granted(2, a, 12, "exclusive");

        assertThat(Checkers.check(history).violations(Checkers.FIFO)).isEqualTo(1);
    }

    @Test
    void requestsThatOverlapInTimeMayBeQueuedInEitherOrder() {
        history.record(1, OK, LOCK, "L", 10, null);
        history.record(2, INVOKE, LOCK, "L", 0, "id=1 wait");
        history.record(3, INVOKE, LOCK, "L", 0, "id=2 wait");   // sent before p2 heard QUEUED
        history.record(2, OK, QUEUED, "L", 0, "position=2 holder=p1");
        history.record(3, OK, QUEUED, "L", 0, "position=1 holder=p1");
        unlock(1, 10);
        granted(3, 2, 11, "exclusive");
        unlock(3, 11);
        granted(2, 1, 12, "exclusive");

        assertThat(Checkers.check(history).ok()).isTrue();
    }

    @Test
    void aLostMustNameAGrantOfItsProcessAndACancelledARequestItSent() {
        history.record(1, OK, LOCK, "L", 10, null);
        history.record(1, OK, LOST, "L", 7, " reason=stolen");  // a token p1 was never given: a loss its client would ignore
        long queued = queue(2, "exclusive", 1);
        history.record(2, OK, CANCELLED, "L", 0, "reason=timeout request=" + (queued + 5)); // a request p2 never sent
        history.record(3, OK, CANCELLED, "L", 0, "reason=timeout request=" + queued);       // p2's request, told to p3

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.NAMES_ITS_OWN)).as(report.summary()).isEqualTo(3);
        assertThat(report.summary()).contains("naming token 7, which it was never given").contains("naming request " + (queued + 5));
    }

    @Test
    void aLostOfAnEarlierGrantAndACancelledOfAnEarlierRequestNameTheirOwn() {
        history.record(1, OK, LOCK, "L", 10, null);
        history.record(1, OK, LOCK, "L", 12, "steal");         // taken again before the first grant's LOST came
        history.record(1, OK, LOST, "L", 10, " reason=stolen by=p3");
        history.record(1, OK, LOST, "L", 12, " reason=lease");
        long first = queue(2, "exclusive", 1);
        long second = queue(2, "exclusive", 1);                 // queued anew: the first's place ended meanwhile
        history.record(2, OK, CANCELLED, "L", 0, "reason=timeout request=" + first);
        granted(2, second, 13, "exclusive");
        history.record(4, OK, RESUME, null, 0, "node=1 locks=L:14 queued=");
        history.record(4, OK, LOST, "L", 14, " reason=lease");  // a grant the resume told of
        history.record(2, OK, LOST, "L", 0, "not held");        // a version 1 LOST names nothing

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.NAMES_ITS_OWN)).as(report.summary()).isZero();
        assertThat(report.violations(Checkers.NO_GRANT_AFTER_LEAVE)).as("the CANCELLED ended the first request, not the second\n"
                + report.summary()).isZero();
    }

    /**
     * Found by review (2026-12-06): a server that ends p1's current grant (12) but names an earlier
     * one (10) in its LOST. A client that tells LOSTs apart by token keeps 12, so p2's grant overlaps
     * it; judged with "any LOST of the lock ends the hold" it went unseen.
     */
    @Test
    void aLostNamingAnEarlierGrantLeavesTheCurrentOneHeld() {
        history.record(1, OK, LOCK, "L", 10, null);
        unlock(1, 10);
        history.record(1, OK, LOCK, "L", 12, null);
        history.record(1, OK, LOST, "L", 10, " reason=lease"); // 12 ended, the server named 10
        history.record(2, OK, LOCK, "L", 13, null);

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.NO_OVERLAP)).as(report.summary()).isEqualTo(1);
        assertThat(report.violations(Checkers.NAMES_ITS_OWN)).as("10 was p1's once").isZero();
    }

    /** A grant whose reply a drop cut, lost while detached: the kept LOST names a grant the client never saw. */
    @Test
    void aLostOfAGrantWhoseReplyADropCutNamesItsOwn() {
        history.record(1, OK, CONNECT, null, 0, "node=0 grace=5000");
        history.record(1, INVOKE, LOCK, "L", 0, "id=2 wait");
        history.record(1, INFO, DISCONNECT, null, 0, "cut by the test");
        history.record(1, OK, RESUME, null, 0, "node=1 locks= queued=");
        history.record(1, OK, LOST, "L", 7, "not held reason=lease");

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.NAMES_ITS_OWN)).as(report.summary()).isZero();
    }

    @Test
    void aRequestThatLeftTheQueueIsSkipped() {
        history.record(1, OK, LOCK, "L", 10, null);
        long a = queue(2, "exclusive", 1);   // cancels
        long b = queue(3, "exclusive", 2);   // its place lost (CANCELLED backend)
        long c = queue(4, "exclusive", 3);   // its connection lost
        long d = queue(5, "exclusive", 4);   // times out (100 ms)
        long e = queue(6, "exclusive", 5);
        history.record(2, INVOKE, CANCEL, "L", 0, null);
        unlock(1, 10);
        granted(6, e, 11, "exclusive");      // before p2's cancel was answered: it may have left first
        history.record(2, OK, CANCEL, "L", 0, null);
        history.record(3, OK, CANCELLED, "L", 0, "reason=backend");
        history.record(4, INFO, DISCONNECT, null, 0, "closed 1006");
        unlock(6, 11);

        Checkers.Report report = Checkers.check(history);
        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(a + b + c + d).isPositive();

        // p5's timeout (100 ms) could not have run out when p6 was granted: p5 was passed
        history.record(5, OK, CANCELLED, "L", 0, "reason=timeout");
        assertThat(Checkers.check(history).violations(Checkers.FIFO)).isZero(); // no timeout in its request

        History timed = new History();
        timed.record(1, OK, LOCK, "L", 10, null);
        timed.record(5, INVOKE, LOCK, "L", 0, "id=1 wait timeout=100000");
        timed.record(5, OK, QUEUED, "L", 0, "position=1 holder=p1");
        timed.record(6, INVOKE, LOCK, "L", 0, "id=2 wait");
        timed.record(6, OK, QUEUED, "L", 0, "position=2 holder=p1");
        timed.record(1, INVOKE, UNLOCK, "L", 10, null);
        timed.record(6, OK, LOCK, "L", 11, "GRANTED request=2");
        timed.record(5, OK, CANCELLED, "L", 0, "reason=timeout");
        assertThat(Checkers.check(timed).violations(Checkers.FIFO)).isEqualTo(1);
    }

    @Test
    void aRequestPassedWhileItsClientStillWaitedBreaksFifoUnlessAFaultCameBetween() {
        history.record(1, OK, LOCK, "L", 10, null);
        long a = queue(2, "exclusive", 1);
        long b = queue(3, "exclusive", 2);
        unlock(1, 10);
        granted(3, b, 11, "exclusive");      // p2 skipped, although it waits on
        unlock(3, 11);
        history.record(2, INVOKE, CANCEL, "L", 0, null);
        history.record(2, OK, CANCEL, "L", 0, null);
        assertThat(Checkers.check(history).violations(Checkers.FIFO)).isEqualTo(1);
        assertThat(a).isPositive();

        History faulted = new History();
        faulted.record(1, OK, LOCK, "L", 10, null);
        faulted.record(2, INVOKE, LOCK, "L", 0, "id=1 wait");
        faulted.record(2, OK, QUEUED, "L", 0, "position=1 holder=p1");
        faulted.fault("SIGSTOP node 0"); // p2's node could not keep its place
        faulted.record(1, INVOKE, UNLOCK, "L", 10, null);
        faulted.record(3, INVOKE, LOCK, "L", 0, "id=1 wait");
        faulted.record(3, OK, LOCK, "L", 11, null);
        faulted.record(2, INVOKE, CANCEL, "L", 0, null);
        faulted.record(2, OK, CANCEL, "L", 0, null);
        assertThat(Checkers.check(faulted).ok()).as(Checkers.check(faulted).summary()).isTrue();
    }

    /**
     * CI's one FIFO finding: a request queued just after a pub/sub kill was granted by the
     * hand-over, its GRANTED lost while its node resubscribed; a later request got the lock
     * (there, a shared one joined it), and the first closed its session before its node's
     * keep-place found the grant. A close (or disconnect) that soon after a fault is excused; a
     * cancel is not (its answer tells a grant made before it), nor a close with no fault before
     * it (exclusive here: shared ones are also excused by the next test's rule).
     */
    @Test
    void aRequestPassedThenClosedSoonAfterAFaultIsExcusedButNotACancel() {
        History silent = passedThenLeft(false, CLOSE);
        assertThat(Checkers.check(silent).violations(Checkers.FIFO)).isEqualTo(1);
        History faultedClose = passedThenLeft(true, CLOSE);
        assertThat(Checkers.check(faultedClose).ok()).as(Checkers.check(faultedClose).summary()).isTrue();
        History faultedCancel = passedThenLeft(true, CANCEL);
        assertThat(Checkers.check(faultedCancel).violations(Checkers.FIFO)).isEqualTo(1);
    }

    /**
     * A second run under load: one hand-over granted three shared heads; the third one's GRANTED
     * was seen before the second one's, whose client closed 1 ms later with its grant still on
     * the way. Shared passing shared just before a close is excused; exclusive is not.
     */
    @Test
    void aSharedHeadThatClosedWhileItsGrantWasOnItsWayIsExcused() {
        History both = sharedBatch(true);
        assertThat(Checkers.check(both).ok()).as(Checkers.check(both).summary()).isTrue();
        History exclusive = sharedBatch(false);
        assertThat(Checkers.check(exclusive).violations(Checkers.FIFO)).isEqualTo(1);
    }

    private static History sharedBatch(boolean laterShared) {
        History h = new History();
        h.record(1, OK, LOCK, "L", 10, null);
        h.record(2, INVOKE, LOCK, "L", 0, "id=1 mode=shared wait");
        h.record(2, OK, QUEUED, "L", 0, "position=1 holder=p1");
        h.record(3, INVOKE, LOCK, "L", 0, "id=1" + (laterShared ? " mode=shared" : "") + " wait");
        h.record(3, OK, QUEUED, "L", 0, "position=2 holder=p1");
        h.record(1, INVOKE, UNLOCK, "L", 10, null);
        h.record(1, OK, UNLOCK, "L", 10, null);
        h.record(3, OK, LOCK, "L", 12, "GRANTED" + (laterShared ? " mode=shared" : "") + " request=1");
        h.record(2, INVOKE, CLOSE, null, 0, null);
        h.record(2, OK, CLOSE, null, 0, null);
        return h;
    }

    private static History passedThenLeft(boolean faultBefore, History.Op leave) {
        History h = new History();
        h.record(1, OK, LOCK, "L", 10, null);
        if (faultBefore) {
            h.fault("CLIENT KILL TYPE pubsub");
        }
        h.record(2, INVOKE, LOCK, "L", 0, "id=1 wait");
        h.record(2, OK, QUEUED, "L", 0, "position=1 holder=p1");
        h.record(1, INVOKE, UNLOCK, "L", 10, null);
        h.record(1, OK, UNLOCK, "L", 10, null);
        h.record(3, INVOKE, LOCK, "L", 0, "id=1 wait");
        h.record(3, OK, LOCK, "L", 12, null);
        h.record(2, INVOKE, leave, leave == CANCEL ? "L" : null, 0, null);
        h.record(2, OK, leave, leave == CANCEL ? "L" : null, 0, null);
        return h;
    }

    @Test
    void aGrantAfterTheClientLeftTheQueueIsFound() {
        long a = queue(1, "exclusive", 1);
        history.record(1, INVOKE, CANCEL, "L", 0, null);
        history.record(1, OK, CANCEL, "L", 0, null);
        granted(1, a, 10, "exclusive");                 // after cancel was answered OK

        long b = queue(2, "exclusive", 1);
        history.record(2, OK, CANCELLED, "L", 0, "reason=timeout");
        granted(2, b, 11, "exclusive");                 // after CANCELLED

        queue(3, "shared", 1);
        history.record(3, INVOKE, CLOSE, null, 0, null);
        history.record(3, OK, CLOSE, null, 0, null);
        history.record(3, OK, LOCK, "L", 12, "GRANTED mode=shared request=- stray"); // the closed session's grant, on the same connection

        long d = queue(4, "exclusive", 1);
        history.record(4, INVOKE, CANCEL, "L", 0, null);
        granted(4, d, 13, "exclusive");
        history.record(4, OK, CANCEL, "L", 0, null);   // cancel OK although GRANTED came: both

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.NO_GRANT_AFTER_LEAVE)).as(report.summary()).isEqualTo(4);
        assertThat(report.summary()).contains("after it left the queue (cancelled", "(CANCELLED reason=timeout",
                "(closed its session", "cancel answered OK");
    }

    @Test
    void aRequestGrantedTwiceIsFound() {
        history.record(1, OK, LOCK, "L", 10, null);
        long a = queue(2, "exclusive", 1);
        unlock(1, 10);
        granted(2, a, 11, "exclusive");
        granted(2, a, 11, "exclusive"); // told again (its message and a keep-place), as if a second grant
        unlock(2, 11);

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.NO_GRANT_AFTER_LEAVE)).as(report.summary()).isEqualTo(1);
        assertThat(report.violations(Checkers.TOKENS_GROW)).as(report.summary()).isZero(); // the same token: a re-lock for that checker
        assertThat(report.summary()).contains("p2's request 1", "granted again, token 11", "first token 11");
    }

    @Test
    void aGrantAfterTheClientsDisconnectIsFound() {
        history.record(1, OK, LOCK, "L", 10, null);
        long a = queue(2, "exclusive", 1);
        history.record(2, INFO, DISCONNECT, null, 0, "closed 1006"); // its session, and its place, are gone
        unlock(1, 10);
        granted(2, a, 11, "exclusive");

        long b = queue(3, "exclusive", 1);
        history.record(3, OK, DISCONNECT, null, 0, "stop");          // a clean close of the connection: the same
        granted(3, b, 12, "exclusive");

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.NO_GRANT_AFTER_LEAVE)).as(report.summary()).isEqualTo(2);
        assertThat(report.summary()).contains("after it left the queue (connection lost", "after it left the queue (disconnected");
    }

    @Test
    void aGrantThatArrivesWhileTheSessionClosesOpensNoInterval() {
        history.record(1, OK, LOCK, "L", 10, null);
        long a = queue(2, "exclusive", 1);
        long b = queue(3, "exclusive", 2);
        unlock(1, 10);
        history.record(2, INVOKE, CLOSE, null, 0, null);
        granted(2, a, 11, "exclusive");   // the close releases it, perhaps before this arrives
        granted(3, b, 12, "exclusive");
        history.record(2, OK, CLOSE, null, 0, null);
        unlock(3, 12);

        Checkers.Report report = Checkers.check(history);

        assertThat(report.ok()).as(report.summary()).isTrue();
    }

    @Test
    void aGrantThatWinsTheRaceWithACancelIsFine() {
        history.record(1, OK, LOCK, "L", 10, null);
        long a = queue(2, "exclusive", 1);
        history.record(2, INVOKE, CANCEL, "L", 0, null);
        unlock(1, 10);
        granted(2, a, 11, "exclusive");
        history.record(2, FAIL, CANCEL, "L", 0, "code=NOT_QUEUED");
        unlock(2, 11);

        Checkers.Report report = Checkers.check(history);

        assertThat(report.ok()).as(report.summary()).isTrue();
    }

    /**
     * Queued requests past the late bound, counted apart: one granted late, one told CANCELLED late,
     * one never answered by the missing deadline (its client cancels then, and the cancel finds it
     * still queued), one whose GRANTED came only after the missing deadline (late, not lost), and
     * one whose late wait ended with its connection (owed nothing, neither). The checkers all pass
     * (nothing unsafe happened); the queue scenarios' assertions fail on the first two counts.
     */
    @Test
    void aQueuedRequestGrantedLateIsCountedApartFromOneNeverAnswered() {
        history.record(1, OK, LOCK, "L", 10, null);
        long a = queue(2, "exclusive", 1);
        history.record(2, INFO, QUEUED, "L", 0, "late");
        unlock(1, 10);
        granted(2, a, 11, "exclusive");                         // granted, late
        unlock(2, 11);

        queue(3, "exclusive", 1);
        history.record(3, INFO, QUEUED, "L", 0, "late");
        history.record(3, OK, CANCELLED, "L", 0, "reason=backend"); // told, late

        queue(4, "exclusive", 1);
        history.record(4, INFO, QUEUED, "L", 0, "late");
        history.record(4, INFO, QUEUED, "L", 0, "missing");     // never answered
        history.record(4, INVOKE, CANCEL, "L", 0, null);
        history.record(4, OK, CANCEL, "L", 0, null);

        history.record(1, OK, LOCK, "L", 12, null);
        long d = queue(5, "exclusive", 1);
        history.record(5, INFO, QUEUED, "L", 0, "late");
        history.record(5, INFO, QUEUED, "L", 0, "missing");
        history.record(5, INVOKE, CANCEL, "L", 0, null);
        unlock(1, 12);
        granted(5, d, 13, "exclusive");                         // after the missing deadline: very late, not lost
        history.record(5, FAIL, CANCEL, "L", 0, "code=NOT_QUEUED");
        unlock(5, 13);

        queue(6, "exclusive", 1);
        history.record(6, INFO, QUEUED, "L", 0, "late");
        history.record(6, INFO, DISCONNECT, null, 0, "closed 1006"); // its session gone: nothing owed

        Checkers.Report report = Checkers.check(history);

        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(report.lateGrants()).as(report.summary()).isEqualTo(3);
        assertThat(report.missingGrants()).as(report.summary()).isEqualTo(1);
        assertThat(report.lateRetries()).as("queued waits are not RETRY waits").isZero();
        assertThat(report.missingRetries()).isZero();
        assertThat(report.summary()).contains("late grants=3 missing grants=1");
        // the negative controls of the queue scenarios' assertions: each fails on this history
        assertThatThrownBy(() -> QueueFaultsTest.assertEveryQueuedRequestAnswered(report))
                .isInstanceOf(AssertionError.class).hasMessageContaining("never granted nor CANCELLED");
        assertThatThrownBy(() -> QueueFaultsTest.assertNoLateGrants(report))
                .isInstanceOf(AssertionError.class).hasMessageContaining("answered after 15 s");
        assertThatThrownBy(() -> QueueFaultsTest.assertSafeAcrossFailover(report)).isInstanceOf(AssertionError.class);
    }

    /** Each count alone: a late grant is no missing one, and a missing one no late one. */
    @Test
    void aLateGrantAloneIsNotMissingAndAMissingOneAloneIsNotLate() {
        long a = queue(2, "exclusive", 1);
        history.record(2, INFO, QUEUED, "L", 0, "late");
        granted(2, a, 11, "exclusive");
        Checkers.Report late = Checkers.check(history);
        assertThat(late.lateGrants()).as(late.summary()).isEqualTo(1);
        assertThat(late.missingGrants()).as(late.summary()).isZero();
        QueueFaultsTest.assertEveryQueuedRequestAnswered(late);       // a late grant is an answer
        QueueFaultsTest.assertSafeAcrossFailover(late);                // which a failover may delay
        assertThatThrownBy(() -> QueueFaultsTest.assertNoLateGrants(late)).isInstanceOf(AssertionError.class);

        History lost = new History();
        lost.record(3, INVOKE, LOCK, "L", 0, "id=1 wait");
        lost.record(3, OK, QUEUED, "L", 0, "position=1 holder=p0");
        lost.record(3, INFO, QUEUED, "L", 0, "late");
        lost.record(3, INFO, QUEUED, "L", 0, "missing");
        Checkers.Report missing = Checkers.check(lost);
        assertThat(missing.missingGrants()).as(missing.summary()).isEqualTo(1);
        assertThat(missing.lateGrants()).as(missing.summary()).isZero();
        QueueFaultsTest.assertNoLateGrants(missing);
        assertThatThrownBy(() -> QueueFaultsTest.assertEveryQueuedRequestAnswered(missing)).isInstanceOf(AssertionError.class);
    }

    // ---- sessions across a dropped connection: resume ----

    /** p opens a session with a grace of {@code graceMillis} and is granted L with {@code token}. */
    private void gracedHolder(int p, long graceMillis, long token) {
        history.record(p, INVOKE, CONNECT, null, 0, "node=0");
        history.record(p, OK, CONNECT, null, 0, "node=0 grace=" + graceMillis);
        history.record(p, INVOKE, LOCK, "L", 0, "id=1 wait");
        history.record(p, OK, LOCK, "L", token, null);
        fenced.write(p, token);
    }

    @Test
    void aResumedSessionsGrantContinuesAcrossItsConnections() {
        gracedHolder(1, 60_000, 10);
        history.record(2, INVOKE, LOCK, "L", 0, "id=1 wait");
        history.record(2, OK, QUEUED, "L", 0, "position=1 holder=p1");
        history.record(1, INFO, DISCONNECT, null, 0, "closed 1006");
        history.record(1, INVOKE, RESUME, null, 0, "node=1");
        history.record(1, OK, RESUME, null, 0, "node=1 locks=L:10 queued=");
        fenced.write(1, 10);                           // the same grant, on the new connection
        counter.increment(1, 10);
        unlock(1, 10);
        granted(2, 1, 11, "exclusive");
        fenced.write(2, 11);
        unlock(2, 11);

        Checkers.Report report = Checkers.check(history);

        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(report.writesAccepted()).isEqualTo(3);
    }

    @Test
    void aGrantWhileTheSessionIsDetachedIsAGapNobodyWasToldOf() {
        gracedHolder(1, 60_000, 10);
        history.record(1, INFO, DISCONNECT, null, 0, "closed 1006");
        history.record(2, INVOKE, LOCK, "L", 0, "id=1 wait");
        history.record(2, OK, LOCK, "L", 11, null);   // p1's session still holds L, and nobody told it otherwise
        unlock(2, 11);
        history.record(1, INVOKE, RESUME, null, 0, "node=0");
        history.record(1, OK, RESUME, null, 0, "node=0 locks=L:10 queued=");

        Checkers.Report report = Checkers.check(history);

        assertThat(report.violations(Checkers.NO_SILENT_GAP)).as(report.summary()).isEqualTo(1);
        assertThat(report.violations(Checkers.NO_OVERLAP)).as(report.summary()).isZero(); // p1 did no work detached
        assertThat(report.examples().get(0).description()).contains("p2 granted token 11", "p1's session, detached", "token 10");

        // told only by the resume's answer, after the grant: still a gap nobody was told of
        History late = new History();
        late.record(1, OK, CONNECT, null, 0, "node=0 grace=60000");
        late.record(1, OK, LOCK, "L", 10, null);
        late.record(1, INFO, DISCONNECT, null, 0, "closed 1006");
        late.record(2, OK, LOCK, "L", 11, null);
        late.record(1, OK, RESUME, null, 0, "node=1 locks= queued=");
        assertThat(Checkers.check(late).violations(Checkers.NO_SILENT_GAP)).isEqualTo(1);
    }

    @Test
    void aResumeThatBringsBackAGrantSomebodyElseHoldsIsFound() {
        gracedHolder(1, 60_000, 10);
        history.record(1, INFO, DISCONNECT, null, 0, "closed 1006");
        history.record(1, FAIL, RESUME, null, 0, "code=SESSION_EXPIRED"); // told: the grant is over
        history.record(2, OK, LOCK, "L", 11, null);
        assertThat(Checkers.check(history).ok()).as(Checkers.check(history).summary()).isTrue();

        history.record(1, OK, RESUME, null, 0, "node=0 locks=L:10 queued="); // ... and then it is back, while p2 holds it
        assertThat(Checkers.check(history).ok()).isTrue(); // the session was over: no detached hold to continue

        History back = new History();
        back.record(1, OK, CONNECT, null, 0, "node=0 grace=60000");
        back.record(1, OK, LOCK, "L", 10, null);
        back.record(1, INFO, DISCONNECT, null, 0, "closed 1006");
        back.record(1, OK, RESUME, null, 0, "node=1 locks=L:12 queued="); // tokens do not change on resume
        back.record(1, INFO, DISCONNECT, null, 0, "closed 1006");
        Checkers.Report report = Checkers.check(back);
        assertThat(report.violations(Checkers.NO_SILENT_GAP)).as(report.summary()).isEqualTo(1);
        assertThat(report.summary()).contains("tokens do not change on resume");
    }

    /** Events at given times (ms), for checks that depend on the clock: {time, process, kind, op, token, detail}. */
    private static List<History.Event> at(Object[]... rows) {
        List<History.Event> events = new ArrayList<>();
        for (Object[] r : rows) {
            events.add(new History.Event(((Number) r[0]).longValue() * 1_000_000, (Integer) r[1], (History.Kind) r[2], (History.Op) r[3],
                    r[3] == LOCK || r[3] == UNLOCK || r[3] == LOST ? "L" : null, ((Number) r[4]).longValue(), (String) r[5]));
        }
        return events;
    }

    @Test
    void theGraceAsTheClientCountsItEndsADetachedGrant() {
        // p1 last heard from the server at 100 ms (its LOCK OK), dropped at 150 ms, grace 1,000 ms: over at 1,100 ms by its clock
        List<History.Event> afterGrace = at(
                new Object[] {0, 1, OK, CONNECT, 0, "node=0 grace=1000"},
                new Object[] {100, 1, OK, LOCK, 10, null},
                new Object[] {150, 1, INFO, DISCONNECT, 0, "closed 1006"},
                new Object[] {1_150, 2, OK, LOCK, 11, "GRANTED request=1"},
                new Object[] {1_200, 1, FAIL, RESUME, 0, "code=SESSION_EXPIRED"});
        assertThat(Checkers.check(afterGrace).ok()).as(Checkers.check(afterGrace).summary()).isTrue();

        List<History.Event> withinGrace = at(
                new Object[] {0, 1, OK, CONNECT, 0, "node=0 grace=1000"},
                new Object[] {100, 1, OK, LOCK, 10, null},
                new Object[] {150, 1, INFO, DISCONNECT, 0, "closed 1006"},
                new Object[] {1_050, 2, OK, LOCK, 11, "GRANTED request=1"}, // 50 ms before p1's grace ran out
                new Object[] {1_200, 1, FAIL, RESUME, 0, "code=SESSION_EXPIRED"});
        assertThat(Checkers.check(withinGrace).violations(Checkers.NO_SILENT_GAP)).isEqualTo(1);

        // without a grace the disconnect ends the grant at once, as in version 1
        List<History.Event> noGrace = at(
                new Object[] {0, 1, OK, CONNECT, 0, "node=0"},
                new Object[] {100, 1, OK, LOCK, 10, null},
                new Object[] {150, 1, INFO, DISCONNECT, 0, "closed 1006"},
                new Object[] {151, 2, OK, LOCK, 11, null});
        assertThat(Checkers.check(noGrace).ok()).isTrue();
    }

    @Test
    void aDetachedSessionKeepsItsQueuePlaceUntilTheResumeSaysOtherwise() {
        history.record(1, OK, LOCK, "L", 10, null);
        history.record(2, OK, CONNECT, null, 0, "node=0 grace=60000");
        long a = queue(2, "exclusive", 1);
        history.record(2, INFO, DISCONNECT, null, 0, "closed 1006");
        history.record(2, OK, RESUME, null, 0, "node=0 locks= queued=L");
        unlock(1, 10);
        granted(2, a, 11, "exclusive"); // the kept place's grant, after the resume: fine
        unlock(2, 11);
        assertThat(Checkers.check(history).ok()).as(Checkers.check(history).summary()).isTrue();

        History gone = new History();
        gone.record(1, OK, LOCK, "L", 10, null);
        gone.record(2, OK, CONNECT, null, 0, "node=0 grace=60000");
        gone.record(2, INVOKE, LOCK, "L", 0, "id=1 wait");
        gone.record(2, OK, QUEUED, "L", 0, "position=1 holder=p1");
        gone.record(2, INFO, DISCONNECT, null, 0, "closed 1006");
        gone.record(2, OK, RESUME, null, 0, "node=0 locks= queued=");  // the place is gone
        gone.record(1, INVOKE, UNLOCK, "L", 10, null);
        gone.record(2, OK, LOCK, "L", 11, "GRANTED request=1");        // and yet granted
        assertThat(Checkers.check(gone).violations(Checkers.NO_GRANT_AFTER_LEAVE)).isEqualTo(1);
    }

    @Test
    void saveAndLoadKeepTheEvents(@TempDir Path dir) {
        cycle(1, 10);
        history.record(2, FAIL, LOCK, "L", 0, "code=RATE_LIMITED, \"quoted\"\nnew line");
        history.fault("kill node 0");
        history.record(2, INFO, DISCONNECT, null, 0, null);
        history.heal("restart node 0");
        Path file = dir.resolve("history.jsonl");

        history.save(file);
        History loaded = History.load(file);

        assertThat(loaded.events()).isEqualTo(history.events());
        assertThat(Checkers.check(loaded)).isEqualTo(Checkers.check(history));
    }
}
