package io.distlock.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The mutual exclusion check, on histories made up here. */
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
}
