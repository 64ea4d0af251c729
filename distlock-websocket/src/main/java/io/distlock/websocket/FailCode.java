package io.distlock.websocket;

/** The protocol's {@code code} values on a {@code FAIL} reply. */
enum FailCode {
    BAD_REQUEST,
    UNKNOWN_ACTION,
    NOT_CONNECTED,
    ALREADY_CONNECTED,
    BAD_NAME,
    NOT_OWNER,
    TOO_MANY_LOCKS,
    RATE_LIMITED,
    UNAUTHORIZED,
    BACKEND_UNAVAILABLE,
    INTERNAL
}
