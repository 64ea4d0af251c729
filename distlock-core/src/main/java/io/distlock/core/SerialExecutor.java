package io.distlock.core;

import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Runs tasks one at a time, in submission order, on a shared executor. Gives each session
 * an ordered stream of results and pushes without a thread of its own.
 */
final class SerialExecutor implements Executor {

    private static final System.Logger LOG = System.getLogger(SerialExecutor.class.getName());

    private final Executor delegate;
    private final ArrayDeque<Runnable> queue = new ArrayDeque<>(); // guarded by this
    private boolean draining; // guarded by this
    /** The thread running this executor's tasks now, if any. */
    private volatile Thread drainer;

    SerialExecutor(Executor delegate) {
        this.delegate = delegate;
    }

    @Override
    public void execute(Runnable task) {
        synchronized (this) {
            queue.add(task);
            if (draining) {
                return;
            }
            draining = true;
        }
        try {
            delegate.execute(this::drain);
        } catch (RejectedExecutionException e) {
            // The shared executor is shutting down: deliver here rather than lose the task.
            drain();
        }
    }

    /**
     * Whether the calling thread is running one of this executor's tasks: then waiting for a later
     * task never ends, as that task runs on this thread after the current one returns.
     */
    boolean runsHere() {
        return drainer == Thread.currentThread();
    }

    private void drain() {
        drainer = Thread.currentThread();
        while (true) {
            Runnable task;
            synchronized (this) {
                task = queue.poll();
                if (task == null) {
                    drainer = null; // before another drain can begin, on another thread
                    draining = false;
                    return;
                }
            }
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                LOG.log(Level.WARNING, "A session callback threw; ignored", e);
            }
        }
    }
}
