package io.distlock.core;

import java.time.Duration;
import java.util.Objects;

/**
 * How {@link LockSession#lock(String, LockOptions)} asks for a lock: in which {@link LockMode},
 * and whether to join the lock's queue if it cannot be granted now, or to take it over.
 *
 * <p>{@link #DEFAULT} asks as version 1 does: exclusive, answered now. With {@link #queue()}
 * an answer that would be {@link LockResult.Waiting} is {@link LockResult.Queued} instead, and
 * the grant comes later as {@link LockListener#granted}; with a {@link #timeout(Duration)} as
 * well, the session leaves the queue after that long ({@link LockListener#cancelled}); with
 * {@link #asking()} as well, the holders are told that someone waits ({@link LockListener#asked}).
 * With {@link #stealing()} the lock is taken at once whoever holds it; every holder is told
 * {@link LockListener#stolen}.
 *
 * @param mode    exclusive or shared
 * @param queued  whether to queue if the lock cannot be granted now
 * @param timeout how long to stay queued; {@code null} for as long as it takes
 * @param steal   take the lock now from whoever holds it (never queues)
 * @param ask     tell the holders that this session queues for the lock (only when queued)
 */
public record LockOptions(LockMode mode, boolean queued, Duration timeout, boolean steal, boolean ask) {

    /** The longest queue timeout: one hour. */
    public static final Duration MAX_TIMEOUT = Duration.ofHours(1);

    /** Exclusive, answered now: the meaning of a version 1 {@code lock}. */
    public static final LockOptions DEFAULT = new LockOptions(LockMode.EXCLUSIVE, false, null);

    /**
     * @throws IllegalArgumentException if a timeout or an ask is given without queueing, a steal
     *                                  with queueing, or a timeout is not between 1 ms and
     *                                  {@link #MAX_TIMEOUT}
     */
    public LockOptions {
        Objects.requireNonNull(mode, "mode");
        if (timeout != null) {
            if (!queued) {
                throw new IllegalArgumentException("a timeout needs queue(): only a queued request can time out");
            }
            if (timeout.compareTo(Duration.ofMillis(1)) < 0 || timeout.compareTo(MAX_TIMEOUT) > 0) {
                throw new IllegalArgumentException("timeout must be between 1 ms and 1 hour, was " + LockConfig.Builder.millis(timeout));
            }
        }
        if (ask && !queued) {
            throw new IllegalArgumentException("an ask needs queue(): only a queued request asks the holders");
        }
        if (steal && queued) {
            throw new IllegalArgumentException("a steal never queues: it takes the lock now");
        }
    }

    /** Neither stealing nor asking. */
    public LockOptions(LockMode mode, boolean queued, Duration timeout) {
        this(mode, queued, timeout, false, false);
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
        return new LockOptions(mode, queued, timeout, steal, ask);
    }

    /** The same, but queued if it cannot be granted now. */
    public LockOptions queue() {
        return new LockOptions(mode, true, timeout, steal, ask);
    }

    /** The same, queued, leaving the queue after {@code timeout}. */
    public LockOptions timeout(Duration timeout) {
        return new LockOptions(mode, true, Objects.requireNonNull(timeout, "timeout"), steal, ask);
    }

    /** The same, queued, and the holders are told who waits ({@link LockListener#asked}). */
    public LockOptions asking() {
        return new LockOptions(mode, true, timeout, steal, true);
    }

    /** The same, but taken now from whoever holds it: a new token, and every holder is told {@link LockListener#stolen}. */
    public LockOptions stealing() {
        return new LockOptions(mode, queued, timeout, true, ask);
    }
}
