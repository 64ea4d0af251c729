package io.distlock.faults;

import io.distlock.faults.History.Kind;
import io.distlock.faults.History.Op;

/**
 * The resource a lock protects, living in the test JVM: one per lock name. With fencing on it
 * does what the protocol asks of a guarded resource: it refuses a write whose token is lower
 * than the highest it has accepted (equal is fine: a holder writes several times). With fencing
 * off it accepts everything: the negative control, where a broken exclusion shows up as an
 * accepted stale write.
 *
 * <p>Each write is recorded inside the register's monitor, so the history's order of WRITE
 * events is the order in which the register decided.
 */
public final class FencedRegister {

    private final String lock;
    private final History history;
    private final boolean fencing;
    private long highest;

    public FencedRegister(String lock, History history, boolean fencing) {
        this.lock = lock;
        this.history = history;
        this.fencing = fencing;
    }

    /** Records WRITE OK if accepted, WRITE FAIL if refused (detail says what the register had seen). */
    public synchronized boolean write(int process, long token) {
        boolean accepted = !fencing || token >= highest;
        if (accepted) {
            highest = Math.max(highest, token);
            history.record(process, Kind.OK, Op.WRITE, lock, token, null);
        } else {
            history.record(process, Kind.FAIL, Op.WRITE, lock, token, "stale: highest=" + highest);
        }
        return accepted;
    }

    public synchronized long highest() {
        return highest;
    }

    public String lock() {
        return lock;
    }
}
