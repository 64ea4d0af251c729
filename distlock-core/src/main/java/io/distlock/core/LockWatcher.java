package io.distlock.core;

/**
 * Told when a watched lock's holders or queue change ({@link LockService#watch}).
 *
 * <p>Calls for one watcher are made one at a time, in the order Redis saw the changes, never
 * before the answer of the watch that asked for them. Changes that follow each other quickly may
 * be told as one (the last state always comes). The same rules as for {@link LockListener}
 * apply: never block here.
 */
@FunctionalInterface
public interface LockWatcher {

    /** {@code lock}'s holders or queue are now {@code state}. */
    void changed(String lock, LockState state);
}
