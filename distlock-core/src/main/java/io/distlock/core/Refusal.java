package io.distlock.core;

/** Why a session operation was refused. A refused operation changed nothing. */
public enum Refusal {
    /** A lock name is empty, too long, or contains control characters. */
    BAD_NAME,
    /** The lock (or one of the locks) is not held by this session. */
    NOT_OWNER,
    /** The session would hold (or queue for) more locks than allowed, one request names too many, or a lock's queue is full. */
    TOO_MANY_LOCKS,
    /** The session was closed. */
    SESSION_CLOSED,
    /** The session is not queued for the lock it asked to leave the queue of. */
    NOT_QUEUED,
    /**
     * The session holds the lock shared and asked for it exclusive: a grant is never upgraded
     * (two shared holders upgrading would wait for each other). Unlock it, then ask again.
     * The protocol answers it as {@code BAD_REQUEST}.
     */
    HELD_SHARED,
    /**
     * A resume found no session to resume: unknown id, wrong secret, or its grace is over (one
     * answer for all three, so a guess learns nothing).
     */
    SESSION_EXPIRED
}
