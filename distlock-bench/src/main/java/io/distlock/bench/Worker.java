package io.distlock.bench;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One bench session's loop, driven by its replies: lock; on {@code LOCKED} unlock and start
 * the next pair; on {@code WAIT} wait for {@code RETRY} and ask again; on {@code QUEUED} wait
 * for {@code GRANTED}, then unlock. One request in flight. The callbacks of one session never
 * overlap (each request is sent from the previous one's callback), except pushes, which this
 * object's monitor guards.
 *
 * <p>A push may overtake the callback of the reply it follows (a {@code RETRY} its {@code WAIT},
 * a {@code GRANTED} its {@code QUEUED}): it is kept until that callback runs. When the phase
 * stops, a session waiting for {@code RETRY} stops at once; one waiting for {@code GRANTED}
 * waits for it and gives the lock back first, so that every queued request of a run is
 * granted and the FIFO check sees whole queues.
 */
final class Worker implements Target.Pushes {

    private final int index;
    private final Phase phase;
    private final Workload workload;
    private final boolean queue;
    private final SplittableRandom random;
    final History history = new History();
    private Target.Session session;

    private long pairs;
    private volatile Workload.Op op;
    private volatile long pairStart;
    private volatile long requestStart;
    private volatile long lastActivity = System.nanoTime();
    private boolean waiting; // for a RETRY; guarded by this
    private boolean finished; // guarded by this
    private String retryBeforeWait; // a RETRY that overtook its WAIT's callback; guarded by this
    private long waitingSince; // guarded by this
    private boolean asking; // a lock request is in flight; guarded by this
    private boolean queued; // waiting for a GRANTED; guarded by this
    private long queuedAt; // when the QUEUED arrived; guarded by this
    private int position; // the QUEUED's position; guarded by this
    private long queuedRequest; // the QUEUED's id; guarded by this
    private boolean queuedTooLong; // told already; guarded by this
    private Grant grantBeforeQueued; // a GRANTED that overtook its QUEUED's callback; guarded by this

    /** A {@code GRANTED} push as it arrived. */
    private record Grant(String lock, long token, boolean shared, long request, long at) { }

    /** @param queue whether single-name requests queue ({@code --wait}) */
    Worker(int index, Phase phase, Workload workload, boolean queue, long seed) {
        this.index = index;
        this.phase = phase;
        this.workload = workload;
        this.queue = queue;
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
        synchronized (this) {
            asking = true;
        }
        Workload.Op o = op;
        session.lock(o.names(), o.shared(), queue && o.names().size() == 1).whenComplete(this::locked);
    }

    private void locked(Reply reply, Throwable error) {
        long now = System.nanoTime();
        lastActivity = now;
        phase.stats.lock.recordValue(now - requestStart);
        boolean bad = error != null || reply.status == Reply.Status.FAIL || reply.status == Reply.Status.OTHER
                || reply.status == Reply.Status.QUEUED && !queue;
        if (bad || reply.status != Reply.Status.QUEUED) {
            synchronized (this) {
                asking = false; // (a QUEUED clears it below, together with noting the place)
            }
        }
        if (bad) {
            phase.error(error != null ? String.valueOf(error) : "lock answered " + reply);
            backOff();
            return;
        }
        if (reply.status == Reply.Status.LOCKED) {
            int[] ids = op.ids();
            long[] tokens = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                tokens[i] = reply.tokenOf(op.names().get(i));
            }
            holdAndRelease(tokens, 0, 0, now);
            return;
        }
        if (reply.status == Reply.Status.QUEUED) {
            phase.stats.queued.increment();
            Grant early;
            synchronized (this) {
                asking = false;
                early = grantBeforeQueued;
                grantBeforeQueued = null;
                if (early == null) {
                    queued = true;
                    queuedTooLong = false;
                    queuedAt = now;
                    position = reply.position;
                    queuedRequest = reply.id;
                }
            }
            if (early != null) {
                granted(early, now, reply.position, reply.id);
            }
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
    public void granted(String lock, long token, boolean shared, long request) {
        long now = System.nanoTime();
        Grant grant = new Grant(lock, token, shared, request, now);
        long at;
        int pos;
        long queuedId;
        synchronized (this) {
            Workload.Op o = op;
            boolean mine = o != null && o.names().size() == 1 && o.names().get(0).equals(lock);
            if (queued && mine) {
                queued = false;
                at = queuedAt;
                pos = position;
                queuedId = queuedRequest;
            } else if (asking && mine && grantBeforeQueued == null) {
                grantBeforeQueued = grant;
                return;
            } else {
                at = -1;
                pos = 0;
                queuedId = -1;
            }
        }
        if (pos == 0) {
            phase.error("GRANTED " + lock + " when no request of this session queued for it");
            return;
        }
        granted(grant, at, pos, queuedId);
    }

    /** A queued request's grant: checked against what was asked, kept in the history, given back. */
    private void granted(Grant grant, long queuedNanos, int queuedPosition, long queuedId) {
        phase.handedOver(grant.lock(), grant.at(), phase.target.nodeOf(index));
        if (grant.request() >= 0 && queuedId >= 0 && grant.request() != queuedId) {
            phase.error("GRANTED names request " + grant.request() + ", the request that queued was " + queuedId);
        }
        if (grant.shared() != op.shared()) {
            phase.error("GRANTED in " + (grant.shared() ? "shared" : "exclusive") + " mode, asked for "
                    + (op.shared() ? "shared" : "exclusive"));
        }
        holdAndRelease(new long[] {grant.token()}, queuedNanos, queuedPosition, grant.at());
    }

    private void holdAndRelease(long[] tokens, long queuedNanos, int queuedPosition, long grantedNanos) {
        phase.stats.acquire.recordValue(grantedNanos - pairStart);
        int[] ids = op.ids();
        history.grant(ids, tokens, op.shared(), requestStart, queuedNanos, queuedPosition, grantedNanos);
        long sent = System.nanoTime();
        history.release(sent);
        phase.releasing(ids, sent, phase.target.nodeOf(index));
        session.unlock(op.names()).whenComplete(this::unlocked);
    }

    @Override
    public void cancelled(String lock, String reason) {
        boolean mine;
        synchronized (this) {
            mine = queued && op != null && op.names().contains(lock);
            queued = false;
        }
        phase.error("CANCELLED " + lock + " (" + reason + ")");
        if (mine) {
            backOff();
        }
    }

    @Override
    public void lost(String lock) {
        phase.error("LOST " + lock);
    }

    /**
     * Called every second: a WAIT whose RETRY never came is an error, and the session asks
     * again; a QUEUED whose GRANTED never came is an error too, and the session waits on.
     */
    void check(long now, long timeoutNanos) {
        boolean again = false;
        boolean late = false;
        synchronized (this) {
            if (waiting && now - waitingSince > timeoutNanos) {
                waiting = false;
                again = true;
            }
            if (queued && !queuedTooLong && now - queuedAt > timeoutNanos) {
                queuedTooLong = true;
                late = true;
            }
        }
        if (again) {
            phase.error("no RETRY within " + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos) + " s of a WAIT");
            attempt();
        }
        if (late) {
            phase.error("no GRANTED within " + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos) + " s of a QUEUED");
        }
    }

    /** The phase stops: a session that waits for a RETRY is done now (one queued waits for its grant). */
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

    /** Whether the session still waits for a GRANTED. */
    synchronized boolean queued() {
        return queued;
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
