package io.distlock.core;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A warning that every session may hit at once (a node shut down while Redis does not answer
 * closes each with the same failure): the first is logged, later ones only at the 2nd, 4th,
 * 8th... time with the count, so 10,000 sessions write 15 lines, not 10,000. {@link #reset()}
 * (Redis answered again) starts over, so the next outage logs its first one. At WARNING, or at
 * the level given; where no event says the trouble is over, it starts over after a quiet time
 * instead, read on the ticker given.
 */
final class CountedWarning {

    private final Logger log;
    private final Level level;
    /** Formatted with the occurrence's parameters. */
    private final String first;
    /** Formatted with the count, then the occurrence's parameters. */
    private final String repeated;
    private final AtomicLong count = new AtomicLong();
    /** Null: only {@link #reset()} starts over. */
    private final Ticker ticker;
    private final long quietNanos;
    private final AtomicLong lastAt = new AtomicLong();

    CountedWarning(Logger log, String first, String repeated) {
        this(log, Level.WARNING, null, Duration.ZERO, first, repeated);
    }

    /** Starts over at an occurrence that comes more than {@code quiet} after the one before. */
    CountedWarning(Logger log, Level level, Ticker ticker, Duration quiet, String first, String repeated) {
        this.log = log;
        this.level = level;
        this.ticker = ticker;
        this.quietNanos = quiet.toNanos();
        this.first = first;
        this.repeated = repeated;
    }

    /**
     * One occurrence at a time, its line with it: they come on several threads at once (a renewal tick finds every
     * lost record, on Redisson's threads). Unserialized, the 8th's line could be written before the 4th's (the last
     * line said "4 so far"), and a start-over's {@code count.set(0)} could wipe another thread's increment made in
     * between (two "first" lines, the count short). The others wait only while one of the few lines is written.
     */
    synchronized void happened(Object... params) {
        if (ticker != null) {
            long now = ticker.read();
            long before = lastAt.getAndSet(now);
            if (now - before > quietNanos) {
                count.set(0);
            }
        }
        long n = count.incrementAndGet();
        if (n == 1) {
            log.log(level, first, params);
        } else if ((n & (n - 1)) == 0) {
            Object[] withCount = new Object[params.length + 1];
            withCount[0] = n;
            System.arraycopy(params, 0, withCount, 1, params.length);
            log.log(level, repeated, withCount);
        }
    }

    void reset() {
        if (count.get() != 0) {
            count.set(0);
        }
    }
}
