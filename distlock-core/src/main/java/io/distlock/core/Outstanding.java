package io.distlock.core;

/**
 * The commands lease renewal has out for one grant (renewals) or one queue place (keep-place
 * commands). A command out for its whole answer timeout has most likely failed: its timeout and
 * the next tick come together (both a sixth of the lease, up to an 18 s lease), and a tick that
 * waited for the failure's report would try again only at the tick after. So one more may go
 * out then; no more while two are out whose failure has not been reported (a report that comes
 * late, from a node too busy to run its timeouts, must not let one go out per tick regardless).
 * Both commands are idempotent. Written by the tick and by the
 * commands' completions without a lock: a race between them can only let one more command out.
 */
final class Outstanding {

    private volatile boolean out;
    private volatile long lastSentNanos;
    /** The one sent before the last is out too, its failure not reported. */
    private volatile boolean earlierOut;
    private volatile long earlierSentNanos;

    /** Whether no command may go out at {@code now}: one sent less than {@code answerTimeoutNanos} ago, or two. */
    boolean busy(long now, long answerTimeoutNanos) {
        return out && (earlierOut || now - lastSentNanos < answerTimeoutNanos);
    }

    void sent(long sentAtNanos) {
        earlierOut = out;
        earlierSentNanos = lastSentNanos;
        lastSentNanos = sentAtNanos;
        out = true;
    }

    /**
     * The command sent at {@code sentAtNanos} was answered, or failed. The last one sent frees
     * the next; the one before it, reported after the last went out (its timeout and the tick
     * come together, in either order), leaves one out: one more may follow it once that one
     * has been out for its timeout. Without that, a link that stalls sent a renewal only every
     * second tick, and a stall of a third of the lease could lose a lock (found by review).
     */
    void done(long sentAtNanos) {
        if (lastSentNanos == sentAtNanos) {
            out = false;
            earlierOut = false;
        } else if (earlierSentNanos == sentAtNanos) {
            earlierOut = false;
        }
    }

    /** What is out no longer matters (the grant is gone). */
    void clear() {
        out = false;
        earlierOut = false;
    }
}
