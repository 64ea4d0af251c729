package io.distlock.faults;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import io.distlock.faults.History.Kind;
import io.distlock.faults.History.Op;

/**
 * A counter that only the lock keeps correct: read, "work" for about a millisecond, write
 * read + 1. Two holders at once lose an update, which the counter checker finds as two
 * increments that read the same value. No fencing here: this is what an unguarded resource
 * suffers when exclusion breaks.
 *
 * <p>The write and its INCREMENT event happen together under the counter's monitor (the read
 * does not, on purpose), so the history's order of increments is the order of the writes and
 * the last recorded "wrote" is the final value.
 */
public final class Counter {

    private static final long WORK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final String lock;
    private final History history;
    private volatile long value;

    public Counter(String lock, History history) {
        this.lock = lock;
        this.history = history;
    }

    /** Records INCREMENT OK with detail {@code read=N wrote=N+1}. */
    public void increment(int process, long token) {
        long read = value;
        LockSupport.parkNanos(WORK_NANOS);
        synchronized (this) {
            value = read + 1;
            history.record(process, Kind.OK, Op.INCREMENT, lock, token, "read=" + read + " wrote=" + (read + 1));
        }
    }

    /**
     * A shared holder's read: records READ OK with detail {@code value=N}. Two reads within one
     * shared hold must agree (no writer holds the lock meanwhile); the counter checker compares them.
     */
    public long read(int process, long token) {
        synchronized (this) {
            long v = value;
            history.record(process, Kind.OK, Op.READ, lock, token, "value=" + v);
            return v;
        }
    }

    public long value() {
        return value;
    }
}
