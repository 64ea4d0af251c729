package io.distlock.websocket;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import io.distlock.core.LockWatch;

/**
 * What one connection's session watches ({@code watch}, {@code unwatch}): one {@link LockWatch}
 * of the lock service, opened at the first watch (a connection that never watches costs
 * nothing) and closed when the session leaves the connection; and the names and prefixes
 * counted against the limits. Watches belong to the connection, not to the session: a resumed
 * session starts with none, on any node.
 *
 * <p>A watch is counted ({@link #reserve}) when its request is served, before the lock service
 * answers, so that requests in flight cannot pass the limits together; one that fails is
 * uncounted again ({@link #settled}), but for what another watch answered OK, or still in
 * flight, asked for too. What is counted here is what the client asked for: only
 * changes of those locks are pushed ({@link #wants}), whatever the lock service still tells. An
 * {@code unwatch} of a name (or prefix) whose watch the lock service has not answered yet is
 * passed on when it answers: the lock service would otherwise fail that watch.
 *
 * <p>Thread-safe: requests are served on the container's thread, answered and told changes on
 * the lock service's. Unwatches reach the lock service under this object's lock (the lock
 * service never calls back into it under its own).
 */
final class Watching {

    /** Lock names or prefixes: which are watched, and how many watches of each the lock service has not answered. */
    private static final class Watched {
        final int max;
        /** Written under the Watching's lock; read without it by {@link #wants}. */
        final Set<String> watched = ConcurrentHashMap.newKeySet();
        final Map<String, Integer> inFlight = new HashMap<>();
        /**
         * Of {@link #watched}, those a watch succeeded for since they were last unwatched: a watch of
         * them that fails leaves them watched (its client had an OK for them from the other).
         */
        final Set<String> confirmed = new HashSet<>();
        /**
         * Of the keys with a watch in flight, those unwatched since: the connection's count of
         * unwatches just after the last one of each. A watch reserved before it ({@link
         * Reservation#unwatchesBefore} lower) that succeeds confirms nothing: the client's reply
         * to the unwatch came after that watch's OK.
         */
        final Map<String, Long> unwatchedAt = new HashMap<>();

        Watched(int max) {
            this.max = max;
        }

        /** Of {@code keys}, those no longer watched and with no watch in flight: to unwatch in the lock service. */
        List<String> idle(Collection<String> keys) {
            List<String> idle = new ArrayList<>();
            for (String key : keys) {
                if (!watched.contains(key) && !inFlight.containsKey(key) && !idle.contains(key)) {
                    idle.add(key);
                }
            }
            return idle;
        }
    }

    /**
     * A watch {@linkplain #reserve reserved}: its keys (lock names, or one prefix), those it added
     * (not watched before), and how many unwatches the connection had made when it was reserved.
     */
    record Reservation(List<String> keys, boolean prefix, List<String> added, long unwatchesBefore) { }

    private final Supplier<LockWatch> opener;
    // All guarded by this.
    private LockWatch watch;
    /** Unwatches made, of names or prefixes: orders a reservation against the unwatches of its keys. */
    private long unwatches;
    private final Watched names;
    private final Watched prefixes;
    private boolean closed;

    /**
     * {@code opener} opens the lock service's watch, told to push this connection's {@code CHANGED}s;
     * at most {@code maxNames} lock names and {@code maxPrefixes} prefixes are watched.
     */
    Watching(Supplier<LockWatch> opener, int maxNames, int maxPrefixes) {
        this.names = new Watched(maxNames);
        this.prefixes = new Watched(maxPrefixes);
        this.opener = opener;
    }

    /**
     * The lock service's watch, opened now if this is the first; null once closed.
     *
     * @throws IllegalStateException if the lock service is closed
     */
    synchronized LockWatch watch() {
        if (closed) {
            return null;
        }
        if (watch == null) {
            watch = opener.get();
        }
        return watch;
    }

    /**
     * Counts {@code keys} (lock names, or one prefix) as watched, about to be asked of the lock
     * service, to be {@link #settled} when it answers; returns the reservation, whose {@code added}
     * are the keys that were not watched yet, or null if that would pass the limit (see the
     * constructor): then nothing changed.
     */
    synchronized Reservation reserve(Collection<String> keys, boolean prefix) {
        Watched w = prefix ? prefixes : names;
        List<String> added = new ArrayList<>();
        for (String key : keys) {
            if (!w.watched.contains(key) && !added.contains(key)) {
                added.add(key);
            }
        }
        if (w.watched.size() + added.size() > w.max) {
            return null;
        }
        w.watched.addAll(added);
        keys.forEach(key -> w.inFlight.merge(key, 1, Integer::sum));
        return new Reservation(List.copyOf(keys), prefix, List.copyOf(added), unwatches);
    }

    /**
     * The lock service answered the watch {@code reserved}: those of its keys that no watch
     * succeeded for, nor has in flight, are not watched. A success counts for a key only if the key
     * was not unwatched after this watch was reserved (the client had its OK before the unwatch's).
     * Whatever was unwatched meanwhile is unwatched in the lock service now.
     */
    synchronized void settled(Reservation reserved, boolean failed) {
        boolean prefix = reserved.prefix();
        List<String> keys = reserved.keys();
        Watched w = prefix ? prefixes : names;
        keys.forEach(key -> w.inFlight.computeIfPresent(key, (k, n) -> n > 1 ? n - 1 : null));
        for (String key : keys) {
            // An OK counts not if its key was unwatched meanwhile, nor if watched again since: then
            // the watches reserved after the unwatch decide.
            if (!failed && w.watched.contains(key) && w.unwatchedAt.getOrDefault(key, Long.MIN_VALUE) <= reserved.unwatchesBefore()) {
                w.confirmed.add(key);
            }
            if (!w.confirmed.contains(key) && !w.inFlight.containsKey(key)) {
                // Every watch of it since its last unwatch failed (or none counts). Not just the keys
                // this watch added: a later watch of a key in flight with it added nothing, and its
                // OK (or failure, if it failed too) depends on what is kept here.
                w.watched.remove(key);
            }
            if (!w.inFlight.containsKey(key)) {
                w.unwatchedAt.remove(key); // no watch reserved before its last unwatch is left
            }
        }
        unwatchInService(w.idle(keys), prefix);
    }

    /** Stops watching {@code keys} (lock names, or one prefix); a prefix that matches a name, or a name a prefix matches, goes on. */
    synchronized void unwatch(Collection<String> keys, boolean prefix) {
        Watched w = prefix ? prefixes : names;
        w.watched.removeAll(keys);
        w.confirmed.removeAll(keys);
        unwatches++;
        for (String key : keys) {
            if (w.inFlight.containsKey(key)) {
                w.unwatchedAt.put(key, unwatches);
            }
        }
        unwatchInService(w.idle(keys), prefix);
    }

    /**
     * Passes an unwatch of {@code idle} on to the lock service, under this lock: a watch of the
     * same key reserved on another thread after {@code idle} was decided must reach the lock
     * service after it, or the lock service's unwatch would fail that new watch as unwatched
     * before it began. Nothing of this connection is watched in flight for an idle key, so the
     * lock service completes nothing here.
     */
    private void unwatchInService(List<String> idle, boolean prefix) {
        assert Thread.holdsLock(this);
        if (watch == null || idle.isEmpty()) {
            return;
        }
        if (prefix) {
            idle.forEach(watch::unwatchPrefix);
        } else {
            watch.unwatch(idle);
        }
    }

    /**
     * Whether a change of {@code lock} is wanted: it is watched by name or by a prefix. Takes no
     * lock, so that a push waiting behind the reply to an {@code unwatch} can ask it again when its
     * turn comes (under the outbound queue's lock).
     */
    boolean wants(String lock) {
        if (names.watched.contains(lock)) {
            return true;
        }
        for (String prefix : prefixes.watched) {
            if (lock.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /** Stops every watch; later ones find no {@link #watch()}. Idempotent. */
    void close() {
        LockWatch toClose;
        synchronized (this) {
            closed = true;
            toClose = watch;
            watch = null;
            names.watched.clear();
            prefixes.watched.clear();
            names.confirmed.clear();
            prefixes.confirmed.clear();
        }
        if (toClose != null) {
            toClose.close();
        }
    }
}
