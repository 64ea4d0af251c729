package io.distlock.core;

import static java.util.Objects.requireNonNull;

/**
 * The answer to {@link LockSession#lock(String)}: {@link Locked}, {@link Waiting} or {@link Refused};
 * to a queued {@link LockSession#lock(String, LockOptions)} also {@link Queued}.
 */
public sealed interface LockResult permits LockResult.Locked, LockResult.Waiting, LockResult.Queued, Refused {

    /**
     * The session holds the lock.
     *
     * @param token the fencing token of this grant: greater than every earlier grant's token
     *              for the same lock name
     */
    record Locked(long token) implements LockResult { }

    /**
     * Another session holds the lock. This session will be told
     * {@link LockListener#retry(String)} once, the next time the lock becomes free.
     *
     * @param holder the name of the holding session, or {@link #RECOVERING} if no session holds
     *               it but Redis may have lost data and grants wait until every earlier holder
     *               has been told {@code LOST} (see {@link LockConfig#dataLossQuarantine()})
     */
    record Waiting(String holder) implements LockResult {

        /**
         * The holder named while grants wait out the quarantine after a possible loss of Redis
         * data. A session may be named so too: the holder is only a label.
         */
        public static final String RECOVERING = "(recovering)";

        public Waiting {
            requireNonNull(holder, "holder");
        }
    }

    /**
     * The request waits in the lock's queue; {@link LockListener#granted} tells when it is
     * granted, {@link LockListener#cancelled} if it leaves the queue without a grant.
     *
     * @param position its place in the queue, 1 for next
     * @param holder   the name of the earliest current holder (of thousands of shared holders,
     *                 the earliest of those Redis shows at once), or of the queue's head while it
     *                 is being granted, or {@link Waiting#RECOVERING}
     */
    record Queued(int position, String holder) implements LockResult {
        public Queued {
            requireNonNull(holder, "holder");
        }
    }
}
