package io.distlock.core;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The sessions of this node that wait for locks, and the two ways they learn a lock is free:
 *
 * <ol>
 *   <li>a release published by whichever node released it ({@link #released}), and</li>
 *   <li>a re-check of the lock in Redis ({@link #recheck}): when the awaited lease would run
 *       out (Redis publishes nothing when a key expires: that is how a dead node's locks are
 *       noticed), and after every (re)subscription to the channel (messages published while
 *       this node was disconnected are lost).</li>
 * </ol>
 *
 * <p>A wait is for the end of one grant, named by its token. So a release message that is
 * older than the grant waited for is ignored, and a re-check that finds a newer grant knows
 * the awaited one ended. While a lock attempt is in flight its entry is <em>pending</em>: it
 * only records releases, so a release that overtakes the attempt's own {@code WAIT} answer is
 * not missed. A re-check records into pending entries too (every grant up to the token it proves
 * ended), so a release lost in a pub/sub gap while the attempt was in flight is not missed either.
 * A new attempt by a session that was already waiting keeps the earlier {@code WAIT}'s promise:
 * if the attempt fails, the wait goes on; if it finds the lock free without taking it (another
 * lock of a multi-lock was held), the session is told at once.
 *
 * <p>A wait can also be for the end of the quarantine after a possible loss of Redis data
 * ({@link LockConfig#dataLossQuarantine()}): the attempt was answered like a grant held until
 * the quarantine ends, under the token the grant would have had; a re-check that finds the lock
 * free while the quarantine still runs tells nobody and looks again when it ends.
 */
final class Waiters {

    private static final System.Logger LOG = System.getLogger(Waiters.class.getName());

    /** For a release found by a re-check rather than told by a message. */
    static final long RELEASE_TIME_UNKNOWN = -1;

    /** Redis expires a key exactly at its TTL; look a little after it. */
    private static final long RECHECK_MARGIN_MILLIS = 5;

    /** A session's wait for one lock. Guarded by the map bin of its lock (all changes go through compute). */
    static final class Entry {
        final Session session;
        boolean pending = true;
        long releasedWhilePending;
        long awaitedToken;
        /** The grant an earlier {@code WAIT} waits for while a new attempt is pending, 0 if none: that promise survives the attempt. */
        long earlierWait;

        Entry(Session session) {
            this.session = session;
        }
    }

    private static final class LockWaiters {
        final List<Entry> entries = new ArrayList<>(2);
        Future<?> recheck;
        long recheckAtNanos;
    }

    private final ConcurrentHashMap<String, LockWaiters> byLock = new ConcurrentHashMap<>();
    private final RedisLockStore store;
    private final Scheduler scheduler;
    private final Ticker ticker;
    private final long leaseMillis;

    Waiters(RedisLockStore store, Scheduler scheduler, Ticker ticker, long leaseMillis) {
        this.store = store;
        this.scheduler = scheduler;
        this.ticker = ticker;
        this.leaseMillis = leaseMillis;
    }

    /** Before a lock attempt: from now on releases of {@code lock} are recorded for the session. */
    Entry beginAttempt(String lock, Session session) {
        Entry[] entry = new Entry[1];
        byLock.compute(lock, (k, waiters) -> {
            LockWaiters w = waiters == null ? new LockWaiters() : waiters;
            Entry e = find(w, session);
            if (e == null) {
                e = new Entry(session);
                w.entries.add(e);
                session.waitingFor(lock);
            } else if (!e.pending) {
                e.earlierWait = e.awaitedToken;
            }
            e.pending = true;
            e.releasedWhilePending = 0;
            entry[0] = e;
            return w;
        });
        return entry[0];
    }

    /** The attempt took the lock: the session no longer waits for it. */
    void attemptGranted(String lock, Entry entry) {
        byLock.computeIfPresent(lock, (k, w) -> remove(lock, w, entry));
    }

    /**
     * The attempt found the lock free but did not take it (another lock of the same multi-lock
     * was held). Returns true if an earlier {@code WAIT} promised a {@code RETRY}: the grant it
     * waited for has ended, the caller tells the session.
     */
    boolean attemptFoundFree(String lock, Entry entry) {
        boolean[] owed = new boolean[1];
        byLock.computeIfPresent(lock, (k, w) -> {
            owed[0] = w.entries.contains(entry) && entry.earlierWait != 0;
            return remove(lock, w, entry);
        });
        return owed[0];
    }

    /**
     * The attempt failed (Redis did not answer). An earlier {@code WAIT} still holds: its wait
     * goes on, or, if its grant ended while the attempt was out, true: the caller tells the session.
     */
    boolean attemptFailed(String lock, Entry entry) {
        boolean[] owed = new boolean[1];
        byLock.computeIfPresent(lock, (k, w) -> {
            if (!w.entries.contains(entry)) {
                return orNull(w);
            }
            if (entry.earlierWait == 0) {
                return remove(lock, w, entry);
            }
            if (entry.releasedWhilePending >= entry.earlierWait) {
                owed[0] = true;
                return remove(lock, w, entry);
            }
            entry.pending = false;
            entry.awaitedToken = entry.earlierWait;
            entry.earlierWait = 0;
            scheduleRecheck(lock, w, leaseMillis);
            return w;
        });
        return owed[0];
    }

    /**
     * The attempt was told to wait for the grant {@code token}. Returns true if that grant
     * already ended while the attempt was in flight: the caller tells the session at once.
     */
    boolean await(String lock, Entry entry, long token, long pttlMillis) {
        boolean[] endedAlready = new boolean[1];
        byLock.computeIfPresent(lock, (k, w) -> {
            if (!w.entries.contains(entry)) {
                return orNull(w); // cancelled meanwhile (the session closed)
            }
            if (token > 0 && entry.releasedWhilePending >= token) { // 0 names no grant: nothing is known to have ended
                w.entries.remove(entry);
                entry.session.doneWaiting(lock);
                endedAlready[0] = true;
                return orNull(w);
            }
            entry.pending = false;
            entry.awaitedToken = token;
            entry.earlierWait = 0; // the new WAIT answers for the lock from now on
            scheduleRecheck(lock, w, pttlMillis);
            return w;
        });
        return endedAlready[0];
    }

    /** Forgets every wait of a closing session. */
    void cancelAll(Session session) {
        for (String lock : List.copyOf(session.waitedLocks())) {
            byLock.computeIfPresent(lock, (k, w) -> {
                w.entries.removeIf(e -> e.session == session);
                return orNull(w);
            });
            session.doneWaiting(lock);
        }
    }

    /**
     * A release of grant {@code token} of {@code lock} was published; it happened at
     * {@code releasedAtMicros} on the Redis clock.
     */
    void released(String lock, long token, long releasedAtMicros) {
        List<Session> told = new ArrayList<>();
        byLock.computeIfPresent(lock, (k, w) -> {
            w.entries.removeIf(e -> {
                if (e.pending) {
                    e.releasedWhilePending = Math.max(e.releasedWhilePending, token);
                    return false;
                }
                if (e.awaitedToken <= token) {
                    told.add(e.session);
                    e.session.doneWaiting(lock);
                    return true;
                }
                return false;
            });
            return orNull(w);
        });
        told.forEach(s -> s.retry(lock, releasedAtMicros));
    }

    /** Re-checks every waited lock: after a (re)subscription, releases may have been missed. */
    void recheckAll() {
        for (String lock : byLock.keySet()) {
            recheck(lock);
        }
    }

    /** The number of locks this node's sessions wait for. */
    int waitedLocks() {
        return byLock.size();
    }

    private void recheck(String lock) {
        byLock.computeIfPresent(lock, (k, w) -> {
            w.recheck = null;
            return w;
        });
        store.peek(lock).whenComplete((state, e) -> {
            if (e != null) {
                LOG.log(Level.DEBUG, "Re-check of lock ''{0}'' failed, trying again: {1}", lock, e.getMessage());
                byLock.computeIfPresent(lock, (k, w) -> {
                    scheduleRecheck(lock, w, leaseMillis / 3);
                    return w;
                });
            } else {
                observed(lock, state);
            }
        });
    }

    private void observed(String lock, RedisLockStore.Peeked state) {
        // Every grant up to this token has ended: the lock is free, or a newer grant holds it.
        // In a quarantine after a possible data loss nothing can be granted: tell nobody yet, look again when it ends.
        // A free lock ends every settled wait, whatever its token: one made in a quarantine awaits a token no grant had.
        // An attempt still out gets the tighter bound, since its answer may name a grant made after this look.
        long endedUpTo = state.quarantined() ? Long.MIN_VALUE : state.free() ? Long.MAX_VALUE : state.token() - 1;
        List<Session> told = new ArrayList<>();
        byLock.computeIfPresent(lock, (k, w) -> {
            w.entries.removeIf(e -> {
                if (e.pending) {
                    // Like a release message: the attempt's own answer may name a grant that ended before this look.
                    e.releasedWhilePending = Math.max(e.releasedWhilePending, state.endedUpTo());
                    return false;
                }
                if (e.awaitedToken <= endedUpTo) {
                    told.add(e.session);
                    e.session.doneWaiting(lock);
                    return true;
                }
                return false;
            });
            if (!state.free()) {
                scheduleRecheck(lock, w, state.pttlMillis() >= 0 ? state.pttlMillis() : leaseMillis);
            }
            return orNull(w);
        });
        told.forEach(s -> s.retry(lock, RELEASE_TIME_UNKNOWN));
    }

    /** Schedules a re-check at the lease's end unless an earlier one is due. Called inside compute. */
    private void scheduleRecheck(String lock, LockWaiters w, long delayMillis) {
        if (w.entries.stream().allMatch(e -> e.pending)) {
            return; // pending attempts learn from their own answer
        }
        long delay = Math.min(delayMillis, leaseMillis) + RECHECK_MARGIN_MILLIS;
        long at = ticker.read() + TimeUnit.MILLISECONDS.toNanos(delay);
        if (w.recheck != null && !w.recheck.isDone() && w.recheckAtNanos - at <= 0) {
            return;
        }
        if (w.recheck != null) {
            w.recheck.cancel(false);
        }
        w.recheckAtNanos = at;
        try {
            w.recheck = scheduler.schedule(() -> recheck(lock), delay, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            w.recheck = null; // the service is closing
        }
    }

    private static LockWaiters remove(String lock, LockWaiters w, Entry entry) {
        if (w.entries.remove(entry)) {
            entry.session.doneWaiting(lock);
        }
        return orNull(w);
    }

    private static Entry find(LockWaiters w, Session session) {
        for (Entry e : w.entries) {
            if (e.session == session) {
                return e;
            }
        }
        return null;
    }

    private static LockWaiters orNull(LockWaiters w) {
        if (w.entries.isEmpty()) {
            if (w.recheck != null) {
                w.recheck.cancel(false);
            }
            return null;
        }
        return w;
    }
}
