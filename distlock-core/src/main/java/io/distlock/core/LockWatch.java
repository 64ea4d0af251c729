package io.distlock.core;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The locks one {@link LockWatcher} watches, by name or by prefix ({@link LockService#watch}).
 * Every change of holders or queue is published on one channel (one {@code PUBLISH} per change,
 * none with {@link LockConfig#watching()} off), which only nodes with a watch listen to; a node
 * reads the state of a changed lock once for all its watchers of that lock. A watch belongs to
 * this node: it is not part of a session, and does not follow a resumed session to another node.
 */
public interface LockWatch extends AutoCloseable {

    /**
     * Watches {@code locks} too: completes with their state now, after which every change is told
     * to the watcher. Completes exceptionally with {@link IllegalArgumentException} for an
     * unacceptable name (nothing is watched then), {@link BackendUnavailableException} if Redis
     * cannot be reached, {@link IllegalStateException} if one of them is unwatched, or the watch
     * closed, before it is answered (none of them is watched then).
     */
    CompletionStage<Map<String, LockState>> watch(Collection<String> locks);

    /**
     * Watches every lock whose name starts with {@code prefix} (case-sensitive): from when the
     * stage completes, each change of such a lock is told to the watcher. No state is read now.
     * Completes exceptionally with {@link IllegalStateException} if the prefix is unwatched, or the
     * watch closed, before it is answered (it is not watched then).
     *
     * @throws IllegalArgumentException if the prefix breaks the rules of lock names (empty, too
     *         long, a control character, an unpaired surrogate)
     */
    CompletionStage<Void> watchPrefix(String prefix);

    /** Stops watching {@code locks} (by name; a prefix watch that matches them goes on). */
    void unwatch(Collection<String> locks);

    /** Stops watching by {@code prefix}. */
    void unwatchPrefix(String prefix);

    /** Stops every watch of this watcher; idempotent. */
    @Override
    void close();
}
