package io.distlock.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import io.distlock.core.LockListener;

/**
 * Records the pushes of one session, in order, for assertions: "the next push is RETRY of
 * doc-1 within 5 s", "no other push arrived".
 */
public final class Pushes implements LockListener {

    public enum Kind { RETRY, LOST }

    public record Push(Kind kind, String lock, long atNanos) { }

    private final LinkedBlockingQueue<Push> queue = new LinkedBlockingQueue<>();
    private final List<Push> all = new ArrayList<>();

    @Override
    public void retry(String lock) {
        record(Kind.RETRY, lock);
    }

    @Override
    public void lost(String lock) {
        record(Kind.LOST, lock);
    }

    private synchronized void record(Kind kind, String lock) {
        Push push = new Push(kind, lock, System.nanoTime());
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
