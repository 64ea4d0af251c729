package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;

/** Ordering, one-send-at-a-time and the queue bound, on a transport the test drives. */
class OutboundTest {

    /** Records sends; completes them at once or when the test says. Fails on overlapping sends. */
    static final class FakeTransport implements Outbound.Transport {
        final List<String> sent = new ArrayList<>();
        final ArrayDeque<Consumer<Throwable>> inFlight = new ArrayDeque<>();
        boolean synchronous;
        int pings;
        Exception failPing;

        @Override
        public synchronized void send(String text, Consumer<Throwable> done) {
            assertThat(inFlight).as("a send while another is in flight").isEmpty();
            sent.add(text);
            if (synchronous) {
                done.accept(null);
            } else {
                inFlight.add(done);
            }
        }

        @Override
        public void ping() throws Exception {
            if (failPing != null) {
                throw failPing;
            }
            pings++;
        }

        void completeNext() {
            Consumer<Throwable> done;
            synchronized (this) {
                done = inFlight.poll();
            }
            assertThat(done).as("a send in flight").isNotNull();
            done.accept(null);
        }

        void failNext(Throwable error) {
            Consumer<Throwable> done;
            synchronized (this) {
                done = inFlight.poll();
            }
            done.accept(error);
        }

        void completeAll() {
            while (true) {
                synchronized (this) {
                    if (inFlight.isEmpty()) {
                        return;
                    }
                }
                completeNext();
            }
        }
    }

    private final FakeTransport transport = new FakeTransport();
    private final AtomicInteger overflows = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    private Outbound outbound(int maxQueued, long maxQueuedBytes) {
        return new Outbound(transport, maxQueued, maxQueuedBytes, overflows::incrementAndGet, failure::set);
    }

    private Outbound outbound(int maxQueued) {
        return new Outbound(transport, maxQueued, Long.MAX_VALUE, overflows::incrementAndGet, failure::set);
    }

    @Test
    void repliesLeaveInRequestOrderWhateverOrderTheyCompleteIn() {
        Outbound out = outbound(100);
        Outbound.Slot first = out.reserve();
        Outbound.Slot second = out.reserve();
        Outbound.Slot third = out.reserve();
        third.complete("3");
        second.complete("2");
        assertThat(transport.sent).isEmpty();
        first.complete("1");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("1", "2", "3");
    }

    @Test
    void aPushWaitsForTheRepliesReservedBeforeIt() {
        Outbound out = outbound(100);
        Outbound.Slot wait = out.reserve();
        out.push("retry");
        Outbound.Slot later = out.reserve();
        later.complete("later");
        assertThat(transport.sent).isEmpty();
        wait.complete("wait");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("wait", "retry", "later");
    }

    /**
     * Found by review (2026-12-07): a LOST waited behind every reply owed, and a request that waits
     * for a Redis this node cannot reach is owed for up to half a lease, so the holder could hear
     * LOST after its lease ran out. Now it goes ahead of every reply still owed (made after the
     * loss, none carries the lost grant), and stays behind the replies made about its lock (a
     * re-lock's LOCKED, made before the loss, carries it) and the pushes about it.
     */
    @Test
    void aLostOvertakesRepliesOwedButNotRepliesMadeOrPushesAboutItsLock() {
        Outbound out = outbound(100);
        Outbound.Slot queryOfB = out.reserve();
        queryOfB.concerns(List.of()); // a query's reply carries no grant
        Outbound.Slot relockOfA = out.reserve();
        relockOfA.concerns(List.of("a"));
        relockOfA.complete("LOCKED a"); // made before the loss, waiting behind the query
        out.push("RETRY c", () -> true, null, null, "c");
        Outbound.Slot notServedYet = out.reserve();
        Outbound.Slot relockOfC = out.reserve();
        relockOfC.concerns(List.of("c"));
        relockOfC.served(); // handed over, still owed when c is lost: answered after the loss

        out.pushOvertaking("LOST a", () -> true, null, "a");
        out.pushOvertaking("LOST c", () -> true, null, "c");
        out.pushOvertaking("LOST d", () -> true, null, "d");
        transport.completeAll();
        assertThat(transport.sent).as("nothing speaks of d").containsExactly("LOST d");

        queryOfB.complete("query b");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("LOST d", "query b", "LOCKED a", "LOST a", "RETRY c", "LOST c");
        relockOfC.complete("FAIL c");
        notServedYet.complete("late");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("LOST d", "query b", "LOCKED a", "LOST a", "RETRY c", "LOST c", "late", "FAIL c");
        assertThat(out.queued()).isZero();
    }

    /**
     * Found by review (2026-12-07): the lock service may make a reply while its request is being
     * handed over, before the handler's hook is on its stage (the container's thread descheduled
     * between the call and the hook); the reply then reaches its place after a LOST told meanwhile,
     * which had overtaken it as a reply still to come: {@code LOST L t} before the {@code LOCKED L t}
     * it ends. A request being handed over counts as answered.
     */
    @Test
    void aLostStaysBehindARequestAboutItsLockWhileItIsHandedOver() {
        Outbound out = outbound(100);
        Outbound.Slot first = out.reserve();
        first.concerns(List.of());
        Outbound.Slot relockOfA = out.reserve();
        relockOfA.concerns(List.of("a")); // being handed over: its reply may be made already
        out.pushOvertaking("LOST a", () -> true, null, "a");
        Outbound.Slot relockOfB = out.reserve();
        relockOfB.concerns(List.of("b"));
        relockOfB.served(); // handed over, not answered: its reply comes after a loss told now
        out.pushOvertaking("LOST b", () -> true, null, "b");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("LOST b");

        first.complete("first");
        relockOfA.complete("LOCKED a");
        relockOfB.complete("FAIL b");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("LOST b", "first", "LOCKED a", "LOST a", "FAIL b");
    }

    @Test
    void aLostStaysBehindARequestAboutEveryLockAndIsDroppedIfNoLongerWanted() {
        Outbound out = outbound(100);
        Outbound.Slot resume = out.reserve();
        resume.concerns(null);
        out.pushOvertaking("LOST a", () -> true, null, "a");
        java.util.concurrent.atomic.AtomicBoolean sessionOpen = new java.util.concurrent.atomic.AtomicBoolean(true);
        out.pushOvertaking("LOST b", sessionOpen::get, null, "b");
        assertThat(transport.sent).isEmpty();
        sessionOpen.set(false);
        resume.complete("resumed");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("resumed", "LOST a");
        out.pushOvertaking("LOST c", sessionOpen::get, null, "c");
        assertThat(transport.sent).as("not wanted when queued").containsExactly("resumed", "LOST a");
        assertThat(out.queued()).isZero();
    }

    @Test
    void aWaitingPushNoLongerWantedWhenItsTurnComesIsDropped() {
        Outbound out = outbound(100);
        Outbound.Slot close = out.reserve();
        java.util.concurrent.atomic.AtomicBoolean sessionOpen = new java.util.concurrent.atomic.AtomicBoolean(true);
        out.push("granted", sessionOpen::get); // made while the close waits for Redis
        out.push("kept", () -> true);
        sessionOpen.set(false); // the close took the session away
        close.complete("ok");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("ok", "kept");
        assertThat(out.queued()).isZero();
    }

    /**
     * A push made by a thread that looked at the session before a close took it, and queued after
     * the close's reply went (nothing reserved): dropped, as when it waits behind that reply
     * (review 2026-12-06: it was sent, and reached the next session of the connection).
     */
    @Test
    void aPushNoLongerWantedWhenQueuedIsDroppedThoughNoReplyIsReserved() {
        Outbound out = outbound(100);
        List<String> reported = new ArrayList<>();
        Outbound.Slot close = out.reserve();
        close.complete("ok");
        out.push("granted", () -> false, null, () -> reported.add("granted"), null);
        out.push("lost", () -> false);
        out.push("changed", () -> false, "doc");
        out.push("kept", () -> true);
        transport.completeAll();
        assertThat(transport.sent).containsExactly("ok", "kept");
        assertThat(reported).isEmpty();
        assertThat(out.queued()).isZero();
        assertThat(out.queuedBytes()).isZero();
    }

    @Test
    void aPushWithAKeyDropsTheOneOfTheSameKeyStillWaitingAndTakesTheNextPlace() {
        Outbound out = outbound(3, 1000);
        out.push("in flight"); // handed to the transport: it cannot be taken back
        out.push("a1", () -> true, "a");
        out.push("b1", () -> true, "b");
        out.push("other");
        for (int i = 2; i <= 50; i++) { // far more than the 3 frames that may wait: never given up
            out.push("a" + i, () -> true, "a");
        }
        assertThat(out.queued()).isEqualTo(3);
        assertThat(out.queuedBytes()).isEqualTo("b1".length() + "other".length() + "a50".length());
        transport.completeNext(); // "in flight" done: "b1" goes out, and can no longer be replaced
        out.push("b2", () -> true, "b");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("in flight", "b1", "other", "a50", "b2");
        assertThat(overflows).hasValue(0);
        assertThat(out.queued()).isZero();
        assertThat(out.queuedBytes()).isZero();
    }

    @Test
    void aKeyedPushWaitingBehindAReplyIsReplacedThereAndAnUnwantedOneIsForgotten() {
        Outbound out = outbound(100);
        Outbound.Slot watchAnswer = out.reserve();
        out.push("s1", () -> true, "doc"); // behind the answer it follows
        out.push("s2", () -> true, "doc");
        java.util.concurrent.atomic.AtomicBoolean watched = new java.util.concurrent.atomic.AtomicBoolean(true);
        out.push("t1", watched::get, "sheet");
        watched.set(false); // unwatched before its turn: dropped, and its key forgotten
        watchAnswer.complete("ok");
        assertThat(transport.sent).containsExactly("ok");
        out.push("s3", () -> true, "doc"); // "s2" waits in line now: replaced there
        out.push("t2", () -> true, "sheet");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("ok", "s3", "t2");
        assertThat(out.queued()).isZero();
        assertThat(out.queuedBytes()).isZero();
    }

    /**
     * A push others cause, which the client can do without ({@code ASKED}): never past half of
     * either bound, so asks from many sessions cannot make a holder that reads slowly a slow
     * consumer (review 2026-12-07: 60 askers of 40 locks each closed the holder with 1008, and
     * its locks went to an asker); when one is dropped, the one of its key still waiting stays.
     */
    @Test
    void anOptionalPushIsDroppedRatherThanFillMoreThanHalfOfEitherBound() {
        Outbound out = outbound(6, 1000);
        out.push("in flight"); // handed to the transport: not waiting
        out.offer("a1", () -> true, "a", null, null);
        out.offer("b1", () -> true, "b", null, null);
        out.offer("c1", () -> true, "c", null, null);
        out.offer("d1", () -> true, "d", null, null); // a fourth would pass half of 6 frames
        out.offer("a2", () -> true, "a", null, null); // replaces a1: still three
        assertThat(out.queued()).isEqualTo(3);
        out.push("granted"); // the rest still has its half
        out.push("lost");
        out.push("reply");
        assertThat(overflows).hasValue(0);
        out.offer("b2", () -> true, "b", null, null); // would be the seventh frame with b1 gone: dropped, b1 stays
        transport.completeAll();
        assertThat(transport.sent).containsExactly("in flight", "b1", "c1", "a2", "granted", "lost", "reply");
        assertThat(overflows).hasValue(0);

        Outbound bytes = outbound(1000, 20);
        bytes.push("in flight");
        bytes.offer("0123456789", () -> true, "x", null, null); // exactly half of 20 bytes: queued
        bytes.offer("0", () -> true, "y", null, null); // past half: dropped
        bytes.offer("01234", () -> true, "x", null, null); // replaces the 10 bytes: 5 of them
        bytes.offer("01234", () -> true, "y", null, null);
        assertThat(bytes.queuedBytes()).isEqualTo(10);
        bytes.push("0123456789"); // the rest still has its half
        assertThat(overflows).hasValue(0);
    }

    /**
     * What {@code distlock.websocket.pushes} counts: pushes handed to the transport, not those
     * superseded, no longer wanted or dropped with a closed connection (review 2026-12-05: they
     * were counted when queued).
     */
    @Test
    void aPushIsReportedSentWhenHandedToTheTransportOnly() {
        Outbound out = outbound(100);
        List<String> reported = new ArrayList<>();
        out.push("first", () -> true, null, () -> reported.add("first"), null); // handed at once
        assertThat(reported).containsExactly("first");
        out.push("a1", () -> true, "a", () -> reported.add("a1"), null);
        out.push("a2", () -> true, "a", () -> reported.add("a2"), null); // supersedes a1
        Outbound.Slot reply = out.reserve();
        out.push("unwanted", () -> false, null, () -> reported.add("unwanted"), null); // behind the reply, not wanted when its turn comes
        assertThat(reported).containsExactly("first");
        transport.completeNext(); // "first" done: "a2" is handed
        assertThat(reported).containsExactly("first", "a2");
        reply.complete("reply");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("first", "a2", "reply");
        assertThat(reported).containsExactly("first", "a2");

        out.push("in flight", () -> true, null, () -> reported.add("in flight"), null);
        out.push("queued", () -> true, null, () -> reported.add("queued"), null);
        out.close(); // the connection ends before "queued" is handed
        transport.completeAll();
        assertThat(transport.sent).containsExactly("first", "a2", "reply", "in flight");
        assertThat(reported).containsExactly("first", "a2", "in flight");
    }

    @Test
    void onlyOneSendIsInFlight() {
        Outbound out = outbound(100);
        for (int i = 0; i < 5; i++) {
            out.push("p" + i);
        }
        assertThat(transport.sent).containsExactly("p0");
        transport.completeNext();
        assertThat(transport.sent).containsExactly("p0", "p1");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("p0", "p1", "p2", "p3", "p4");
        assertThat(out.queued()).isZero();
    }

    @Test
    void sendsCompletedBeforeTheyReturnDoNotGrowTheStack() {
        transport.synchronous = true;
        Outbound out = outbound(1_000_000);
        Outbound.Slot head = out.reserve();
        int count = 200_000;
        for (int i = 0; i < count; i++) {
            out.push("p");
        }
        head.complete("head"); // releases the whole queue in one go
        assertThat(transport.sent).hasSize(count + 1);
    }

    @Test
    void pastTheBoundTheConnectionIsGivenUpOnce() {
        Outbound out = outbound(3);
        out.push("in flight"); // handed to the transport: not waiting any more
        out.push("a");
        out.push("b");
        out.push("c");
        assertThat(overflows).hasValue(0);
        out.push("d");
        assertThat(overflows).hasValue(1);
        out.push("e");
        out.reserve().complete("f");
        transport.completeAll();
        assertThat(overflows).hasValue(1);
        assertThat(transport.sent).containsExactly("in flight");
    }

    @Test
    void pastTheBoundInBytesTheConnectionIsGivenUpOnce() {
        Outbound out = outbound(1000, 10);
        out.push("f"); // handed to the transport at once: not waiting any more
        Outbound.Slot reply = out.reserve(); // no size yet: only counted as a frame
        out.push("12345");
        reply.complete("1234");
        assertThat(out.queuedBytes()).isEqualTo(9);
        out.push("1");
        assertThat(overflows).hasValue(0);
        out.push("2");
        assertThat(overflows).hasValue(1);
        out.push("3");
        transport.completeAll();
        assertThat(overflows).hasValue(1);
        assertThat(transport.sent).containsExactly("f");
    }

    @Test
    void bytesHandedToTheTransportNoLongerCount() {
        Outbound out = outbound(1000, 10);
        out.push("in flight");
        out.push("0123456789");
        assertThat(out.queuedBytes()).isEqualTo(10);
        transport.completeNext();
        assertThat(out.queuedBytes()).isZero();
        out.push("0123456789");
        transport.completeAll();
        assertThat(overflows).hasValue(0);
        assertThat(transport.sent).containsExactly("in flight", "0123456789", "0123456789");
    }

    @Test
    void requestsStillBeingAnsweredCountAgainstTheBound() {
        Outbound out = outbound(3);
        out.push("in flight");
        Outbound.Slot first = out.reserve();
        out.reserve();
        out.push("a");
        assertThat(overflows).hasValue(0);
        out.reserve(); // a client that sends without reading: three unanswered and a frame waiting
        assertThat(overflows).hasValue(1);
        first.complete("late");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("in flight");
    }

    @Test
    void pingsOnlyWhenIdleAndNothingOvertakesIt() {
        Outbound out = outbound(100);
        out.push("busy");
        assertThat(out.pingIfIdle(Runnable::run)).isFalse();
        transport.completeAll();
        assertThat(out.pingIfIdle(Runnable::run)).isTrue();
        assertThat(transport.pings).isEqualTo(1);
        out.push("after");
        transport.completeAll();
        assertThat(transport.sent).containsExactly("busy", "after");
    }

    @Test
    void aPingRunsOnTheGivenExecutorAndKeepsTheConnectionBusyUntilItReturns() {
        Outbound out = outbound(100);
        ArrayDeque<Runnable> pingThread = new ArrayDeque<>();
        assertThat(out.pingIfIdle(pingThread::add)).isTrue();
        assertThat(transport.pings).as("not on the caller's thread").isZero();
        assertThat(out.pingIfIdle(pingThread::add)).as("one ping in flight at most").isFalse();
        out.push("waits for the ping");
        assertThat(transport.sent).isEmpty();
        pingThread.poll().run(); // the ping returns at last
        assertThat(transport.pings).isEqualTo(1);
        transport.completeAll();
        assertThat(transport.sent).containsExactly("waits for the ping");
        assertThat(pingThread).isEmpty();
    }

    @Test
    void aFailedSendReportsOnceAndStopsSending() {
        Outbound out = outbound(100);
        out.push("a");
        out.push("b");
        IOException broken = new IOException("broken pipe");
        transport.failNext(broken);
        assertThat(failure).hasValue(broken);
        out.push("c");
        assertThat(transport.sent).containsExactly("a");
        assertThat(out.pingIfIdle(Runnable::run)).isFalse();
    }

    @Test
    void aFailedPingIsReported() {
        Outbound out = outbound(100);
        transport.failPing = new IOException("gone");
        assertThat(out.pingIfIdle(Runnable::run)).isTrue();
        assertThat(failure.get()).hasMessage("gone");
    }
}
