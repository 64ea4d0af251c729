package io.distlock.core;

/**
 * Why a session lost a lock ({@link LockListener#lost(String, long, LossCause)}); protocol version 2
 * carries it as the {@code reason} of {@code LOST}.
 */
public enum LossCause {

    /**
     * Its lease could not be proven in time: Redis did not answer the renewals for two thirds of
     * the lease, or did not answer an unlock (which may or may not have released it).
     */
    LEASE("lease"),

    /**
     * Redis no longer had it as this session's: its lease ran out there, Redis lost it (a
     * restart, a failover), or another session holds it now.
     */
    TAKEN("taken"),

    /** Another session took it over ({@link LockOptions#stealing()}). */
    STOLEN("stolen");

    private final String reason;

    LossCause(String reason) {
        this.reason = reason;
    }

    /** The word version 2 of the protocol sends as {@code reason}. */
    public String reason() {
        return reason;
    }
}
