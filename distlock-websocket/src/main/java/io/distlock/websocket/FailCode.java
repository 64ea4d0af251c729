package io.distlock.websocket;

/** The protocol's {@code code} values on a {@code FAIL} reply. {@link #NOT_QUEUED} is version 2's. */
enum FailCode {
    BAD_REQUEST,
    UNKNOWN_ACTION,
    NOT_CONNECTED,
    ALREADY_CONNECTED,
    BAD_NAME,
    NOT_OWNER,
    /** Version 2: {@code cancel} of a lock the session does not queue for. */
    NOT_QUEUED,
    /** Version 2: {@code resume} of an unknown session, with a wrong secret, or after its grace (one answer for all). */
    SESSION_EXPIRED,
    TOO_MANY_LOCKS,
    RATE_LIMITED,
    UNAUTHORIZED,
    BACKEND_UNAVAILABLE,
    INTERNAL
}
