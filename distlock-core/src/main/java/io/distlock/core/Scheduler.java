package io.distlock.core;

import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Runs a {@link LockService}'s timed work: lease renewal ticks and re-checks of waited locks.
 * The tasks are tiny and never block. By default each service has one daemon thread of its own;
 * tests pass a scheduler driven by the same hand-moved clock as their {@link Ticker}. A
 * scheduler given in {@link LockConfig} stays its owner's: closing the service does not stop it.
 */
@FunctionalInterface
public interface Scheduler {

    /**
     * Runs {@code task} once, {@code delay} from now on the service's {@link Ticker}. The future
     * cancels it. May throw {@link java.util.concurrent.RejectedExecutionException} once the
     * scheduler is shutting down.
     */
    Future<?> schedule(Runnable task, long delay, TimeUnit unit);
}
