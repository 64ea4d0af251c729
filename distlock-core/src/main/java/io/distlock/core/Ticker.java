package io.distlock.core;

/**
 * The clock a {@link LockService} measures leases, re-checks and timeouts with: nanoseconds
 * from an arbitrary origin, like {@link System#nanoTime()} (the default). Tests pass a clock
 * they move by hand, to stand exactly on a boundary instead of sleeping past it.
 */
@FunctionalInterface
public interface Ticker {

    /** The current time in nanoseconds; only differences between two readings mean anything. */
    long read();

    /** {@link System#nanoTime()}. */
    static Ticker system() {
        return System::nanoTime;
    }
}
