package io.distlock.bench;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One bench session's loop, driven by its replies: lock; on {@code LOCKED} unlock and start
 * the next pair; on {@code WAIT} wait for {@code RETRY} and ask again. One request in flight.
 * The callbacks of one session never overlap (each request is sent from the previous one's
 * callback), except pushes, which {@link #retry} guards with this object's monitor.
 */
final class Worker implements Target.Pushes {

    private final int index;
    private final Phase phase;
    private final Workload workload;
    private final SplittableRandom random;
    final History history = new History();
    private Target.Session session;

    private long pairs;
    private volatile Workload.Op op;
    private long pairStart;
    private long requestStart;
    private volatile long lastActivity = System.nanoTime();
    private boolean waiting; // guarded by this
    private boolean finished; // guarded by this
    private String retryBeforeWait; // a RETRY that overtook its WAIT's callback; guarded by this
    private long waitingSince; // guarded by this

    Worker(int index, Phase phase, Workload workload, long seed) {
        this.index = index;
        this.phase = phase;
        this.workload = workload;
        this.random = new SplittableRandom(seed);
    }

    int index() {
        return index;
    }

    void bind(Target.Session s) {
        this.session = s;
    }

    void go() {
        nextPair();
    }

    Target.Session session() {
        return session;
    }

    private void nextPair() {
        if (phase.stopping()) {
            finish();
            return;
        }
        op = workload.next(index, pairs++, random);
        pairStart = System.nanoTime();
        attempt();
    }

    private void attempt() {
        if (phase.stopping()) {
            finish();
            return;
        }
        long now = System.nanoTime();
        requestStart = now;
        lastActivity = now;
        List<String> names = op.names();
        session.lock(names).whenComplete(this::locked);
    }

    private void locked(Reply reply, Throwable error) {
        long now = System.nanoTime();
        lastActivity = now;
        phase.stats.lock.recordValue(now - requestStart);
        if (error != null || reply.status == Reply.Status.FAIL || reply.status == Reply.Status.OTHER) {
            phase.error(error != null ? String.valueOf(error) : "lock answered " + reply);
            backOff();
            return;
        }
        if (reply.status == Reply.Status.LOCKED) {
            phase.stats.acquire.recordValue(now - pairStart);
            int[] ids = op.ids();
            long[] tokens = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                tokens[i] = reply.tokenOf(op.names().get(i));
            }
            history.grant(ids, tokens, now);
            long sent = System.nanoTime();
            history.release(sent);
            phase.releasing(ids, sent, phase.target.nodeOf(index));
            session.unlock(op.names()).whenComplete(this::unlocked);
            return;
        }
        // WAIT: a RETRY comes for (one of) the names.
        phase.stats.waits.increment();
        boolean again;
        synchronized (this) {
            if (retryBeforeWait != null && op.names().contains(retryBeforeWait)) {
                retryBeforeWait = null;
                again = true;
            } else {
                waiting = true;
                waitingSince = now;
                again = false;
            }
        }
        if (again) {
            attempt();
        } else if (phase.stopping()) {
            stopWaiting();
        }
    }

    private void unlocked(Reply reply, Throwable error) {
        long now = System.nanoTime();
        lastActivity = now;
        if (error != null || reply.status != Reply.Status.OK) {
            phase.error(error != null ? String.valueOf(error) : "unlock answered " + reply);
        } else {
            phase.stats.pair.recordValue(now - pairStart);
        }
        nextPair();
    }

    @Override
    public void retry(String lock) {
        long now = System.nanoTime();
        boolean again;
        synchronized (this) {
            if (waiting && op != null && op.names().contains(lock)) {
                waiting = false;
                again = true;
            } else {
                retryBeforeWait = lock;
                again = false;
            }
        }
        phase.retried(lock, now, phase.target.nodeOf(index));
        if (again) {
            attempt();
        }
    }

    @Override
    public void lost(String lock) {
        phase.error("LOST " + lock);
    }

    /** Called every second: a WAIT whose RETRY never came is an error; ask again. */
    void check(long now, long retryTimeoutNanos) {
        boolean again = false;
        synchronized (this) {
            if (waiting && now - waitingSince > retryTimeoutNanos) {
                waiting = false;
                again = true;
            }
        }
        if (again) {
            phase.error("no RETRY within " + TimeUnit.NANOSECONDS.toSeconds(retryTimeoutNanos) + " s of a WAIT");
            attempt();
        }
    }

    /** The phase stops: a session that only waits is done now. */
    void stopWaiting() {
        boolean done;
        synchronized (this) {
            done = waiting;
            waiting = false;
        }
        if (done) {
            finish();
        }
    }

    long lastActivity() {
        return lastActivity;
    }

    private void backOff() {
        phase.scheduler().schedule(this::nextPair, 10, TimeUnit.MILLISECONDS);
    }

    private void finish() {
        synchronized (this) {
            if (finished) {
                return;
            }
            finished = true;
        }
        phase.finished(this);
    }
}
