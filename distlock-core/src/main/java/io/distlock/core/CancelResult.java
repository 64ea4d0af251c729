package io.distlock.core;

/** The answer to {@link LockSession#cancel(String)}: {@link #CANCELLED} or {@link Refused}. */
public sealed interface CancelResult permits CancelResult.Cancelled, Refused {

    /** The result of a successful cancel. */
    CancelResult CANCELLED = new Cancelled();

    /** The session left the lock's queue; it will not be granted the lock for that request. */
    record Cancelled() implements CancelResult { }
}
