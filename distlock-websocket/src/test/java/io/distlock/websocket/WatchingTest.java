package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.junit.jupiter.api.Test;

import io.distlock.core.LockState;
import io.distlock.core.LockWatch;
import io.distlock.testing.Await;

/** The connection's count of its watches, and what it passes on to the lock service, without a server. */
class WatchingTest {

    private static final int MAX_NAMES = 1000;
    private static final int MAX_PREFIXES = 16;

    /** Records the calls a lock service's watch gets. */
    static class Recorded implements LockWatch {
        final List<String> calls = new ArrayList<>();

        @Override
        public CompletionStage<Map<String, LockState>> watch(Collection<String> locks) {
            calls.add("watch " + locks);
            return new CompletableFuture<>();
        }

        @Override
        public CompletionStage<Void> watchPrefix(String prefix) {
            calls.add("watchPrefix " + prefix);
            return new CompletableFuture<>();
        }

        @Override
        public void unwatch(Collection<String> locks) {
            calls.add("unwatch " + locks);
        }

        @Override
        public void unwatchPrefix(String prefix) {
            calls.add("unwatchPrefix " + prefix);
        }

        @Override
        public void close() {
            calls.add("close");
        }
    }

    @Test
    void theWatchIsOpenedAtTheFirstUseAndClosedOnce() {
        int[] opened = {0};
        Recorded recorded = new Recorded();
        Watching w = new Watching(() -> {
            opened[0]++;
            return recorded;
        }, MAX_NAMES, MAX_PREFIXES);
        w.unwatch(List.of("a"), false);
        assertThat(opened[0]).as("an unwatch opens nothing").isZero();
        assertThat(w.watch()).isSameAs(recorded);
        assertThat(w.watch()).isSameAs(recorded);
        assertThat(opened[0]).isEqualTo(1);
        w.close();
        w.close();
        assertThat(w.watch()).isNull();
        assertThat(recorded.calls).containsExactly("close");
    }

    @Test
    void namesCountOnceUpToTheLimitAndARefusedReserveChangesNothing() {
        Watching w = new Watching(Recorded::new, MAX_NAMES, MAX_PREFIXES);
        List<String> first = new ArrayList<>();
        for (int i = 0; i < MAX_NAMES - 1; i++) {
            first.add("n" + i);
        }
        assertThat(w.reserve(first, false).added()).hasSize(MAX_NAMES - 1);
        assertThat(w.reserve(List.of("x", "y"), false)).isNull();
        assertThat(w.wants("x")).isFalse();
        assertThat(w.reserve(List.of("n0", "x", "x"), false).added()).containsExactly("x");
        assertThat(w.reserve(List.of("y"), false)).isNull();
        w.unwatch(List.of("n1"), false);
        assertThat(w.reserve(List.of("y"), false).added()).containsExactly("y");
        assertThat(w.wants("y")).isTrue();
        assertThat(w.wants("n1")).isFalse();
    }

    @Test
    void aFailedWatchUncountsWhatItAddedOnly() {
        Watching w = new Watching(Recorded::new, MAX_NAMES, MAX_PREFIXES);
        w.settled(w.reserve(List.of("a"), false), false);
        Watching.Reservation ab = w.reserve(List.of("a", "b"), false);
        assertThat(ab.added()).containsExactly("b");
        w.settled(ab, true);
        assertThat(w.wants("a")).isTrue();
        assertThat(w.wants("b")).isFalse();
    }

    /**
     * Found by review (e290664): W1 of [a, b] in flight, W2 of [a] reserved meanwhile (adding
     * nothing: a counted already); W1 failed (its answer too large, or Redis away) and uncounted
     * a, so W2 was answered OK yet no change of a was pushed, and the lock service was told to
     * unwatch a. Now a failed watch uncounts a key only if no other watch of it is in flight or
     * succeeded; whichever settles first. The same for prefixes.
     */
    @Test
    void aFailedWatchLeavesWatchedWhatAnotherWatchInFlightWithItAskedFor() {
        for (boolean prefix : new boolean[] {false, true}) {
            String a = prefix ? "p-" : "a";
            List<String> first = prefix ? List.of(a) : List.of(a, "b");
            String match = prefix ? "p-1" : "a";
            for (boolean failedFirst : new boolean[] {true, false}) {
                Recorded recorded = new Recorded();
                Watching w = new Watching(() -> recorded, MAX_NAMES, MAX_PREFIXES);
                w.watch();
                Watching.Reservation w1 = w.reserve(first, prefix);
                Watching.Reservation w2 = w.reserve(List.of(a), prefix);
                assertThat(w2.added()).as("counted already").isEmpty();
                if (failedFirst) {
                    w.settled(w1, true);
                    assertThat(w.wants(match)).as("W2 still in flight (prefix %s)", prefix).isTrue();
                    w.settled(w2, false);
                } else {
                    w.settled(w2, false);
                    w.settled(w1, true);
                }
                assertThat(w.wants(match)).as("W2 answered OK (prefix %s, failed first %s)", prefix, failedFirst).isTrue();
                assertThat(w.wants("b")).as("asked for by the failed watch only").isFalse();
                assertThat(recorded.calls).as("prefix %s, failed first %s", prefix, failedFirst)
                        .containsExactlyElementsOf(prefix ? List.of() : List.of("unwatch [b]"));
            }
            // Both fail: nothing is left counted, and the lock service is told so once both are answered.
            Recorded recorded = new Recorded();
            Watching w = new Watching(() -> recorded, MAX_NAMES, MAX_PREFIXES);
            w.watch();
            Watching.Reservation one = w.reserve(List.of(a), prefix);
            Watching.Reservation two = w.reserve(List.of(a), prefix);
            w.settled(one, true);
            assertThat(recorded.calls).isEmpty();
            w.settled(two, true);
            assertThat(w.wants(match)).isFalse();
            assertThat(recorded.calls).containsExactly(prefix ? "unwatchPrefix p-" : "unwatch [a]");
            // An OK from before an unwatch counts no more: a later watch that fails leaves nothing.
            w.settled(w.reserve(List.of(a), prefix), false);
            w.unwatch(List.of(a), prefix);
            w.settled(w.reserve(List.of(a), prefix), true);
            assertThat(w.wants(match)).isFalse();
        }
    }

    /**
     * Found by review: {@code watch a}, {@code unwatch a}, {@code watch a} pipelined; the first
     * watch's OK settled after the second reserved a, and counted as a success for a, so when the
     * second then failed a stayed watched (and its changes pushed), though the client's last
     * replies for a were the unwatch's OK and that failure. An OK counts only if its key was not
     * unwatched after its watch was reserved. The same for prefixes, and in either order of answers.
     */
    @Test
    void anOkFromBeforeAnUnwatchDoesNotKeepALaterFailedWatch() {
        for (boolean prefix : new boolean[] {false, true}) {
            String a = prefix ? "p-" : "a";
            String match = prefix ? "p-1" : "a";
            for (boolean firstSettlesFirst : new boolean[] {true, false}) {
                Recorded recorded = new Recorded();
                Watching w = new Watching(() -> recorded, MAX_NAMES, MAX_PREFIXES);
                w.watch();
                Watching.Reservation first = w.reserve(List.of(a), prefix);
                w.unwatch(List.of(a), prefix);
                Watching.Reservation second = w.reserve(List.of(a), prefix);
                if (firstSettlesFirst) {
                    w.settled(first, false);
                    assertThat(w.wants(match)).as("the second is still in flight").isTrue();
                    w.settled(second, true);
                } else {
                    w.settled(second, true);
                    assertThat(w.wants(match)).as("the first is still in flight").isTrue();
                    w.settled(first, false);
                }
                assertThat(w.wants(match)).as("prefix %s, first settles first %s", prefix, firstSettlesFirst).isFalse();
                assertThat(recorded.calls).as("prefix %s, first settles first %s", prefix, firstSettlesFirst)
                        .containsExactly(prefix ? "unwatchPrefix p-" : "unwatch [a]");
                // Control: a watch reserved after the unwatch that succeeds keeps it, whatever the older one does.
                Watching.Reservation third = w.reserve(List.of(a), prefix);
                w.unwatch(List.of(a), prefix);
                Watching.Reservation fourth = w.reserve(List.of(a), prefix);
                w.settled(fourth, false);
                w.settled(third, true);
                assertThat(w.wants(match)).as("control, prefix %s", prefix).isTrue();
            }
        }
    }

    @Test
    void anUnwatchOfAWatchInFlightReachesTheLockServiceWhenItIsAnswered() {
        Recorded recorded = new Recorded();
        Watching w = new Watching(() -> recorded, MAX_NAMES, MAX_PREFIXES);
        w.watch();
        Watching.Reservation ab = w.reserve(List.of("a", "b"), false);
        w.unwatch(List.of("a", "c"), false);
        assertThat(recorded.calls).as("c is not in flight; a is").containsExactly("unwatch [c]");
        assertThat(w.wants("a")).as("no change of it is pushed any more").isFalse();
        w.settled(ab, false);
        assertThat(recorded.calls).containsExactly("unwatch [c]", "unwatch [a]");
        assertThat(w.wants("b")).isTrue();

        Watching.Reservation p1 = w.reserve(List.of("p-"), true);
        assertThat(p1.added()).containsExactly("p-");
        assertThat(w.wants("p-1")).isTrue();
        Watching.Reservation p2 = w.reserve(List.of("p-"), true);
        assertThat(p2.added()).as("counted once").isEmpty();
        w.unwatch(List.of("p-"), true);
        w.settled(p1, false);
        assertThat(recorded.calls).as("one watch of the prefix is still in flight").hasSize(2);
        w.settled(p2, false);
        assertThat(recorded.calls).endsWith("unwatchPrefix p-");
        assertThat(w.wants("p-1")).isFalse();
    }

    /**
     * An unwatch the lock service is told when a watch in flight is answered must reach it before
     * a watch of the same key reserved meanwhile on another thread (the client's next request,
     * sent as soon as it has the answer): the lock service's unwatch fails a watch of that key
     * still starting ("unwatched before the watch began"), and the client was told the session
     * left its connection (seen on a loaded CI machine).
     */
    @Test
    void aWatchReservedWhileAnUnwatchIsPassedOnReachesTheLockServiceAfterIt() throws Exception {
        for (boolean prefix : new boolean[] {false, true}) {
            List<String> key = List.of(prefix ? "p-" : "a");
            Watching[] w = new Watching[1];
            Thread[] next = new Thread[1];
            Recorded recorded = new Recorded() {
                @Override
                public void unwatch(Collection<String> locks) {
                    raceTheNextWatch();
                    super.unwatch(locks);
                }

                @Override
                public void unwatchPrefix(String p) {
                    raceTheNextWatch();
                    super.unwatchPrefix(p);
                }

                /** Serves the next watch as the container's thread would, and waits until it is served or waits for this one. */
                private void raceTheNextWatch() {
                    next[0] = new Thread(() -> {
                        w[0].reserve(key, prefix);
                        if (prefix) {
                            watchPrefix(key.get(0));
                        } else {
                            watch(key);
                        }
                    });
                    next[0].start();
                    await().atMost(Await.seconds(10)).until(() -> next[0].getState() == Thread.State.BLOCKED
                            || next[0].getState() == Thread.State.TERMINATED);
                }
            };
            w[0] = new Watching(() -> recorded, MAX_NAMES, MAX_PREFIXES);
            w[0].watch();
            Watching.Reservation first = w[0].reserve(key, prefix);
            w[0].unwatch(key, prefix);
            w[0].settled(first, false);
            next[0].join(10_000);
            assertThat(next[0].isAlive()).isFalse();
            assertThat(recorded.calls).as("prefix %s", prefix).containsExactly(
                    prefix ? "unwatchPrefix p-" : "unwatch [a]",
                    prefix ? "watchPrefix p-" : "watch [a]");
            assertThat(w[0].wants(prefix ? "p-1" : "a")).isTrue();
        }
    }

    @Test
    void prefixesAreLimitedTo16() {
        Watching w = new Watching(Recorded::new, MAX_NAMES, MAX_PREFIXES);
        for (int i = 0; i < MAX_PREFIXES; i++) {
            assertThat(w.reserve(List.of("p" + i), true).added()).containsExactly("p" + i);
        }
        assertThat(w.reserve(List.of("q"), true)).isNull();
        assertThat(w.wants("q1")).isFalse();
        assertThat(w.wants("p3-x")).isTrue();
    }
}
