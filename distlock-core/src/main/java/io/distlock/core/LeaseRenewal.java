package io.distlock.core;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Keeps this node's locks alive: every tick (a sixth of the lease) it renews, in one pipelined
 * batch, every lock not granted or renewed within the last twelfth of the lease. Renewing on
 * every tick, not only when a lease runs low, is what lets a node survive a pause: Redis always
 * has at least three quarters of the lease left, so a node frozen (GC, SIGSTOP) for less than
 * that keeps its locks and nobody else can take them meanwhile. A lock whose lease could not
 * be proven for two thirds of it is given up and its session told {@code lost} while a sixth of the lease is
 * still left, measured from the send time of the last successful renewal (so before Redis
 * itself can let it go). A lock that Redis says is no longer this session's is lost at once.
 *
 * <p>Places in lock queues are kept the same way, in a second batch: each keep-place command
 * extends the place's lease in Redis, hands over a lock found free, and tells of a grant whose
 * message was lost. A place not proven for two thirds of the lease is given up ({@code CANCELLED}).
 */
final class LeaseRenewal {

    private static final System.Logger LOG = System.getLogger(LeaseRenewal.class.getName());
    private static final int BATCH_SIZE = 500;

    private final RedisLockStore store;
    private final Collection<Session> sessions;
    private final long renewAfterNanos;
    private final long loseAfterNanos;
    /** How long a renew or keep-place command may be out: past it, it has most likely failed (see {@link Outstanding}). */
    private final long answerTimeoutNanos;
    private final Supplier<Telemetry> telemetry;
    private final Ticker ticker;
    private volatile boolean failing;
    /** How long after the last tick a tick counts as late: two tick intervals (a whole interval late). */
    private final long lateAfterNanos;
    /** When the last tick began on the ticker; only the scheduler's thread, one tick at a time. */
    private long lastTickNanos;
    private boolean ticked;
    private final CountedWarning late = new CountedWarning(LOG,
            "Lease renewal ran {0} ms after the previous run, due every {1} ms: this node was stalled (a long GC pause, CPU "
                    + "starvation, a paused process or VM). Locks and queue places it could not prove within two thirds of the lease "
                    + "are given up (LOST, CANCELLED)",
            "Lease renewal ran late {0} times in a row (this time {1} ms after the previous run, due every {2} ms): this node "
                    + "keeps stalling");

    LeaseRenewal(RedisLockStore store, Collection<Session> sessions, long leaseMillis, long tickMillis, Ticker ticker,
                 Supplier<Telemetry> telemetry) {
        this.store = store;
        this.sessions = sessions;
        this.ticker = ticker;
        this.telemetry = telemetry;
        this.lateAfterNanos = TimeUnit.MILLISECONDS.toNanos(tickMillis) * 2;
        this.renewAfterNanos = TimeUnit.MILLISECONDS.toNanos(leaseMillis) / 12;
        this.loseAfterNanos = loseAfterNanos(Duration.ofMillis(leaseMillis));
        // In whole ms, as Redisson's timeout and the tick's delay are: an exact sixth (1,666.67 ms of a
        // 10 s lease) would outlast the tick (1,666 ms), and the command would go again a tick late.
        this.answerTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(RedisLockStore.commandTimeout(Duration.ofMillis(leaseMillis)).toMillis());
    }

    /**
     * How long after its last proof (the send time of the command that proved it) a lease or a
     * queue place is given up: two thirds of the lease, while a third is still left in Redis.
     */
    static long loseAfterNanos(Duration lease) {
        return lease.toNanos() * 2 / 3;
    }

    /** Never throws: a periodic task that throws is never run again, and with it every renewal and LOST would stop. */
    void tick() {
        try {
            renewDue();
        } catch (Throwable e) {
            try {
                LOG.log(Level.ERROR, "Lease renewal failed unexpectedly; trying again at the next tick", e);
            } catch (Throwable ignored) {
                // the logging is what broke: keep renewing all the same
            }
        }
    }

    /**
     * Warns when this tick comes a whole interval or more after the last one: nothing renewed
     * meanwhile, so what it proves came late too. A stalled node is the one cause of lost locks
     * that Redis's side never sees.
     */
    private void noticeLateness(long now) {
        long since = now - lastTickNanos;
        if (ticked && since >= lateAfterNanos) {
            late.happened(TimeUnit.NANOSECONDS.toMillis(since), TimeUnit.NANOSECONDS.toMillis(lateAfterNanos / 2));
        } else {
            late.reset();
        }
        lastTickNanos = now;
        ticked = true;
    }

    private record Due(Session session, String lock, Session.Grant grant) { }

    private record DuePlace(Session session, String lock, Session.Place place) { }

    private void renewDue() {
        long now = ticker.read();
        noticeLateness(now);
        List<Due> due = new ArrayList<>();
        // One warning per tick for each kind, not one per lock: a node that cannot reach Redis may
        // lose hundreds of thousands at once (a probe wrote 248,786 lines in 12 s).
        int lostLeases = 0;
        String firstLease = null;
        for (Session session : sessions) {
            for (Map.Entry<String, Session.Grant> held : session.grants().entrySet()) {
                Session.Grant grant = held.getValue();
                long age = now - grant.leaseStartNanos();
                if (age >= loseAfterNanos) {
                    // Also while an unlock of it is out: that unlock may never be answered.
                    if (session.lose(held.getKey(), grant, LossCause.LEASE) && lostLeases++ == 0) {
                        firstLease = "lock '" + held.getKey() + "' of session '" + session.name() + "'";
                    }
                } else if (age >= renewAfterNanos && !grant.busy(now, answerTimeoutNanos)) {
                    due.add(new Due(session, held.getKey(), grant));
                }
            }
        }
        List<DuePlace> places = new ArrayList<>();
        int lostPlaces = 0;
        String firstPlace = null;
        for (Session session : sessions) {
            for (Map.Entry<String, Session.Place> queued : session.places().entrySet()) {
                Session.Place place = queued.getValue();
                long age = now - place.confirmedAtNanos();
                if (age >= loseAfterNanos) {
                    if (session.givePlaceUp(queued.getKey(), place) && lostPlaces++ == 0) {
                        firstPlace = "lock '" + queued.getKey() + "' of session '" + session.name() + "'";
                    }
                } else if (age >= renewAfterNanos && !place.busy(now, answerTimeoutNanos)) {
                    places.add(new DuePlace(session, queued.getKey(), place));
                }
            }
        }
        if (lostLeases > 0) {
            LOG.log(Level.WARNING, "{0} lease(s) could not be renewed in time; their sessions were told they are lost (the first: {1})",
                    lostLeases, firstLease);
        }
        if (lostPlaces > 0) {
            LOG.log(Level.WARNING, "{0} queue place(s) could not be kept in time; their sessions were told they are cancelled (the "
                    + "first: {1})", lostPlaces, firstPlace);
        }
        for (int from = 0; from < due.size(); from += BATCH_SIZE) {
            renew(due.subList(from, Math.min(due.size(), from + BATCH_SIZE)), now);
        }
        for (int from = 0; from < places.size(); from += BATCH_SIZE) {
            keep(places.subList(from, Math.min(places.size(), from + BATCH_SIZE)), now);
        }
    }

    /** Keeps queue places alive, and learns of grants whose message was lost. */
    private void keep(List<DuePlace> batch, long sentAt) {
        List<String> owners = new ArrayList<>(batch.size());
        List<String> locks = new ArrayList<>(batch.size());
        List<String> attempts = new ArrayList<>(batch.size());
        for (DuePlace d : batch) {
            owners.add(d.session().id());
            locks.add(d.lock());
            attempts.add(d.place().attemptId());
        }
        batch.forEach(d -> d.session().placeKeepSent(d.place(), sentAt));
        List<CompletionStage<RedisLockStore.Place>> results;
        try {
            results = store.keepPlaces(owners, locks, attempts);
        } catch (RuntimeException | Error e) {
            batch.forEach(d -> d.session().placeKeepFailed(d.place(), sentAt));
            throw e;
        }
        for (int i = 0; i < batch.size(); i++) {
            DuePlace d = batch.get(i);
            results.get(i).whenComplete((where, e) -> {
                if (e != null) {
                    d.session().placeKeepFailed(d.place(), sentAt);
                } else {
                    d.session().placeKept(d.lock(), d.place(), where, sentAt);
                }
            });
        }
    }

    private void renew(List<Due> batch, long sentAt) {
        List<String> owners = new ArrayList<>(batch.size());
        List<Long> attemptsUpTo = new ArrayList<>(batch.size());
        List<String> locks = new ArrayList<>(batch.size());
        List<Long> tokens = new ArrayList<>(batch.size());
        for (Due d : batch) {
            owners.add(d.session().id());
            attemptsUpTo.add(d.session().attemptCount());
            locks.add(d.lock());
            tokens.add(d.grant().token());
        }
        batch.forEach(d -> d.session().renewalSent(d.grant(), sentAt));
        List<CompletionStage<RedisLockStore.Renewal>> results;
        try {
            results = store.renew(owners, attemptsUpTo, locks, tokens);
        } catch (RuntimeException | Error e) {
            batch.forEach(d -> {
                d.session().renewalFailed(d.grant(), sentAt); // left busy, these grants would never be renewed again
                telemetry.get().leaseRenewalFailed();
            });
            throw e;
        }
        // One line per batch for the grants Redis no longer holds: after Redis lost its data every
        // grant of the node is refused at once, and a line each flooded the log (300 for 300 locks).
        AtomicInteger unanswered = new AtomicInteger(batch.size());
        AtomicInteger gone = new AtomicInteger();
        AtomicReference<String> firstGone = new AtomicReference<>();
        for (int i = 0; i < batch.size(); i++) {
            Due d = batch.get(i);
            results.get(i).whenComplete((renewal, e) -> {
                if (e != null) {
                    d.session().renewalFailed(d.grant(), sentAt);
                    telemetry.get().leaseRenewalFailed();
                    if (!failing) {
                        failing = true;
                        LOG.log(Level.WARNING, "Cannot renew lock leases, will keep trying: {0}", e.getMessage());
                    }
                } else if (renewal.held()) {
                    telemetry.get().leaseRenewed(true);
                    failing = false;
                    d.session().renewed(d.grant(), sentAt);
                } else if (d.session().renewalRefused(d.lock(), d.grant(), renewal.stolenBy(),
                        // "lost" only when the session is told (LOST, taken or stolen), counted before it is:
                        // not for a lock it was unlocking meanwhile, or had given up already.
                        () -> telemetry.get().leaseRenewed(false))) {
                    if (renewal.stolenBy() == null && gone.getAndIncrement() == 0) {
                        firstGone.set("lock '" + d.lock() + "' of session '" + d.session().name() + "'");
                    }
                }
                if (unanswered.decrementAndGet() == 0 && gone.get() > 0) {
                    LOG.log(Level.WARNING, "Redis no longer holds {0} lock(s) this node renews; their sessions were told they are lost"
                            + " (the first: {1})", gone.get(), firstGone.get());
                }
            });
        }
    }
}
