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
    private volatile boolean twoOut;

    /** Whether no command may go out at {@code now}: one sent less than {@code answerTimeoutNanos} ago, or two. */
    boolean busy(long now, long answerTimeoutNanos) {
        return out && (twoOut || now - lastSentNanos < answerTimeoutNanos);
    }

    void sent(long sentAtNanos) {
        twoOut = out;
        lastSentNanos = sentAtNanos;
        out = true;
    }

    /** The command sent at {@code sentAtNanos} was answered, or failed: only the last one sent frees the next. */
    void done(long sentAtNanos) {
        if (lastSentNanos == sentAtNanos) {
            out = false;
            twoOut = false;
        }
    }

    /** What is out no longer matters (the grant is gone). */
    void clear() {
        out = false;
        twoOut = false;
    }
}
