package io.distlock.core;

/** Why a session operation was refused. A refused operation changed nothing. */
public enum Refusal {
    /** A lock name is empty, too long, or contains control characters. */
    BAD_NAME,
    /** The lock (or one of the locks) is not held by this session. */
    NOT_OWNER,
    /** The session would hold more locks than allowed, or one request names too many. */
    TOO_MANY_LOCKS,
    /** The session was closed. */
    SESSION_CLOSED
}
