package io.distlock.core;

/**
 * What the core counts, for {@link LockServiceMetrics}. The default counts nothing, so the
 * core runs without Micrometer on the class path.
 */
interface Telemetry {

    Telemetry NONE = new Telemetry() { };

    /**
     * A RETRY was pushed to a session's listener; the release happened at
     * {@code releasedAtMicros} on the Redis clock, or -1 if unknown.
     */
    default void retryPushed(long releasedAtMicros) { }

    /** A queued request's grant was pushed to a session's listener. */
    default void grantedPushed() { }

    /** A LOST was pushed to a session's listener. */
    default void lostPushed() { }

    /** A lease renewal answered: {@code stillHeld} false means Redis no longer held the lock for the session. */
    default void leaseRenewed(boolean stillHeld) { }

    /** A lease renewal got no answer from Redis. */
    default void leaseRenewalFailed() { }
}
