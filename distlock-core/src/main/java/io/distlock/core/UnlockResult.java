package io.distlock.core;

/** The answer to {@link LockSession#unlock(String)} and {@link LockSession#unlockAll(java.util.Collection)}. */
public sealed interface UnlockResult permits UnlockResult.Unlocked, Refused {

    /** The result of a successful unlock. */
    UnlockResult UNLOCKED = new Unlocked();

    /** The locks were released; waiters everywhere are told. */
    record Unlocked() implements UnlockResult { }
}
