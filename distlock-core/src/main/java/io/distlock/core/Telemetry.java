package io.distlock.core;

import java.util.List;
import java.util.function.Consumer;

/**
 * What the core counts, for {@link LockServiceMetrics}. The default counts nothing, so the
 * core runs without Micrometer on the class path.
 */
interface Telemetry {

    Telemetry NONE = new Telemetry() { };

    /**
     * Counts with each of {@code all} (one binder bound to several registries moves every one's
     * meters). A meter that throws (an application's registry may) is logged to {@code threw} and
     * stops nothing: counting runs inside lease renewal and pushes, and a LOST must still be told.
     */
    static Telemetry all(List<Telemetry> all, CountedWarning threw) {
        return new Telemetry() {
            private void each(Consumer<Telemetry> count) {
                for (Telemetry t : all) {
                    try {
                        count.accept(t);
                    } catch (RuntimeException | Error e) { // an Error too: it would keep a LOST from being told
                        threw.happened(e);
                    }
                }
            }

            @Override
            public void retryPushed(long releasedAtMicros) {
                each(t -> t.retryPushed(releasedAtMicros));
            }

            @Override
            public void grantedPushed() {
                each(Telemetry::grantedPushed);
            }

            @Override
            public void lostPushed() {
                each(Telemetry::lostPushed);
            }

            @Override
            public void leaseRenewed(boolean stillHeld) {
                each(t -> t.leaseRenewed(stillHeld));
            }

            @Override
            public void leaseRenewalFailed() {
                each(Telemetry::leaseRenewalFailed);
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
