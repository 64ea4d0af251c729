package io.distlock.core;

import static java.util.Objects.requireNonNull;

/**
 * An operation was refused and changed nothing.
 *
 * @param reason  the machine-readable reason
 * @param message the reason for people; never contains internal details
 */
public record Refused(Refusal reason, String message)
        implements LockResult, MultiLockResult, UnlockResult, CancelResult, ResumeResult {

    public Refused {
        requireNonNull(reason, "reason");
        requireNonNull(message, "message");
    }
}
