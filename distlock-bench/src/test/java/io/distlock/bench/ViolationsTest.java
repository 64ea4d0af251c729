package io.distlock.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The checks of a run's histories, on histories made up here: each kind of violation has a
 * history that commits it (flagged) beside one that comes close and does not (not flagged).
 * {@link QueueSimulationTest} runs them on many simulated runs.
 */
class ViolationsTest {

    private static final int A = 0;
    private static final int B = 1;

    private static void pair(History h, int name, long token, long granted, long released) {
        h.grant(new int[] {name}, new long[] {token}, granted);
        h.release(released);
    }

    @Test
    void turnsTakenOneAfterAnotherAreNoViolation() {
        History s1 = new History();
        History s2 = new History();
        pair(s1, A, 10, 100, 110);
        pair(s2, A, 11, 120, 130);
        pair(s1, A, 12, 140, 150);
        pair(s2, B, 1, 105, 145); // another name may overlap
        s2.grant(new int[] {A, B}, new long[] {13, 2}, 160); // an mlock, still held at the end

        Violations v = Violations.check(List.of(s1, s2), 2);

        assertThat(v.total()).isZero();
        assertThat(v.grants).isEqualTo(6);
    }

    @Test
    void aSessionThatTakesALockAgainRightAfterItsOwnGrantIsARetakeNotAViolation() {
        History s1 = new History();
        History s2 = new History();
        pair(s1, A, 10, 100, 110);
        pair(s1, A, 11, 120, 130); // again s1: a re-take
        pair(s2, A, 12, 140, 150);
        pair(s1, A, 13, 160, 170);
        pair(s1, B, 1, 165, 175); // another name: its own order

        Violations v = Violations.check(List.of(s1, s2), 2);

        assertThat(v.retakes).isEqualTo(1);
        assertThat(v.total()).isZero();
    }

    @Test
    void aGrantWhileAnotherSessionHoldsTheLockIsAnOverlap() {
        History s1 = new History();
        History s2 = new History();
        pair(s1, A, 10, 100, 200);
        pair(s2, A, 11, 150, 160); // inside s1's turn
        pair(s2, A, 12, 300, 310);

        Violations v = Violations.check(List.of(s1, s2), 1);

        assertThat(v.overlaps).isEqualTo(1);
        assertThat(v.tokenRegressions).isZero();
    }

    @Test
    void aGrantAfterOneNeverReleasedIsAnOverlap() {
        History s1 = new History();
        History s2 = new History();
        s1.grant(new int[] {A}, new long[] {10}, 100); // never given back
        pair(s2, A, 11, 500, 510);

        assertThat(Violations.check(List.of(s1, s2), 1).overlaps).isEqualTo(1);
    }

    @Test
    void aLaterGrantWithASmallerOrEqualTokenIsARegression() {
        History s1 = new History();
        History s2 = new History();
        pair(s1, A, 10, 100, 110);
        pair(s2, A, 10, 120, 130);
        pair(s1, A, 9, 140, 150);

        Violations v = Violations.check(List.of(s1, s2), 1);

        assertThat(v.tokenRegressions).isEqualTo(2);
        assertThat(v.total()).isEqualTo(2);
    }

    @Test
    void targetsWithoutTokensAreCheckedForOverlapsOnly() {
        History s1 = new History();
        pair(s1, A, 0, 100, 110);
        pair(s1, A, 0, 120, 130);
        assertThat(Violations.check(List.of(s1), 1).total()).isZero();
    }

    // ---- shared grants ----

    private static void shared(History h, int name, long token, long granted, long released) {
        h.grant(new int[] {name}, new long[] {token}, true, granted, 0, 0, granted);
        h.release(released);
    }

    /** A queued request: sent, QUEUED at {@code position} at {@code queued}, GRANTED at {@code granted}. */
    private static void queued(History h, int name, boolean isShared, long token, long sent, long queued, int position,
                               long granted, long released) {
        h.grant(new int[] {name}, new long[] {token}, isShared, sent, queued, position, granted);
        h.release(released);
    }

    @Test
    void sharedGrantsMayOverlapEachOther() {
        History s1 = new History();
        History s2 = new History();
        History s3 = new History();
        shared(s1, A, 10, 100, 200);
        shared(s2, A, 11, 150, 250);
        shared(s3, A, 12, 120, 300);
        pair(s1, A, 13, 310, 320); // exclusive once every reader gave it back

        Violations v = Violations.check(List.of(s1, s2, s3), 1);

        assertThat(v.total()).isZero();
        assertThat(v.sharedGrants).isEqualTo(3);
    }

    @Test
    void aSharedGrantOverlappingAnExclusiveOneIsAnOverlapEitherWay() {
        History w = new History();
        History r = new History();
        pair(w, A, 10, 100, 200);
        shared(r, A, 11, 150, 160); // a reader inside a writer's turn
        assertThat(Violations.check(List.of(w, r), 1).overlaps).isEqualTo(1);

        History r1 = new History();
        History r2 = new History();
        History w2 = new History();
        shared(r1, A, 10, 100, 200);
        shared(r2, A, 11, 110, 300);
        pair(w2, A, 12, 250, 260); // after the first reader, before the second gave it back
        Violations v = Violations.check(List.of(r1, r2, w2), 1);
        assertThat(v.overlaps).isEqualTo(1);
        assertThat(v.total()).isEqualTo(1);
    }

    @Test
    void tokensOfSharedGrantsHandedOverTogetherMayArriveInAnyOrder() {
        History r1 = new History();
        History r2 = new History();
        History w = new History();
        queued(r1, A, true, 11, 50, 60, 1, 101, 150); // granted together with r2 (token 10) ...
        queued(r2, A, true, 10, 55, 65, 2, 100, 140); // ... whose GRANTED happened to arrive first
        pair(w, A, 12, 160, 170);

        assertThat(Violations.check(List.of(r1, r2, w), 1).total()).isZero();
    }

    @Test
    void aLaterGrantWithASmallerTokenIsARegressionAcrossModes() {
        History r = new History();
        History w = new History();
        shared(r, A, 10, 100, 110);
        pair(w, A, 10, 120, 130); // exclusive after shared: same token
        assertThat(Violations.check(List.of(r, w), 1).tokenRegressions).isEqualTo(1);

        History r1 = new History();
        History r2 = new History();
        shared(r1, A, 10, 100, 110);
        r2.grant(new int[] {A}, new long[] {9}, true, 120, 0, 0, 125); // asked for after r1 gave it back
        r2.release(130);
        assertThat(Violations.check(List.of(r1, r2), 1).tokenRegressions).isEqualTo(1);
    }

    // ---- FIFO ----

    @Test
    void aQueueServedInOrderIsNoViolation() {
        History h = new History();
        History q1 = new History();
        History q2 = new History();
        History q3 = new History();
        pair(h, A, 10, 10, 100);
        queued(q1, A, false, 11, 20, 30, 1, 110, 120);
        queued(q2, A, false, 12, 40, 50, 2, 130, 140);
        queued(q3, A, false, 13, 45, 60, 3, 150, 160); // asked while q2 was asking: either may be first in line
        queued(q1, A, false, 14, 155, 158, 1, 165, 170);
        queued(h, A, false, 15, 166, 175, 1, 171, 180); // its GRANTED arrived before its QUEUED

        Violations v = Violations.check(List.of(h, q1, q2, q3), 1);

        assertThat(v.total()).isZero();
        assertThat(v.queuedGrants).isEqualTo(5);
    }

    @Test
    void aRequestGrantedBeforeOneThatQueuedBeforeItWasMadeIsOutOfOrder() {
        History h = new History();
        History q1 = new History();
        History q2 = new History();
        pair(h, A, 10, 10, 100);
        queued(q1, A, false, 12, 20, 30, 1, 130, 140);
        queued(q2, A, false, 11, 40, 50, 2, 110, 120); // asked after q1 was QUEUED, granted first

        Violations v = Violations.check(List.of(h, q1, q2), 1);

        assertThat(v.outOfOrder).isEqualTo(1);
        assertThat(v.overlaps).isZero();
    }

    @Test
    void aRequestAnsweredAtOnceWhileAnotherQueuesJumpsTheQueue() {
        History h = new History();
        History q = new History();
        History b = new History();
        pair(h, A, 10, 10, 35);
        queued(q, A, false, 12, 20, 30, 1, 130, 140);
        b.grant(new int[] {A}, new long[] {11}, false, 40, 0, 0, 50); // LOCKED at once, q still queued
        b.release(60);

        assertThat(Violations.check(List.of(h, q, b), 1).outOfOrder).isEqualTo(1);
    }

    @Test
    void passingARequestAheadInTheQueueIsMisplacedEvenWhenTheirTimesOverlap() {
        History h = new History();
        History q1 = new History();
        History q2 = new History();
        pair(h, A, 10, 10, 100);
        queued(q1, A, false, 12, 20, 60, 1, 130, 140); // first in line ...
        queued(q2, A, false, 11, 30, 40, 2, 110, 120); // ... behind it, granted first; their times overlap

        Violations v = Violations.check(List.of(h, q1, q2), 1);

        assertThat(v.outOfOrder).isZero(); // by time alone either could have been first
        assertThat(v.misplaced).isEqualTo(1);
    }

    @Test
    void sharedRequestsAtTheHeadAreGrantedTogetherInAnyOrder() {
        History h = new History();
        History r1 = new History();
        History r2 = new History();
        History w = new History();
        pair(h, A, 10, 10, 100);
        queued(r1, A, true, 11, 20, 30, 1, 112, 150);
        queued(r2, A, true, 12, 40, 50, 2, 110, 160); // granted with r1, its GRANTED arrived first
        queued(w, A, false, 13, 60, 70, 3, 170, 180);

        assertThat(Violations.check(List.of(h, r1, r2, w), 1).total()).isZero();
    }

    @Test
    void aReaderPassingAQueuedWriterIsOutOfOrder() {
        History h = new History();
        History w = new History();
        History r = new History();
        pair(h, A, 10, 10, 100);
        queued(w, A, false, 12, 20, 30, 1, 130, 140);
        queued(r, A, true, 11, 40, 50, 2, 110, 120);
        assertThat(Violations.check(List.of(h, w, r), 1).outOfOrder).isEqualTo(1);

        // Readers hold it; a writer queues; a later reader must not be let in at once.
        History r1 = new History();
        History w2 = new History();
        History r2 = new History();
        shared(r1, A, 20, 10, 100);
        queued(w2, A, false, 22, 20, 30, 1, 110, 120);
        r2.grant(new int[] {A}, new long[] {21}, true, 40, 0, 0, 45);
        r2.release(50);
        Violations v = Violations.check(List.of(r1, w2, r2), 1);
        assertThat(v.outOfOrder).isEqualTo(1);
        assertThat(v.overlaps).isZero();
    }
}
