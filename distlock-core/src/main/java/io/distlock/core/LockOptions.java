package io.distlock.core;

import java.time.Duration;
import java.util.Objects;

/**
 * How {@link LockSession#lock(String, LockOptions)} asks for a lock: in which {@link LockMode},
 * and whether to join the lock's queue if it cannot be granted now.
 *
 * <p>{@link #DEFAULT} asks as version 1 does: exclusive, answered now. With {@link #queue()}
 * an answer that would be {@link LockResult.Waiting} is {@link LockResult.Queued} instead, and
 * the grant comes later as {@link LockListener#granted}; with a {@link #timeout(Duration)} as
 * well, the session leaves the queue after that long ({@link LockListener#cancelled}).
 *
 * @param mode    exclusive or shared
 * @param queued  whether to queue if the lock cannot be granted now
 * @param timeout how long to stay queued; {@code null} for as long as it takes
 */
public record LockOptions(LockMode mode, boolean queued, Duration timeout) {

    /** The longest queue timeout: one hour. */
    public static final Duration MAX_TIMEOUT = Duration.ofHours(1);

    /** Exclusive, answered now: the meaning of a version 1 {@code lock}. */
    public static final LockOptions DEFAULT = new LockOptions(LockMode.EXCLUSIVE, false, null);

    /**
     * @throws IllegalArgumentException if a timeout is given without queueing, or is not between
     *                                  1 ms and {@link #MAX_TIMEOUT}
     */
    public LockOptions {
        Objects.requireNonNull(mode, "mode");
        if (timeout != null) {
            if (!queued) {
                throw new IllegalArgumentException("a timeout needs queue(): only a queued request can time out");
            }
            if (timeout.toMillis() < 1 || timeout.compareTo(MAX_TIMEOUT) > 0) {
                throw new IllegalArgumentException("timeout must be between 1 ms and 1 hour, was " + timeout.toMillis() + " ms");
            }
        }
    }

    /** Shared, answered now. */
    public static LockOptions shared() {
        return DEFAULT.mode(LockMode.SHARED);
    }

    /** Exclusive, answered now. */
    public static LockOptions exclusive() {
        return DEFAULT;
    }

    public LockOptions mode(LockMode mode) {
        return new LockOptions(mode, queued, timeout);
    }

    /** The same, but queued if it cannot be granted now. */
    public LockOptions queue() {
        return new LockOptions(mode, true, timeout);
    }

    /** The same, queued, leaving the queue after {@code timeout}. */
    public LockOptions timeout(Duration timeout) {
        return new LockOptions(mode, true, Objects.requireNonNull(timeout, "timeout"));
    }
}
