package io.distlock.websocket;

/**
 * The protocol's {@code status} values: those a reply carries and those of a push. The wire
 * form is the constant's name. {@link #QUEUED}, {@link #GRANTED}, {@link #CANCELLED},
 * {@link #ASKED} and {@link #CHANGED} exist in protocol version 2 only: a version 1 session is
 * never sent them.
 */
enum Status {
    /** connect, close, unlock, munlock and, in version 2, cancel, ping, resume, query, watch, unwatch succeeded. */
    OK(false),
    /** The lock (or every lock of an mlock) is held by this session. */
    LOCKED(false),
    /** Held by another session; one {@link #RETRY} will follow when it is free. */
    WAIT(false),
    /** Version 2: the request waits in the lock's queue; {@link #GRANTED} or {@link #CANCELLED} follows. */
    QUEUED(false),
    /** Push: a lock this session was told to {@link #WAIT} for became free. */
    RETRY(true),
    /** Push: a lock this session held can no longer be guaranteed. */
    LOST(true),
    /** Push, version 2: a {@link #QUEUED} request was granted; the session holds the lock. */
    GRANTED(true),
    /** Push, version 2: a {@link #QUEUED} request left the queue without a grant. */
    CANCELLED(true),
    /** Push, version 2: another session queues for a lock this session holds, and asks for it. */
    ASKED(true),
    /** Push, version 2: a watched lock's holders or queue changed. */
    CHANGED(true),
    /** The request was refused; the reply's {@code code} is a {@link FailCode}. */
    FAIL(false);

    private final boolean push;

    Status(boolean push) {
        this.push = push;
    }

    /** Whether this status is sent unasked ({@code RETRY}, {@code LOST}, {@code GRANTED}, {@code CANCELLED}, {@code ASKED}, {@code CHANGED}) rather than as a reply. */
    boolean isPush() {
        return push;
    }
}
