package io.distlock.websocket;

import java.util.HashMap;
import java.util.Map;

/**
 * At most one {@code ask} per session and lock per interval, on one node: an ask pushes
 * {@code ASKED} to every holder, so a client that repeats it would nag them. One per node, not
 * per connection, so that a session resumed on the same node keeps its pace; and one per
 * connection too, so that a new session on the same connection ({@code close}, {@code connect})
 * does not start it afresh (a probe did so: 385 {@code ASKED} a second to one holder from 16
 * connections). What is kept is one entry per session and lock, and per connection and lock, asked for recently; expired entries are dropped whenever the map has
 * doubled since the last sweep, so the work per ask stays constant on average. Time is passed in
 * (the endpoint's ticker), so tests stand on the boundary instead of sleeping.
 */
final class AskLimiter {

    private static final int FIRST_SWEEP = 1024;

    /** {@code asker}: a session, or a connection; {@code bySession} keeps their ids apart. */
    private record Key(boolean bySession, String asker, String lock) { }

    private final long intervalNanos;
    private final Map<Key, Long> lastAsked = new HashMap<>(); // guarded by this
    private int sweepAt = FIRST_SWEEP; // guarded by this

    AskLimiter(long intervalNanos) {
        this.intervalNanos = intervalNanos;
    }

    /**
     * Whether {@code session}, on {@code connection}, may ask for {@code lock} at {@code nowNanos};
     * if so, that ask counts from now for both.
     */
    synchronized boolean tryAsk(String session, String connection, String lock, long nowNanos) {
        if (lastAsked.size() >= sweepAt) {
            lastAsked.values().removeIf(asked -> nowNanos - asked >= intervalNanos);
            sweepAt = Math.max(FIRST_SWEEP, 2 * lastAsked.size());
        }
        Key bySession = new Key(true, session, lock);
        Key byConnection = new Key(false, connection, lock);
        if (recent(bySession, nowNanos) || recent(byConnection, nowNanos)) {
            return false;
        }
        lastAsked.put(bySession, nowNanos);
        lastAsked.put(byConnection, nowNanos);
        return true;
    }

    /**
     * Gives back the ask {@code tryAsk} allowed at {@code askedNanos}, which asked nobody (it was
     * granted at once, or refused before it could queue): it must not hold up the next one. An
     * entry of a later ask stays.
     */
    synchronized void giveBack(String session, String connection, String lock, long askedNanos) {
        lastAsked.remove(new Key(true, session, lock), askedNanos);
        lastAsked.remove(new Key(false, connection, lock), askedNanos);
    }

    private boolean recent(Key key, long nowNanos) {
        Long asked = lastAsked.get(key);
        return asked != null && nowNanos - asked < intervalNanos;
    }

    /** Entries kept (for tests). */
    synchronized int size() {
        return lastAsked.size();
    }
}
