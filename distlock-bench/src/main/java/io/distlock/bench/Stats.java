package io.distlock.bench;

import java.util.concurrent.atomic.LongAdder;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The latencies of one phase, in nanoseconds. Sessions record into {@link Recorder}s
 * (wait-free); once a second the driver takes what was recorded since the last time and adds
 * it to the totals, or drops it during the warm-up.
 *
 * <ul>
 *   <li>{@code lock}: one {@code lock}/{@code mlock} request to its reply ({@code LOCKED} or {@code WAIT});</li>
 *   <li>{@code acquire}: the first {@code lock} request of a pair to its {@code LOCKED} (with the waits);</li>
 *   <li>{@code pair}: the first {@code lock} request of a pair to the reply to its {@code unlock};</li>
 *   <li>{@code retry}: the {@code unlock} of a lock being sent to a {@code RETRY} for it arriving at another session;</li>
 *   <li>{@code retryCross}: the same when the two sessions are on different nodes;</li>
 *   <li>{@code handover}: the {@code unlock} of a lock being sent to a {@code GRANTED} for it arriving
 *       at a queued session (the release hands the lock over inside Redis; this is how long
 *       until the next holder knows);</li>
 *   <li>{@code handoverCross}: the same when the two sessions are on different nodes.</li>
 * </ul>
 */
final class Stats {

    final Recorder lock = new Recorder(3);
    final Recorder acquire = new Recorder(3);
    final Recorder pair = new Recorder(3);
    final Recorder retry = new Recorder(3);
    final Recorder retryCross = new Recorder(3);
    final Recorder handover = new Recorder(3);
    final Recorder handoverCross = new Recorder(3);
    final LongAdder waits = new LongAdder();
    final LongAdder queued = new LongAdder();

    final Histogram lockTotal = new Histogram(3);
    final Histogram acquireTotal = new Histogram(3);
    final Histogram pairTotal = new Histogram(3);
    final Histogram retryTotal = new Histogram(3);
    final Histogram retryCrossTotal = new Histogram(3);
    final Histogram handoverTotal = new Histogram(3);
    final Histogram handoverCrossTotal = new Histogram(3);

    private Histogram lastPairInterval;

    /** Drops what was recorded so far (the warm-up); returns the pairs it held. */
    long discard() {
        lock.getIntervalHistogram();
        acquire.getIntervalHistogram();
        retry.getIntervalHistogram();
        retryCross.getIntervalHistogram();
        handover.getIntervalHistogram();
        handoverCross.getIntervalHistogram();
        return pair.getIntervalHistogram().getTotalCount();
    }

    /** Adds what was recorded since the last call to the totals; returns the pairs of this interval. */
    long accumulate() {
        lockTotal.add(lock.getIntervalHistogram());
        acquireTotal.add(acquire.getIntervalHistogram());
        retryTotal.add(retry.getIntervalHistogram());
        retryCrossTotal.add(retryCross.getIntervalHistogram());
        handoverTotal.add(handover.getIntervalHistogram());
        handoverCrossTotal.add(handoverCross.getIntervalHistogram());
        lastPairInterval = pair.getIntervalHistogram(lastPairInterval);
        pairTotal.add(lastPairInterval);
        return lastPairInterval.getTotalCount();
    }
}
