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

    private final Supplier<LockWatch> opener;
    // All guarded by this.
    private LockWatch watch;
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
     * service, to be {@link #settled} when it answers; returns those that were not watched yet, or
     * null if that would pass the limit (see the constructor): then nothing changed.
     */
    synchronized List<String> reserve(Collection<String> keys, boolean prefix) {
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
        return added;
    }

    /**
     * The lock service answered the watch of {@code keys} {@linkplain #reserve reserved}: if it
     * {@code failed}, those of its keys that no other watch succeeded for, nor has in flight, are
     * not watched. Whatever was unwatched meanwhile is unwatched in the lock service now.
     */
    synchronized void settled(Collection<String> keys, boolean prefix, boolean failed) {
        Watched w = prefix ? prefixes : names;
        keys.forEach(key -> w.inFlight.computeIfPresent(key, (k, n) -> n > 1 ? n - 1 : null));
        for (String key : keys) {
            if (!failed) {
                if (w.watched.contains(key)) { // not if unwatched meanwhile
                    w.confirmed.add(key);
                }
            } else if (!w.confirmed.contains(key) && !w.inFlight.containsKey(key)) {
                // Not just the keys this watch added: a later watch of a key in flight with it added
                // nothing, and its OK (or failure, if it failed too) depends on what is kept here.
                w.watched.remove(key);
            }
        }
        unwatchInService(w.idle(keys), prefix);
    }

    /** Stops watching {@code keys} (lock names, or one prefix); a prefix that matches a name, or a name a prefix matches, goes on. */
    synchronized void unwatch(Collection<String> keys, boolean prefix) {
        Watched w = prefix ? prefixes : names;
        w.watched.removeAll(keys);
        w.confirmed.removeAll(keys);
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
