package io.distlock.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.distlock.core.Scheduler;
import io.distlock.core.Ticker;

/**
 * A clock that moves only when a test says so, and the scheduler that runs on it: tasks run
 * on the test's thread, in due order, while {@link #advance} passes their time. So a test can
 * stand one nanosecond before a boundary and one on it, in microseconds of real time.
 */
public final class FakeTime implements Ticker, Scheduler {

    private final class Task implements Future<Object>, Comparable<Task> {
        final long due;
        final long seq;
        final Runnable body;
        boolean cancelled; // guarded by FakeTime.this
        boolean done; // guarded by FakeTime.this

        Task(long due, long seq, Runnable body) {
            this.due = due;
            this.seq = seq;
            this.body = body;
        }

        @Override
        public int compareTo(Task o) {
            return due != o.due ? Long.compare(due, o.due) : Long.compare(seq, o.seq);
        }

        @Override
        public boolean cancel(boolean mayInterrupt) {
            synchronized (FakeTime.this) {
                if (done || cancelled) {
                    return false;
                }
                cancelled = true;
                queue.remove(this);
                return true;
            }
        }

        @Override
        public boolean isCancelled() {
            synchronized (FakeTime.this) {
                return cancelled;
            }
        }

        @Override
        public boolean isDone() {
            synchronized (FakeTime.this) {
                return done || cancelled;
            }
        }

        @Override
        public Object get() {
            throw new UnsupportedOperationException("a fake-time task is not waited for");
        }

        @Override
        public Object get(long timeout, TimeUnit unit) {
            throw new UnsupportedOperationException("a fake-time task is not waited for");
        }
    }

    private final PriorityQueue<Task> queue = new PriorityQueue<>(); // guarded by this
    private long now = 1_000_000_000L; // guarded by this; any origin will do
    private long seq; // guarded by this

    private Runnable atNextRead; // guarded by this
    private Thread armedBy; // guarded by this

    @Override
    public long read() {
        long read;
        Runnable meanwhile = null;
        synchronized (this) {
            read = now;
            if (atNextRead != null && Thread.currentThread() != armedBy) {
                meanwhile = atNextRead;
                atNextRead = null;
            }
        }
        if (meanwhile != null) {
            meanwhile.run();
        }
        return read;
    }

    /**
     * Runs {@code meanwhile} at the next read of this clock by another thread than the caller's,
     * between the read and its return: the reader is paused exactly after looking at the clock,
     * and gets the time it read. Once.
     */
    public synchronized void atNextReadElsewhere(Runnable meanwhile) {
        atNextRead = meanwhile;
        armedBy = Thread.currentThread();
    }

    @Override
    public synchronized Future<?> schedule(Runnable task, long delay, TimeUnit unit) {
        Task t = new Task(now + Math.max(0, unit.toNanos(delay)), seq++, task);
        queue.add(t);
        return t;
    }

    /** Moves the clock by {@code by}, running every task that falls due on the way, each at its own time. */
    public void advance(Duration by) {
        long target;
        synchronized (this) {
            target = now + by.toNanos();
        }
        while (true) {
            Task next;
            synchronized (this) {
                next = queue.peek();
                if (next == null || next.due > target) {
                    now = target;
                    return;
                }
                queue.poll();
                now = Math.max(now, next.due);
                next.done = true;
            }
            next.body.run();
        }
    }

    /** How long from now each pending task is due, soonest first. */
    public synchronized List<Duration> pending() {
        List<Task> sorted = new ArrayList<>(queue);
        sorted.sort(null);
        List<Duration> due = new ArrayList<>(sorted.size());
        for (Task t : sorted) {
            due.add(Duration.ofNanos(t.due - now));
        }
        return due;
    }
}
