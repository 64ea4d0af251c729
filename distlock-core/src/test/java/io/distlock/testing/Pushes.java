package io.distlock.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import io.distlock.core.CancelReason;
import io.distlock.core.LockListener;
import io.distlock.core.LockMode;
import io.distlock.core.LossCause;

/**
 * Records the pushes of one session, in order, for assertions: "the next push is RETRY of
 * doc-1 within 5 s", "no other push arrived".
 */
public final class Pushes implements LockListener {

    public enum Kind { RETRY, LOST, GRANTED, CANCELLED, RESUMED_ELSEWHERE, ASKED }

    /**
     * One push; {@code detail} is the token and mode of a {@code GRANTED} ({@code "42 shared"}), the
     * reason of a {@code CANCELLED} or {@code LOST} ({@code "stolen by <name>"} for a steal), who
     * asks and their info for an {@code ASKED} ({@code "<name> <info>"}), empty for a {@code RETRY};
     * {@code token} is the grant's of a {@code GRANTED}, the lost grant's of a {@code LOST}, 0 otherwise.
     */
    public record Push(Kind kind, String lock, long atNanos, String detail, long token) { }

    private final LinkedBlockingQueue<Push> queue = new LinkedBlockingQueue<>();
    private final List<Push> all = new ArrayList<>();

    @Override
    public void retry(String lock) {
        record(Kind.RETRY, lock);
    }

    @Override
    public void lost(String lock, long token, LossCause cause) {
        record(Kind.LOST, lock, cause.reason(), token);
    }

    @Override
    public void stolen(String lock, long token, String by) {
        record(Kind.LOST, lock, "stolen by " + by, token);
    }

    @Override
    public void asked(String lock, String by, String info) {
        record(Kind.ASKED, lock, by + " " + info);
    }

    @Override
    public void granted(String lock, long token, LockMode mode) {
        record(Kind.GRANTED, lock, token + " " + mode.wire(), token);
    }

    @Override
    public void cancelled(String lock, CancelReason reason) {
        record(Kind.CANCELLED, lock, reason.reason());
    }

    @Override
    public void resumedElsewhere() {
        record(Kind.RESUMED_ELSEWHERE, "");
    }

    private void record(Kind kind, String lock) {
        record(kind, lock, "");
    }

    private void record(Kind kind, String lock, String detail) {
        record(kind, lock, detail, 0);
    }

    private synchronized void record(Kind kind, String lock, String detail, long token) {
        Push push = new Push(kind, lock, System.nanoTime(), detail, token);
        all.add(push);
        queue.add(push);
    }

    /** Takes the next push, failing if none arrives within {@code timeout}. */
    public Push next(Duration timeout) {
        try {
            Push push = queue.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(push).as("a push within %s", timeout).isNotNull();
            return push;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Asserts that the next push is {@code kind} for {@code lock}, within {@code timeout}. */
    public Push expect(Kind kind, String lock, Duration timeout) {
        Push push = next(timeout);
        assertThat(push.kind()).as("push kind of %s", push).isEqualTo(kind);
        assertThat(push.lock()).as("lock of %s", push).isEqualTo(lock);
        return push;
    }

    /** Asserts that no push arrives within {@code quiet}. */
    public void expectNone(Duration quiet) {
        try {
            Push push = queue.poll(quiet.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(push).as("no further push").isNull();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    public synchronized List<Push> all() {
        return List.copyOf(all);
    }
}
