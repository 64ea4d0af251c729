package io.distlock.faults;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

/**
 * Notices when this JVM (the simulated browsers, the history, the checkers' clock) stops running
 * for a while: a thread that asks to sleep {@link #TICK} and finds it slept {@link #THRESHOLD}
 * longer. A stalled JVM records what arrived meanwhile late and in a burst, whatever the server
 * did; a run that fails a checker prints its stalls beside the events, to tell the two apart.
 * The stalls are kept apart from the history: no checker reads them.
 */
final class StallWatch {

    static final Duration THRESHOLD = Duration.ofMillis(250);
    private static final Duration TICK = Duration.ofMillis(10);
    /** A run never lasts this long; a watch whose run never finished (its test threw) ends by itself. */
    private static final Duration AT_MOST = Duration.ofMinutes(30);

    private final History history;
    private final List<long[]> stalls = new ArrayList<>(); // {start on the history's clock, length}, ns; guarded by this
    private final Thread thread;
    private volatile boolean stopped;

    StallWatch(History history, String name) {
        this.history = history;
        this.thread = new Thread(this::watch, "stall-watch " + name);
        thread.setDaemon(true);
        thread.start();
    }

    private void watch() {
        long end = System.nanoTime() + AT_MOST.toNanos();
        while (!stopped && System.nanoTime() - end < 0) {
            long before = history.nanosNow();
            LockSupport.parkNanos(TICK.toNanos());
            long slept = history.nanosNow() - before;
            if (slept - TICK.toNanos() >= THRESHOLD.toNanos()) {
                synchronized (this) {
                    stalls.add(new long[] {before, slept});
                }
            }
        }
    }

    /** Stops watching; returns the stalls seen, {start, length} in ns on the history's clock. */
    List<long[]> stop() {
        stopped = true;
        LockSupport.unpark(thread);
        synchronized (this) {
            return List.copyOf(stalls);
        }
    }

    static String describe(List<long[]> stalls) {
        return stalls.stream()
                .map(s -> String.format("%d ms at %.0f ms", TimeUnit.NANOSECONDS.toMillis(s[1]), s[0] / 1e6))
                .collect(Collectors.joining(", "));
    }
}
