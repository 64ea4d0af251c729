package io.distlock.websocket;

import java.util.HashMap;
import java.util.Map;

/**
 * At most one {@code ask} per session and lock per interval, on one node: an ask pushes
 * {@code ASKED} to every holder, so a client that repeats it would nag them. One per node, not
 * per connection, so that a session resumed on the same node keeps its pace. What is kept is one
 * entry per session and lock asked for recently; expired entries are dropped whenever the map has
 * doubled since the last sweep, so the work per ask stays constant on average. Time is passed in
 * (the endpoint's ticker), so tests stand on the boundary instead of sleeping.
 */
final class AskLimiter {

    private static final int FIRST_SWEEP = 1024;

    private record Key(String session, String lock) { }

    private final long intervalNanos;
    private final Map<Key, Long> lastAsked = new HashMap<>(); // guarded by this
    private int sweepAt = FIRST_SWEEP; // guarded by this

    AskLimiter(long intervalNanos) {
        this.intervalNanos = intervalNanos;
    }

    /** Whether {@code session} may ask for {@code lock} at {@code nowNanos}; if so, that ask counts from now. */
    synchronized boolean tryAsk(String session, String lock, long nowNanos) {
        if (lastAsked.size() >= sweepAt) {
            lastAsked.values().removeIf(asked -> nowNanos - asked >= intervalNanos);
            sweepAt = Math.max(FIRST_SWEEP, 2 * lastAsked.size());
        }
        Key key = new Key(session, lock);
        Long asked = lastAsked.get(key);
        if (asked != null && nowNanos - asked < intervalNanos) {
            return false;
        }
        lastAsked.put(key, nowNanos);
        return true;
    }

    /** Entries kept (for tests). */
    synchronized int size() {
        return lastAsked.size();
    }
}
