package io.distlock.websocket;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import io.distlock.core.LockWatch;

/**
 * What one connection's session watches ({@code watch}, {@code unwatch}): one {@link LockWatch}
 * of the lock service, opened at the first watch (a connection that never watches costs
 * nothing) and closed when the session leaves the connection; and the names and prefixes
 * counted against the limits. Watches belong to the connection, not to the session: a resumed
 * session starts with none, on any node.
 *
 * <p>A watch is counted ({@link #reserve}, {@link #reservePrefix}) when its request is served,
 * before the lock service answers, so that requests in flight cannot pass the limits together;
 * one that fails is uncounted again. Thread-safe: requests are served on the container's thread,
 * answered on the lock service's.
 */
final class Watching {

    /** Lock names one connection may watch by name. */
    static final int MAX_NAMES = 1000;
    /** Prefixes one connection may watch. */
    static final int MAX_PREFIXES = 16;

    private final Supplier<LockWatch> opener;
    // All guarded by this.
    private LockWatch watch;
    private final Set<String> names = new HashSet<>();
    private final Set<String> prefixes = new HashSet<>();
    private boolean closed;

    /** {@code opener} opens the lock service's watch, told to push this connection's {@code CHANGED}s. */
    Watching(Supplier<LockWatch> opener) {
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
     * Counts {@code locks} as watched by name; returns those that were not yet (to {@link #release}
     * if the watch fails), or null if that would pass {@link #MAX_NAMES}: then nothing changed.
     */
    synchronized List<String> reserve(Collection<String> locks) {
        List<String> added = new ArrayList<>();
        for (String lock : locks) {
            if (!names.contains(lock) && !added.contains(lock)) {
                added.add(lock);
            }
        }
        if (names.size() + added.size() > MAX_NAMES) {
            return null;
        }
        names.addAll(added);
        return added;
    }

    /** Uncounts {@code locks}: their watch failed. */
    synchronized void release(Collection<String> locks) {
        names.removeAll(locks);
    }

    /** Stops watching {@code locks} by name (a prefix that matches them goes on). */
    void unwatch(Collection<String> locks) {
        LockWatch current;
        synchronized (this) {
            names.removeAll(locks);
            current = watch;
        }
        if (current != null) {
            current.unwatch(locks);
        }
    }

    /** Stops watching by {@code prefix}. */
    void unwatchPrefix(String prefix) {
        LockWatch current;
        synchronized (this) {
            prefixes.remove(prefix);
            current = watch;
        }
        if (current != null) {
            current.unwatchPrefix(prefix);
        }
    }

    /**
     * Counts {@code prefix} as watched, as {@link #reserve} counts names: returns it in a list if
     * it was not yet watched, an empty list if it was, null if that would pass
     * {@link #MAX_PREFIXES}.
     */
    synchronized List<String> reservePrefix(String prefix) {
        if (prefixes.contains(prefix)) {
            return List.of();
        }
        if (prefixes.size() >= MAX_PREFIXES) {
            return null;
        }
        prefixes.add(prefix);
        return List.of(prefix);
    }

    synchronized void releasePrefixes(Collection<String> released) {
        prefixes.removeAll(released);
    }

    /** Stops every watch; later ones find no {@link #watch()}. Idempotent. */
    void close() {
        LockWatch toClose;
        synchronized (this) {
            closed = true;
            toClose = watch;
            watch = null;
            names.clear();
            prefixes.clear();
        }
        if (toClose != null) {
            toClose.close();
        }
    }
}
