package io.distlock.core;

/**
 * Why a queued request left the queue without a grant ({@link LockListener#cancelled}); the
 * protocol carries it as the {@code reason} of {@code CANCELLED}.
 */
public enum CancelReason {

    /** The request's {@link LockOptions#timeout()} ran out. */
    TIMEOUT("timeout"),

    /**
     * The place could not be kept: Redis no longer had it (a restart, a failover), or this node
     * could not renew it for two thirds of the lease, or its grant reached this node only after
     * that (then the grant is given back, never told). Ask again to queue anew, at the back.
     */
    BACKEND("backend");

    private final String reason;

    CancelReason(String reason) {
        this.reason = reason;
    }

    /** The word the protocol sends as {@code reason}. */
    public String reason() {
        return reason;
    }
}
