package io.distlock.faults;

import static io.distlock.faults.History.Kind.FAIL;
import static io.distlock.faults.History.Kind.INFO;
import static io.distlock.faults.History.Kind.INVOKE;
import static io.distlock.faults.History.Kind.OK;
import static io.distlock.faults.History.Op.DISCONNECT;
import static io.distlock.faults.History.Op.LOCK;
import static io.distlock.faults.History.Op.LOST;
import static io.distlock.faults.History.Op.RETRY;
import static io.distlock.faults.History.Op.UNLOCK;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

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
        assertThat(counter.value()).isEqualTo(3);
        assertThat(report.violationsByChecker()).containsOnlyKeys(Checkers.ALL);
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
