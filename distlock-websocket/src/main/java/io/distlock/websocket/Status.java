package io.distlock.websocket;

/**
 * The protocol's {@code status} values: the four a reply carries and the two of a push. The
 * wire form is the constant's name.
 */
enum Status {
    /** connect, close, unlock, munlock succeeded. */
    OK(false),
    /** The lock (or every lock of an mlock) is held by this session. */
    LOCKED(false),
    /** Held by another session; one {@link #RETRY} will follow when it is free. */
    WAIT(false),
    /** Push: a lock this session was told to {@link #WAIT} for became free. */
    RETRY(true),
    /** Push: a lock this session held can no longer be guaranteed. */
    LOST(true),
    /** The request was refused; the reply's {@code code} is a {@link FailCode}. */
    FAIL(false);

    private final boolean push;

    Status(boolean push) {
        this.push = push;
    }

    /** Whether this status is sent unasked ({@code RETRY}, {@code LOST}) rather than as a reply. */
    boolean isPush() {
        return push;
    }
}
