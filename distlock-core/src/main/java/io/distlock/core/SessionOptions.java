package io.distlock.core;

import java.time.Duration;
import java.util.Objects;

/**
 * How a session is opened ({@link LockService#openSession(String, LockListener, SessionOptions)}).
 *
 * @param grace how long the session outlives a {@link LockSession#detach()} (a dropped connection)
 *              and can be resumed ({@link LockService#resume}); zero: detaching closes it. Zero or at
 *              least 1 ms; at most {@link LockConfig#maxGrace()}, checked when the session is opened
 * @param info  shown to others with the session's name; opaque to the core (the endpoint keeps JSON
 *              of at most 512 bytes there), or {@code null}
 */
public record SessionOptions(Duration grace, String info) {

    /** No grace, no info: the session ends with its connection. */
    public static final SessionOptions DEFAULT = new SessionOptions(Duration.ZERO, null);

    public SessionOptions {
        Objects.requireNonNull(grace, "grace");
        if (grace.isNegative()) {
            throw new IllegalArgumentException("grace must not be negative, was " + grace);
        }
        if (!grace.isZero() && grace.compareTo(Duration.ofMillis(1)) < 0) {
            // The session counts its grace in whole ms: less would open it resumable with a grace of zero.
            throw new IllegalArgumentException("grace must be 0 (not resumable) or at least 1 ms, was " + grace);
        }
    }
}
