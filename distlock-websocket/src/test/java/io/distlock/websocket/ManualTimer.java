package io.distlock.websocket;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A timer for the endpoint whose periodic tasks run only when the test says so, on the test's
 * thread: with a clock the test moves, liveness is tested in test time. Only
 * {@code scheduleWithFixedDelay} (all the endpoint uses) is held back; the rest is an ordinary
 * one-thread executor.
 */
final class ManualTimer extends ScheduledThreadPoolExecutor {

    private final List<Periodic> periodic = new CopyOnWriteArrayList<>();

    ManualTimer() {
        super(1);
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable task, long initialDelay, long delay, TimeUnit unit) {
        Periodic p = new Periodic(task);
        periodic.add(p);
        return p;
    }

    /** Runs every periodic task not cancelled once, as if its period had passed. */
    void tick() {
        for (Periodic p : periodic) {
            if (!p.isCancelled()) {
                p.task.run();
            }
        }
    }

    /** Periodic tasks scheduled and not cancelled. */
    int scheduled() {
        return (int) periodic.stream().filter(p -> !p.isCancelled()).count();
    }

    private static final class Periodic implements ScheduledFuture<Object> {
        final Runnable task;
        private volatile boolean cancelled;

        Periodic(Runnable task) {
            this.task = task;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return 0;
        }

        @Override
        public int compareTo(Delayed other) {
            return Long.compare(getDelay(TimeUnit.NANOSECONDS), other.getDelay(TimeUnit.NANOSECONDS));
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            cancelled = true;
            return true;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public boolean isDone() {
            return cancelled;
        }

        @Override
        public Object get() {
            throw new UnsupportedOperationException("a periodic task never completes");
        }

        @Override
        public Object get(long timeout, TimeUnit unit) {
            throw new UnsupportedOperationException("a periodic task never completes");
        }
    }
}
