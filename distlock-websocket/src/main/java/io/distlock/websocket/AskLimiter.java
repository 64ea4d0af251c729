package io.distlock.websocket;

import java.util.HashMap;
import java.util.Map;

/**
 * At most one {@code ask} per lock per interval, for one session on one connection: an ask
 * pushes {@code ASKED} to every holder, so a client that repeats it would nag them. What is
 * kept is one entry per lock asked for within the interval, forgotten afterwards. Time is
 * passed in (the endpoint's ticker), so tests stand on the boundary instead of sleeping.
 */
final class AskLimiter {

    private final long intervalNanos;
    private final Map<String, Long> lastAsked = new HashMap<>(); // guarded by this

    AskLimiter(long intervalNanos) {
        this.intervalNanos = intervalNanos;
    }

    /** Whether {@code lock} may be asked for at {@code nowNanos}; if so, that ask counts from now. */
    synchronized boolean tryAsk(String lock, long nowNanos) {
        lastAsked.values().removeIf(asked -> nowNanos - asked >= intervalNanos);
        if (lastAsked.containsKey(lock)) {
            return false;
        }
        lastAsked.put(lock, nowNanos);
        return true;
    }
}
