package io.distlock.core;

import java.util.List;

/**
 * What the core counts, for {@link LockServiceMetrics}. The default counts nothing, so the
 * core runs without Micrometer on the class path.
 */
interface Telemetry {

    Telemetry NONE = new Telemetry() { };

    /** Counts with each of {@code all}: one binder bound to several registries moves every one's meters. */
    static Telemetry all(List<Telemetry> all) {
        if (all.size() == 1) {
            return all.get(0);
        }
        return new Telemetry() {
            @Override
            public void retryPushed(long releasedAtMicros) {
                all.forEach(t -> t.retryPushed(releasedAtMicros));
            }

            @Override
            public void grantedPushed() {
                all.forEach(Telemetry::grantedPushed);
            }

            @Override
            public void lostPushed() {
                all.forEach(Telemetry::lostPushed);
            }

            @Override
            public void leaseRenewed(boolean stillHeld) {
                all.forEach(t -> t.leaseRenewed(stillHeld));
            }

            @Override
            public void leaseRenewalFailed() {
                all.forEach(Telemetry::leaseRenewalFailed);
            }
        };
    }

    /**
     * A RETRY was pushed to a session's listener; the release happened at
     * {@code releasedAtMicros} on the Redis clock, or -1 if unknown.
     */
    default void retryPushed(long releasedAtMicros) { }

    /** A queued request's grant was pushed to a session's listener. */
    default void grantedPushed() { }

    /** A LOST was pushed to a session's listener. */
    default void lostPushed() { }

    /**
     * A lease renewal answered: {@code stillHeld} false means Redis no longer held the lock for the
     * session (taken or stolen) and the session was told so; a refusal for a lock the session was
     * unlocking meanwhile, or had given up already, is not reported.
     */
    default void leaseRenewed(boolean stillHeld) { }

    /** A lease renewal got no answer from Redis, or its batch could not be sent. */
    default void leaseRenewalFailed() { }
}
