package io.distlock.core;

import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The one implementation of {@link LockSession}.
 *
 * <p>Operations run one after another on a chain of stages ({@link #enqueue}): the next one
 * starts when the previous one's result has been delivered. Results and pushes go through
 * one {@link SerialExecutor}, so a push never overtakes the reply it follows.
 *
 * <p>Why this file is long: it is the one owner of a session's grants, queue places and waits,
 * and every ordering promise (a release never overtaken by the next request, a LOST before the
 * failure that explains it, a RETRY after the WAIT it answers, a GRANTED after the QUEUED it
 * answers) is kept by the chain in this class; split across classes, those promises would need
 * shared state again.
 */
final class Session implements LockSession {

    private static final System.Logger LOG = System.getLogger(Session.class.getName());

    /**
     * One grant of a lock to this session, as this node keeps it alive. Only the session writes
     * it; lease renewal reads it and reports through {@link #renewalSent}, {@link #renewed},
     * {@link #renewalFailed} and {@link #lose}.
     */
    static final class Grant {
        private final long token;
        private final LockMode mode;
        /** When the last proven lease began (the send time of its lock or renew command). */
        private volatile long leaseStartNanos;
        /** The renew commands of lease renewal that are out. */
        private final Outstanding renewals = new Outstanding();
        /** Set while an unlock of this grant is out: not renewed then, but still given up at two thirds of the lease. */
        private volatile boolean releasing;

        Grant(long token, LockMode mode, long leaseStartNanos) {
            this.token = token;
            this.mode = mode;
            this.leaseStartNanos = leaseStartNanos;
        }

        LockMode mode() {
            return mode;
        }

        long token() {
            return token;
        }

        long leaseStartNanos() {
            return leaseStartNanos;
        }

        /** Whether lease renewal should leave it alone at {@code now}: an unlock of it is out, or renewals (see {@link Outstanding}). */
        boolean busy(long now, long answerTimeoutNanos) {
            return releasing || renewals.busy(now, answerTimeoutNanos);
        }

        private void proven(long sentAtNanos) {
            if (leaseStartNanos - sentAtNanos < 0) {
                leaseStartNanos = sentAtNanos;
            }
        }
    }

    /**
     * A place in a lock's queue, as this node keeps it. Only the session writes it; lease renewal
     * reads it and reports through {@link #placeKeepSent}, {@link #placeKept}, {@link #placeKeepFailed}
     * and {@link #givePlaceUp}.
     */
    static final class Place {
        /** The attempt that queued: a grant of this place carries it, and a release of that grant names it. */
        private final String attemptId;
        /** When the place was last proven (the send time of the command that found it queued). */
        private volatile long confirmedAtNanos;
        /** The keep-place commands of lease renewal that are out. */
        private final Outstanding keeps = new Outstanding();
        private Future<?> timeout; // guarded by the session's chain
        /** When the request's timeout runs out (the ticker's nanos), or 0 without one: kept in the registry record. */
        private volatile long deadlineNanos;

        Place(String attemptId, long confirmedAtNanos) {
            this.attemptId = attemptId;
            this.confirmedAtNanos = confirmedAtNanos;
        }

        long confirmedAtNanos() {
            return confirmedAtNanos;
        }

        String attemptId() {
            return attemptId;
        }

        /** The ticker's nanos when the request's timeout runs out, or 0 without a timeout. */
        long deadlineNanos() {
            return deadlineNanos;
        }

        /** Whether lease renewal should leave it alone at {@code now}: keep-place commands are out (see {@link Outstanding}). */
        boolean busy(long now, long answerTimeoutNanos) {
            return keeps.busy(now, answerTimeoutNanos);
        }

        private void confirmed(long sentAtNanos) {
            if (confirmedAtNanos - sentAtNanos < 0) {
                confirmedAtNanos = sentAtNanos;
            }
        }

        private void stopTimer() {
            if (timeout != null) {
                timeout.cancel(false);
            }
        }
    }

    /**
     * What an operation delivers (its result, or its failure if not null), what to do right after
     * delivering it, what to do right before (pushes that must reach the client first), and, for a
     * result that tells a grant, what to deliver instead if that grant is no longer held when it is
     * delivered (it gives null while it is; null: the result tells none); and the locks whose grants or
     * places it tells (null: it may tell of any), whose pushes wait behind it while it waits for its
     * registry write.
     */
    private record Step<T>(T result, Throwable failure, Runnable then, Runnable first, Supplier<Step<T>> ifLostMeanwhile,
            Set<String> tells) {
        Step(T result, Throwable failure, Runnable then, Runnable first) {
            this(result, failure, then, first, null, null);
        }

        /** A step whose {@code then} tells the grant of {@code lock} (a queue place's GRANTED). */
        static Step<Void> granting(String lock, Runnable then) {
            return new Step<>(null, null, then, null, null, Set.of(lock));
        }

        Step(T result, Throwable failure, Runnable then) {
            this(result, failure, then, null);
        }

        static <T> Step<T> of(T result) {
            return new Step<>(result, null, null);
        }
    }

    /** Tries of one lock request: a second, without its place, if the first was answered with that place's grant too late. */
    private static final int MAX_TRIES = 2;
    /** Pushes kept for a detached session; past this it is closed (the protocol's bound). */
    static final int MAX_KEPT = 1_000;

    private final LockService service;
    private final RedisLockStore store;
    private final Waiters waiters;
    private final LockConfig config;
    private final String name;
    private final String id;
    /** Who is told the pushes; only read and written on {@link #events} (after the constructor). */
    private LockListener listener;
    private final SerialExecutor events;
    private final long graceMillis;
    private final String info;
    /** Steals told before the grant they ended (see {@link #stolen}), by lock. */
    private final Map<String, StolenAhead> stolenAhead = new ConcurrentHashMap<>();
    /** How Redis names this session to others: name and info. */
    private final String holder;
    /** SHA-256 of the current resume secret, to create the registry record; never logged. */
    private volatile byte[] secretHash;
    /**
     * The attachment whose resume could not send its answer ({@link #detach(int, boolean)}), set
     * while that answer is delivered, before the pushes kept while detached would go to its listener:
     * they stay kept for the next resume.
     */
    private volatile int unansweredEpoch = -1;
    /** The hash the last resume spent, until its answer is known to be delivered; see {@link #detach(int, boolean)}. */
    private volatile byte[] spentSecretHash;
    /** The generation of the registry record this node owns (one more at every adoption). */
    private volatile long gen;
    /** The current attachment ({@link Attachment}); handles of an older one are stale. */
    private volatile int epoch;
    /** The connection dropped and no resume has answered yet; written in the chain. */
    private volatile boolean detached;
    /**
     * Pushes are kept, not told: set with {@link #detached} in the chain, cleared on {@link #events}
     * when the next listener takes over (after the resume's answer, which clears {@link #detached}).
     */
    private volatile boolean keepingPushes;
    /** When the grace of a detached session ends, on the ticker; guarded by the chain. */
    private volatile long graceEndsAt;
    private Future<?> graceTimer; // guarded by the chain
    /** Another connection (on another node) has the session now: this node neither releases nor renews for it. */
    private volatile boolean moved;
    /** Pushes kept while detached; only on {@link #events}. */
    private final ArrayDeque<Consumer<LockListener>> kept = new ArrayDeque<>();
    private boolean overflowed; // only on events
    /** Locks with an {@code ASKED} push kept or held back, not told yet; only on events. */
    private final Set<String> askedWaiting = new HashSet<>();
    /** Asks that came for a lock this session queues for, before its grant was known here (see {@link #asked}), by lock. */
    private final Map<String, AskedAhead> askedAhead = new ConcurrentHashMap<>();
    /** An operation's answer waits for its registry write: pushes wait in {@link #heldBack} until it is delivered; only on events. */
    private boolean holdingPushes;
    private final ArrayDeque<Consumer<LockListener>> heldBack = new ArrayDeque<>();
    /** The locks of the pushes in {@link #heldBack}; only on events. */
    private final Set<String> heldBackAbout = new HashSet<>();
    /** While {@link #holdingPushes}: the locks whose grants the answer waiting tells, null if it may tell any; only on events. */
    private Set<String> holdingFor;
    /** While {@link #holdingPushes}: delivers the answer waiting (once); only on events. */
    private Runnable heldAnswer;
    /** The grants and places the registry record was last asked to list (by identity); only on events. */
    private final Set<Object> recorded = Collections.newSetFromMap(new IdentityHashMap<>());
    /** A registry write is out; at most one at a time. */
    private final AtomicBoolean recording = new AtomicBoolean();
    private volatile boolean recordAgain;
    /** What the last write of {@link #writeRecord} that succeeded listed; null after any other write. */
    private volatile RecordState lastWritten;
    /** Answers waiting for the next registry write to list what their operation took; guarded by itself. */
    private final List<CompletableFuture<Void>> awaitingRecord = new ArrayList<>();
    /**
     * Completed when the first registry write of a session opened here is done (made or failed),
     * or at once for an adopted one: from then a resume with its secret finds it on any node.
     */
    private final CompletableFuture<Void> firstRecord = new CompletableFuture<>();
    /**
     * The registry record existed once (a write of this node found or made it, or an adoption
     * made it): from then on no write creates it again. A record that is gone ended (an end-claim,
     * here or on a node that adopted the session) or expired (nobody renewed it for a lease); a
     * write that brought it back would make an ended session resumable, with a spent secret.
     */
    private volatile boolean recordExisted;
    /**
     * A write found the record gone after it had existed ({@link #recordExisted}): Redis lost it (restarted
     * empty, a failover that missed the write) or it ended or expired. No resume can find the session any
     * more, so a detach ends it as a close does, releasing its locks now rather than keeping them for a grace
     * nobody can use.
     */
    private volatile boolean unresumable;
    /**
     * A resume adopted the session and its answer has not been given yet: the record keeps the spent
     * secret's hash as 'pending' (session-adopt.lua), which record writes leave until this is false, so
     * that a resume sent again with that secret is told to try again, not that the session is gone.
     */
    private volatile boolean resumeAnswerOut;
    private final Map<String, Grant> held = new ConcurrentHashMap<>();
    /** The locks this session queues for. A grant moves the lock from here to {@link #held}. */
    private final Map<String, Place> queued = new ConcurrentHashMap<>();
    /** The locks this session waits for; kept by {@link Waiters}. */
    private final Set<String> waited = ConcurrentHashMap.newKeySet();
    /** Names each lock attempt, so that the undo of a grant whose answer never came frees only that grant. */
    private final AtomicLong attempts = new AtomicLong();

    private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null); // guarded by this
    private volatile boolean closing;
    private volatile boolean closed;
    private CompletionStage<Void> closeStage; // guarded by this
    /** A resume is between its checks and its new epoch (see {@link #closeAsync(int)}); guarded by this. */
    private boolean resuming;

    Session(LockService service, RedisLockStore store, Waiters waiters, LockConfig config,
            String name, String id, LockListener listener, SerialExecutor events) {
        this(service, store, waiters, config, name, id, listener, events, SessionOptions.DEFAULT, null, 0);
    }

    Session(LockService service, RedisLockStore store, Waiters waiters, LockConfig config,
            String name, String id, LockListener listener, SerialExecutor events, SessionOptions options,
            byte[] secretHash, long gen) {
        this.service = service;
        this.store = store;
        this.waiters = waiters;
        this.config = config;
        this.name = name;
        this.id = id;
        this.listener = listener;
        this.events = events;
        this.graceMillis = options.grace().toMillis();
        this.info = options.info();
        this.holder = RedisLockStore.holder(name, info);
        this.secretHash = secretHash;
        this.gen = gen;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public Map<String, Long> heldLocks() {
        Map<String, Long> tokens = new LinkedHashMap<>();
        held.forEach((lock, grant) -> tokens.put(lock, grant.token));
        return tokens;
    }

    @Override
    public Set<String> queuedLocks() {
        return Set.copyOf(queued.keySet());
    }

    @Override
    public boolean isClosed() {
        return closing;
    }

    @Override
    public CompletionStage<LockResult> lock(String lock) {
        return lock(lock, LockOptions.DEFAULT);
    }

    @Override
    public CompletionStage<LockResult> lock(String lock, LockOptions options) {
        return lock(lock, options, epoch);
    }

    /**
     * The operations of the attachment {@code asOf} ({@link Attachment}): refused when their turn
     * comes if a resume made it stale meanwhile, so that an operation the old connection sent
     * while the resume was out cannot act for the session the new connection has.
     */
    CompletionStage<LockResult> lock(String lock, LockOptions options, int asOf) {
        Objects.requireNonNull(options, "options");
        boolean refused = closing;
        return enqueue(() -> {
            if (refusedAtItsTurn(refused, asOf)) {
                return done(refusal(asOf));
            }
            Optional<String> bad = Names.problem("lock name", lock, config.maxLockNameLength());
            if (bad.isPresent()) {
                return done(new Refused(Refusal.BAD_NAME, bad.get()));
            }
            if (!held.containsKey(lock) && !queued.containsKey(lock) && held.size() + queued.size() >= config.maxLocksPerSession()) {
                return done(tooManyLocks());
            }
            Optional<Refused> upgrade = upgrade(List.of(lock), options.mode());
            if (upgrade.isPresent()) {
                return done(upgrade.get());
            }
            return acquire(List.of(lock), false, options, attempt -> {
                if (attempt.granted() && options.mode() == LockMode.EXCLUSIVE && attempt.mode() == LockMode.SHARED) {
                    return heldShared(lock); // its queued request's shared grant: see grantedShared
                }
                if (attempt.granted()) {
                    return new LockResult.Locked(attempt.tokens().get(0));
                }
                if (attempt.queued() != null) {
                    return new LockResult.Queued(attempt.queued().position(), attempt.queued().holder());
                }
                if (attempt.queueFull()) {
                    return new Refused(Refusal.TOO_MANY_LOCKS, "the queue of lock '" + lock + "' is full: at most "
                            + config.maxQueueLength() + " sessions queue for one lock");
                }
                return new LockResult.Waiting(attempt.conflicts().get(0).holder());
            });
        });
    }

    @Override
    public CompletionStage<CancelResult> cancel(String lock) {
        return cancel(lock, epoch);
    }

    CompletionStage<CancelResult> cancel(String lock, int asOf) {
        boolean refused = closing;
        return enqueue(() -> {
            if (refusedAtItsTurn(refused, asOf)) {
                return done(refusal(asOf));
            }
            Optional<String> bad = Names.problem("lock name", lock, config.maxLockNameLength());
            if (bad.isPresent()) {
                return done(new Refused(Refusal.BAD_NAME, bad.get()));
            }
            Place place = queued.get(lock);
            if (place == null) {
                return done(new Refused(Refusal.NOT_QUEUED, "this session does not queue for lock '" + lock + "'"));
            }
            return store.leave(id, lock, place.attemptId).handle((where, e) -> {
                if (e != null) {
                    // Redis may or may not still have the place: give it up here, and leave again
                    // (releasing anything granted meanwhile) once this operation ends; a resumable
                    // session's is left to its lease (freesWhatItGivesUp). No grant comes for it.
                    if (dropPlace(lock, place) && freesWhatItGivesUp()) {
                        leaveLater(lock, place);
                    }
                    return Step.<CancelResult>of(CancelResult.CANCELLED);
                }
                if (where instanceof RedisLockStore.Place.Holds holds) {
                    // Granted before the cancel arrived: the grant stands, and is told before this answer.
                    Runnable tell = adopt(lock, place, holds.token(), holds.mode());
                    if (tell == null) {
                        // Lease renewal gave the place up while this leave was out, or the grant came too late to be
                        // told (CANCELLED told, and a leave queued behind this frees the grant): the session does not hold the lock.
                        return Step.<CancelResult>of(CancelResult.CANCELLED);
                    }
                    return new Step<CancelResult>(new Refused(Refusal.NOT_QUEUED, "lock '" + lock
                            + "' was granted before the cancel arrived; unlock it to let it go"), null, null, tell, null, Set.of(lock));
                }
                dropPlace(lock, place);
                return Step.<CancelResult>of(CancelResult.CANCELLED);
            });
        });
    }

    @Override
    public CompletionStage<MultiLockResult> lockAll(Collection<String> locks) {
        return lockAll(locks, LockMode.EXCLUSIVE);
    }

    @Override
    public CompletionStage<UnlockResult> unlock(String lock) {
        return unlock(lock, epoch);
    }

    CompletionStage<UnlockResult> unlock(String lock, int asOf) {
        boolean refused = closing;
        return enqueue(() -> {
            if (refusedAtItsTurn(refused, asOf)) {
                return done(refusal(asOf));
            }
            Optional<String> bad = Names.problem("lock name", lock, config.maxLockNameLength());
            if (bad.isPresent()) {
                return done(new Refused(Refusal.BAD_NAME, bad.get()));
            }
            Grant grant = held.get(lock);
            if (grant == null) {
                return done(new Refused(Refusal.NOT_OWNER, "lock '" + lock + "' is not held by this session"));
            }
            return release(List.of(lock), List.of(grant),
                    () -> store.unlock(id, RedisLockStore.Release.ofToken(lock, grant.token, attempts.get()), service::granted),
                    unlocked -> {
                        if (unlocked.released()) {
                            return Step.<UnlockResult>of(UnlockResult.UNLOCKED);
                        }
                        // Redis no longer held it for us (its lease ran out, or a steal crossed this unlock,
                        // whose notice comes after it or never): that is a lost lock, not a success. Its LOST
                        // is told just before this answer, not after: a connection places a push behind the
                        // replies it owes, and a LOST told after this answer could land behind the reply to the
                        // client's next request, a re-lock of the same name that the LOST would then seem to end.
                        Refused notOwner = new Refused(Refusal.NOT_OWNER, "lock '" + lock + "' was lost before it was released");
                        if (unlocked.stolenBy() != null) {
                            return new Step<>(notOwner, null, null, takenBy(lock, grant, unlocked.stolenBy()));
                        }
                        boolean wasHeld = held.remove(lock, grant);
                        return new Step<>(notOwner, null, null, wasHeld ? () -> lostNow(lock, grant.token, LossCause.TAKEN) : null);
                    });
        });
    }

    @Override
    public CompletionStage<MultiLockResult> lockAll(Collection<String> locks, LockMode mode) {
        return lockAll(locks, mode, epoch);
    }

    CompletionStage<MultiLockResult> lockAll(Collection<String> locks, LockMode mode, int asOf) {
        Objects.requireNonNull(mode, "mode");
        boolean refused = closing;
        List<String> names = locks == null ? List.of() : new ArrayList<>(new LinkedHashSet<>(locks));
        return enqueue(() -> {
            if (refusedAtItsTurn(refused, asOf)) {
                return done(refusal(asOf));
            }
            Optional<Refused> bad = checkNames(names);
            if (bad.isPresent()) {
                return done(bad.get());
            }
            long newLocks = names.stream().filter(n -> !held.containsKey(n) && !queued.containsKey(n)).count();
            if (held.size() + queued.size() + newLocks > config.maxLocksPerSession()) {
                return done(tooManyLocks());
            }
            Optional<Refused> upgrade = upgrade(names, mode);
            if (upgrade.isPresent()) {
                return done(upgrade.get());
            }
            return acquire(names, true, LockOptions.DEFAULT.mode(mode), attempt -> {
                if (attempt.granted()) {
                    Map<String, Long> tokens = new LinkedHashMap<>();
                    for (int i = 0; i < names.size(); i++) {
                        tokens.put(names.get(i), attempt.tokens().get(i));
                    }
                    return new MultiLockResult.Locked(tokens);
                }
                Map<String, String> holders = new LinkedHashMap<>();
                attempt.conflicts().forEach(c -> holders.put(c.lock(), c.holder()));
                return new MultiLockResult.Waiting(holders);
            });
        });
    }

    @Override
    public CompletionStage<UnlockResult> unlockAll(Collection<String> locks) {
        return unlockAll(locks, epoch);
    }

    CompletionStage<UnlockResult> unlockAll(Collection<String> locks, int asOf) {
        boolean refused = closing;
        List<String> names = locks == null ? List.of() : new ArrayList<>(new LinkedHashSet<>(locks));
        return enqueue(() -> {
            if (refusedAtItsTurn(refused, asOf)) {
                return done(refusal(asOf));
            }
            Optional<Refused> bad = checkNames(names);
            if (bad.isPresent()) {
                return done(bad.get());
            }
            List<Grant> grants = new ArrayList<>(names.size());
            List<Long> tokens = new ArrayList<>(names.size());
            for (String lock : names) {
                Grant grant = held.get(lock);
                if (grant == null) {
                    return done(new Refused(Refusal.NOT_OWNER, "lock '" + lock + "' is not held by this session"));
                }
                grants.add(grant);
                tokens.add(grant.token);
            }
            return release(names, grants, () -> store.unlockAll(id, names, tokens, attempts.get()), unlocked -> {
                if (unlocked.released()) {
                    return Step.<UnlockResult>of(UnlockResult.UNLOCKED);
                }
                // Some lease ran out in Redis; nothing was released. Lease renewal finds
                // which one and tells the session it was lost.
                return Step.<UnlockResult>of(new Refused(Refusal.NOT_OWNER, "not every lock is still held by this session"));
            });
        });
    }

    /**
     * The close of the attachment {@code asOf}. While a resume is out, it waits for its turn behind
     * that resume and does nothing if the resume made {@code asOf} stale: the old connection's close
     * must not end the session the new one was just told it has. Otherwise as {@link #closeAsync()}.
     */
    CompletionStage<Void> closeAsync(int asOf) {
        Operation<Void> close = null;
        synchronized (this) { // with resumeHere: a resume is out, or it is not and cannot start before the close's place is taken
            if (!resuming) {
                if (asOf != epoch) {
                    return CompletableFuture.completedFuture(null);
                }
                if (closeStage != null) {
                    return closeStage;
                }
                close = reserveClose();
            }
        }
        if (close != null) {
            close.start(); // outside the monitor (see reserve)
            return close.result;
        }
        CompletableFuture<Void> closed = new CompletableFuture<>();
        enqueue(() -> {
            if (asOf != epoch) {
                closed.complete(null);
            } else {
                closeAsync().whenComplete((v, e) -> closed.complete(null)); // behind this step: not waited for here
            }
            return done(null);
        });
        return closed;
    }

    @Override
    public CompletionStage<Void> closeAsync() {
        Operation<Void> close;
        synchronized (this) {
            if (closeStage != null) {
                return closeStage;
            }
            close = reserveClose();
        }
        close.start();
        return close.result;
    }

    /** Marks the session closing and takes the close's place in the chain; under the monitor, {@link Operation#start} outside it. */
    private Operation<Void> reserveClose() {
        assert Thread.holdsLock(this);
        closing = true;
        Operation<Void> close = reserve(() -> {
            if (moved) {
                return done(null);
            }
            if (graceMillis == 0) {
                return releaseAll();
            }
            // A resumable session is released only by the node that wins the end-claim on the
            // registry: another node may have adopted it, and then its locks are that node's.
            // After the first record write is answered (see recordDetached).
            stopGraceTimer();
            return firstRecord.thenCompose(v -> service.registry().claimEnd(id, gen)).handle((claim, e) -> {
                if (e != null) {
                    service.unclaimedEnds().happened(name, e.getMessage());
                    movedAway(false);
                    return CompletableFuture.completedFuture(new Step<Void>(null, RedisLockStore.backendFailure(e), null));
                }
                service.unclaimedEnds().reset();
                if (claim == 0L) {
                    movedAway(false);
                    return done((Void) null);
                }
                return releaseAll();
            }).thenCompose(step -> step);
        });
        closeStage = close.result;
        return close;
    }

    /** Releases every lock and place and forgets the session; only in the chain. */
    private CompletionStage<Step<Void>> releaseAll() {
        waiters.cancelAll(this);
        List<RedisLockStore.Release> grants = new ArrayList<>();
        held.forEach((lock, grant) -> {
            grant.releasing = true;
            grants.add(RedisLockStore.Release.ofToken(lock, grant.token, attempts.get()));
        });
        List<RedisLockStore.Release> places = new ArrayList<>();
        queued.forEach((lock, place) -> {
            place.stopTimer();
            places.add(RedisLockStore.Release.ofAttempt(lock, place.attemptId));
        });
        return store.release(id, grants, places).handle((v, e) -> {
            held.clear();
            queued.clear();
            closed = true;
            service.forget(this);
            return new Step<Void>(null, e == null ? null : RedisLockStore.backendFailure(e), null);
        });
    }

    @Override
    public void close() {
        awaitClose(closeAsync());
    }

    /**
     * Waits for {@code close}, unless called from one of this session's callbacks (a push, or a
     * stage's callback): the close is answered on the thread running that callback, after it
     * returns, so waiting there would never end, even on a callback executor of the application's.
     */
    void awaitClose(CompletionStage<Void> close) {
        if (events.runsHere()) {
            return;
        }
        try {
            close.toCompletableFuture().join();
        } catch (CompletionException e) {
            LOG.log(Level.WARNING, "Session ''{0}'' closed without reaching Redis; its locks free themselves when their leases run out: {1}",
                    name, e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
        }
    }

    @Override
    public String toString() {
        return "LockSession{name=" + name + ", id=" + id + ", held=" + held.size() + ", queued=" + queued.size()
                + (closing ? ", closed" : "") + "}";
    }

    @Override
    public java.time.Duration grace() {
        return java.time.Duration.ofMillis(graceMillis);
    }

    /** A session that cannot be resumed has no secret: see {@link Attachment}. */
    @Override
    public Optional<String> resumeSecret() {
        return Optional.empty();
    }

    @Override
    public CompletionStage<Void> detach() {
        return detach(epoch);
    }

    // ---- resuming ----

    String info() {
        return info;
    }

    byte[] secretHash() {
        return secretHash;
    }

    long gen() {
        return gen;
    }

    int epoch() {
        return epoch;
    }

    /** For tests: a resume is between its checks and its new epoch. */
    synchronized boolean isResuming() {
        return resuming;
    }

    long attemptCount() {
        return attempts.get();
    }

    boolean isDetached() {
        return detached;
    }

    /** A grant listed by the registry and proven by a renewal sent at {@code sentAtNanos} (an adoption). */
    void restoreGrant(String lock, long token, LockMode mode, long sentAtNanos) {
        held.put(lock, new Grant(token, mode, sentAtNanos));
    }

    /**
     * A queue place listed by the registry and proven by a keep-place sent at {@code sentAtNanos}
     * (an adoption); its request's timeout runs out in {@code timeoutLeftMillis} (none if negative),
     * armed by {@link #armRestoredTimeouts()}.
     */
    void restorePlace(String lock, String attemptId, long sentAtNanos, long timeoutLeftMillis) {
        Place place = new Place(attemptId, sentAtNanos);
        queued.put(lock, place);
        if (timeoutLeftMillis >= 0) {
            place.deadlineNanos = config.ticker().read() + TimeUnit.MILLISECONDS.toNanos(timeoutLeftMillis);
        }
    }

    /**
     * Once an adoption's proof has restored every grant: arms the restored places' timeouts. Armed
     * before, one that had run out while the session was detached fired at once, and its record
     * write listed none of the locks the proof had yet to restore; had the proof's own write failed
     * then, and the node died, the next adopter would not have proven them.
     */
    void armRestoredTimeouts() {
        long now = config.ticker().read();
        queued.forEach((lock, place) -> {
            if (place.deadlineNanos != 0) {
                armTimeout(lock, place, Math.max(0, TimeUnit.NANOSECONDS.toMillis(place.deadlineNanos - now)));
            }
        });
    }

    /**
     * Continues the attempt counter of the node the session came from, past a gap: attempt ids
     * name grants and places in Redis, and the record has the count of the last attempt that took
     * something. The old node may have sent later attempts that Redis has not seen yet (cut from
     * it, it does not know of the adoption); with the same ids, such a late lock would take the
     * adopter's grant for one the session let go and replace it. Past the gap they are older
     * than the adopter's and change nothing ({@code stale.lua}). The adoption
     * ({@code session-adopt.lua}) adds the gap, 2<sup>32</sup>, more attempts than a node makes
     * while it cannot reach Redis, and writes it at once: an adopter that dies before its first
     * record write leaves the next one a range past its own. Attempt ids stay exact in Lua's
     * numbers (below 2<sup>53</sup>) for two million adoptions.
     */
    void attemptsFrom(long count) {
        attempts.set(count);
    }

    /**
     * The id of this session's next lock attempt, for a request or for what an adoption takes over
     * (its proof renames each grant and place it keeps to an id of the adopter's: see
     * {@link LockService}'s {@code prove}).
     */
    String nextAttemptId() {
        return Long.toString(attempts.incrementAndGet());
    }

    /**
     * The attachment {@code fromEpoch} ended without {@code close}: keep the session for its grace
     * (see {@link LockSession#detach()}). A stale attachment's detach changes nothing.
     */
    CompletionStage<Void> detach(int fromEpoch) {
        return detach(fromEpoch, false);
    }

    /** Adopted by a resume that spent the secret hashed {@code spent}; its answer is not given yet ({@link #resumeAnswerOut}). */
    void secretSpent(byte[] spent) {
        spentSecretHash = spent;
        resumeAnswerOut = true;
    }

    /** See {@link #resumeAnswerOut}; for the registry's writes. */
    boolean resumeAnswerOut() {
        return resumeAnswerOut;
    }

    /**
     * The answer of the resume that made attachment {@code ofEpoch} was handed to its caller: unless the caller
     * said at once that it could not send it (then that detach gives the secret back), the record's 'pending'
     * goes now, with one more write.
     */
    void resumeAnswered(int ofEpoch) {
        if (!resumeAnswerOut || unansweredEpoch == ofEpoch || ofEpoch != epoch) {
            return;
        }
        resumeAnswerOut = false;
        if (!closing && !moved) {
            refreshRecord();
        }
    }

    /**
     * As {@link #detach(int)}; {@code unanswered}: the resume that made attachment {@code fromEpoch}
     * could not send its answer, so its client still holds the secret that resume spent, and never
     * got the new one: the spent one resumes the session again (as if that resume had not been).
     */
    CompletionStage<Void> detach(int fromEpoch, boolean unanswered) {
        if (graceMillis == 0) {
            return closeAsync();
        }
        if (unanswered) {
            unansweredEpoch = fromEpoch;
        }
        return enqueue(() -> {
            if (closing || moved || fromEpoch != epoch || detached) {
                return done(null);
            }
            if (unresumable) {
                closeAsync(); // behind this step: nobody could resume it
                return done(null);
            }
            if (unanswered && spentSecretHash != null) {
                secretHash = spentSecretHash; // written with the detached record below
            }
            if (unanswered) {
                resumeAnswerOut = false; // never given: the record's own secret is the spent one again, 'pending' goes
            }
            spentSecretHash = null;
            markDetached();
            try {
                graceTimer = service.scheduler().schedule(this::graceOver, graceMillis, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                closeAsync(); // the service is closing: so is this session
                return done(null);
            }
            return recordDetached();
        });
    }

    /**
     * The service is stopping: a resumable session is left in the registry, detached, for its
     * client to resume on another node while its leases last (nobody renews them from now on: a
     * rolling restart keeps the locks of clients that reconnect elsewhere). Nothing is released;
     * locks of a client that never comes back free themselves within a lease.
     */
    CompletionStage<Void> leaveForAnotherNode() {
        if (unresumable) {
            return closeAsync(); // no other node can resume it: ended here, as a session without a grace
        }
        return enqueue(() -> {
            if (closing || moved) {
                return done(null);
            }
            stopGraceTimer(); // this node will not end it: the registry's record and the leases do
            // Nor serve it: its waits would be re-checked for ever on an application's scheduler, and a place's
            // timeout would leave a queue for a session another node may have adopted meanwhile.
            waiters.cancelAll(this);
            queued.values().forEach(Place::stopTimer);
            if (!detached) {
                markDetached();
            }
            return recordDetached();
        });
    }

    /** From now on pushes are kept for the next listener, and the grace counts; only in the chain. */
    private void markDetached() {
        detached = true;
        keepingPushes = true;
        graceEndsAt = config.ticker().read() + TimeUnit.MILLISECONDS.toNanos(graceMillis);
    }

    /**
     * Writes the record as detached, so that any node can resume the session. Creates it only if
     * no write made it yet (the first one failed): a record that existed and is gone ended or
     * expired, and is not brought back. After the first write is answered: the two go on
     * different connections, and a first write that landed after this one and an end-claim
     * would bring an ended session's record back. Only in the chain.
     */
    private CompletionStage<Step<Void>> recordDetached() {
        lastWritten = null; // the next tick writes the record whole
        return firstRecord.thenCompose(v -> service.registry().put(this, true, !recordExisted)).handle((written, e) -> {
            if (e != null) {
                LOG.log(Level.DEBUG, "Could not mark session ''{0}'' detached in the registry: {1}", name, e.getMessage());
            } else if (written == 1L) {
                recordExisted = true;
            } else if (written == 0L) {
                movedAway(false); // another node adopted it
            } else if (written == -1L) {
                recordLost();
            }
            return Step.<Void>of(null);
        });
    }

    /**
     * A write found no record (and did not create it). If the record had existed, it is lost for good (no
     * write brings it back, see {@link #recordExisted}): the session cannot be resumed, so it ends at its
     * detach, now if it is detached already; the end-claim then finds no record and releases its locks.
     */
    private void recordLost() {
        if (!recordExisted || closing || moved) {
            return; // never written yet (the detach creates it), or ending anyway
        }
        if (!unresumable) {
            unresumable = true;
            service.recordsLost().happened(name);
        }
        if (detached) { // also when a detach looked at the flag before this write set it
            closeAsync();
        }
    }

    /** The grace timer ran out: close as by {@code close}, unless a resume came first (the chain orders the two). */
    private void graceOver() {
        enqueue(() -> {
            if (detached && !closing && !moved && config.ticker().read() - graceEndsAt >= 0) {
                closeAsync();
            }
            return done(null);
        });
    }

    private void stopGraceTimer() {
        if (graceTimer != null) {
            graceTimer.cancel(false);
            graceTimer = null;
        }
    }

    /**
     * Resumes the session on this node for {@code next} if the registry still says this node owns
     * generation {@code expectedGen}: in the chain, so that it is ordered with the end of the grace.
     * The answer comes first, then the pushes kept while detached, to {@code next}; an attached
     * listener is told {@link LockListener#resumedElsewhere()}.
     */
    CompletionStage<ResumeResult> resumeHere(SessionRegistry.Entry read, LockListener next, String secret, byte[] hash) {
        return enqueue(() -> {
            synchronized (this) { // with closeAsync(int): a close comes before this check, or sees resuming
                if (!closing && !moved && resumeAnswerOut && !Long.toString(gen).equals(read.gen())
                        && spentSecretHash != null && java.security.MessageDigest.isEqual(read.secretHash(), spentSecretHash)) {
                    // The secret the resume just before this one spent, whose answer has not been given: its
                    // client may never get it, and then that secret resumes the session again (detach(int, boolean)).
                    return CompletableFuture.completedFuture(new Step<ResumeResult>(null, LockService.resumeInProgress(), null));
                }
                if (closing || moved || !Long.toString(gen).equals(read.gen())
                        || (detached && config.ticker().read() - graceEndsAt >= 0)) {
                    return done(LockService.expired());
                }
                resuming = true;
            }
            return service.registry().adopt(id, read, hash, false).handle((adopted, e) -> {
                try {
                    if (e != null) {
                        service.rememberUnsure(id, secretHash, read, secret, hash); // it may have run: see LockService.unsure
                        return new Step<ResumeResult>(null, RedisLockStore.backendFailure(e), null);
                    }
                    if (adopted == null) {
                        return Step.<ResumeResult>of(LockService.expired());
                    }
                    // The hash before the generation: a record write (which now writes the secret too) that reads
                    // the new generation reads the new hash; one with the old generation is ignored by Redis.
                    resumeAnswerOut = true; // before the generation: no write of the new one clears 'pending' before the answer
                    spentSecretHash = secretHash;
                    secretHash = hash;
                    gen = adopted.gen();
                    detached = false; // pushes are still kept until the next listener takes over (keepingPushes)
                    stopGraceTimer();
                    int nextEpoch = ++epoch;
                    ResumeResult.Resumed resumed = new ResumeResult.Resumed(new Attachment(this, nextEpoch, secret), heldNow(), queued.keySet(), secret);
                    return new Step<ResumeResult>(resumed, null, () -> {
                        // A listener whose connection could not get the answer (it said so while the answer was
                        // delivered, just before this) never takes over: the kept pushes wait for the next resume.
                        if (unansweredEpoch != nextEpoch) {
                            switchTo(next);
                        } else if (!keepingPushes) {
                            // The session was attached: that connection's handle is stale now, so it is told,
                            // and pushes are kept from here on for the next resume.
                            keepingPushes = true;
                            try {
                                listener.resumedElsewhere();
                            } catch (RuntimeException thrown) {
                                LOG.log(Level.WARNING, "A session callback threw; ignored", thrown);
                            }
                        }
                    });
                } finally {
                    synchronized (this) {
                        resuming = false; // after the new epoch: a close from now on sees whether it is stale
                    }
                }
            });
        });
    }

    /** Only on {@link #events}: the next listener gets the kept pushes, in order, then every new one. */
    private void switchTo(LockListener next) {
        LockListener previous = listener;
        boolean wasAttached = !keepingPushes;
        listener = next;
        keepingPushes = false;
        overflowed = false;
        if (previous != next) {
            try {
                next.tookOverFrom(previous);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "A session callback threw; ignored", e);
            }
        }
        while (!kept.isEmpty()) {
            Consumer<LockListener> push = kept.poll();
            try {
                push.accept(next);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "A session callback threw; ignored", e);
            }
        }
        if (wasAttached && previous != next) {
            previous.resumedElsewhere();
        }
    }

    /** The locks held now, with token and mode. */
    Map<String, ResumeResult.Held> heldNow() {
        Map<String, ResumeResult.Held> now = new LinkedHashMap<>();
        held.forEach((lock, grant) -> now.put(lock, new ResumeResult.Held(grant.token, grant.mode)));
        return now;
    }

    /**
     * Another node adopted the session (or an end-claim found it had): forget it here without
     * releasing anything and stop renewing; an attached listener is told
     * {@link LockListener#resumedElsewhere()} if {@code tell}.
     */
    void movedAway(boolean tell) {
        synchronized (this) {
            if (moved || closed) {
                return;
            }
            moved = true;
            closing = true;
            if (closeStage == null) {
                closeStage = CompletableFuture.completedFuture(null);
            }
        }
        service.forget(this);
        waiters.cancelAll(this);
        queued.values().forEach(Place::stopTimer);
        Future<?> timer = graceTimer;
        if (timer != null) {
            timer.cancel(false);
        }
        events.execute(() -> {
            boolean wasAttached = !keepingPushes;
            closed = true;
            kept.clear();
            held.clear();
            queued.clear();
            if (tell && wasAttached) {
                listener.resumedElsewhere();
            }
        });
    }

    /**
     * After an operation of a resumable session: if its locks or places changed, bring its registry
     * record up to date now rather than at the next renewal tick. If the operation took a lock or a
     * place, the answer waits for that write (done when it is): a node killed right after answering
     * {@code LOCKED} leaves a record that lists the lock, so a resume elsewhere keeps it. What was
     * let go needs no wait: an adoption proves each listed lock and place with Redis. One write at a
     * time; changes meanwhile are written by one more. Only on {@link #events}.
     */
    private CompletableFuture<Void> recordChanges() {
        if (closing) {
            return DONE;
        }
        boolean took = false;
        for (Grant g : held.values()) {
            took |= !recorded.contains(g);
        }
        for (Place p : queued.values()) {
            took |= !recorded.contains(p);
        }
        if (!took && recorded.size() == held.size() + queued.size()) {
            return DONE;
        }
        recorded.clear();
        recorded.addAll(held.values());
        recorded.addAll(queued.values());
        CompletableFuture<Void> written = DONE;
        if (took) {
            written = new CompletableFuture<>();
            synchronized (awaitingRecord) {
                awaitingRecord.add(written);
            }
        }
        recordAgain = true;
        writeRecord();
        return written;
    }

    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    /**
     * What a record write lists: the grants and places by identity (a new grant or place is a new
     * object), each place's deadline (a repeated request may move it), the attempt counter and
     * whether the session is detached. A renewal tick that finds the record's last write still
     * true only extends its life ({@link SessionRegistry#touch}).
     */
    private static final class RecordState {
        private final boolean detached;
        private final long attempts;
        private final IdentityHashMap<Object, Long> entries = new IdentityHashMap<>();

        RecordState(boolean detached, long attempts, Collection<Grant> grants, Collection<Place> places) {
            this.detached = detached;
            this.attempts = attempts;
            grants.forEach(g -> entries.put(g, 0L));
            places.forEach(p -> entries.put(p, p.deadlineNanos()));
        }

        boolean sameAs(RecordState other) {
            if (other == null || other.detached != detached || other.attempts != attempts || other.entries.size() != entries.size()) {
                return false;
            }
            for (var e : entries.entrySet()) {
                Long theirs = other.entries.get(e.getKey());
                if (theirs == null || theirs.longValue() != e.getValue().longValue()) {
                    return false;
                }
            }
            return true;
        }
    }

    /** The record exists: an adoption just wrote it as this node's. */
    void recordAdopted() {
        recordExisted = true;
        firstRecord.complete(null);
    }

    /** See {@link #firstRecord}; for {@link Attachment#recorded()}. */
    CompletionStage<Void> firstRecord() {
        return firstRecord;
    }

    /**
     * Writes the session's record for the first time (the session just opened): the first of the
     * one-at-a-time writes, so a write after a change cannot overtake it and find no record.
     */
    void createRecord() {
        recording.set(true);
        service.registry().put(this, false, true).whenComplete((written, e) -> {
            if (e == null && written == 1L) {
                recordExisted = true;
            }
            if (e != null) {
                LOG.log(Level.DEBUG, "Could not write session ''{0}'' to the registry; it is written when it detaches: {1}",
                        name, e.getMessage());
            }
            recording.set(false);
            firstRecord.complete(null); // written, or not (then the detach writes it): the connect's answer goes
            writeAgainOrRelease(!closing);
        });
    }

    /**
     * After an adoption's proof: writes the record, which then lists the grants and places proven
     * under the attempt ids the proof gave them; done when written (or not: the answer goes either
     * way), as an answer that took a lock waits ({@link #recordChanges}). Until then the record names
     * the old node's ids, which Redis no longer has: a next adopter, after this node died right after
     * answering, could prove none of the places.
     */
    CompletionStage<Void> recordProof() {
        CompletableFuture<Void> written = new CompletableFuture<>();
        synchronized (awaitingRecord) {
            awaitingRecord.add(written);
        }
        refreshRecord();
        return written;
    }

    /** The renewal tick: rewrite the record (it also renews its lease), after any write out now. */
    void refreshRecord() {
        recordAgain = true;
        if (firstRecord.isDone()) {
            writeRecord();
        } // else a tick between open's track and createRecord: the create's write goes first, and writes again after it
    }

    private void writeRecord() {
        if (!recording.compareAndSet(false, true)) {
            return; // the write out now is followed by another (recordAgain)
        }
        recordAgain = false;
        List<CompletableFuture<Void>> answers = takeAwaitingAnswers(); // before the write reads the grants: it lists theirs
        // Taken before the write reads the session: a change in between is written by the next.
        RecordState state = new RecordState(detached, attemptCount(), held.values(), queued.values());
        boolean unchanged = state.sameAs(lastWritten);
        (unchanged ? service.registry().touch(this) : service.registry().put(this, detached, false)).whenComplete((written, e) -> {
            if (e == null && written == 1L) {
                recordExisted = true;
                lastWritten = state;
            } else {
                lastWritten = null;
            }
            if (e != null) {
                LOG.log(Level.DEBUG, "Could not update session ''{0}'' in the registry; the renewal tick writes it again: {1}",
                        name, e.getMessage());
            }
            recording.set(false);
            answers.forEach(a -> a.complete(null)); // written or not, the answer goes: the lock is held either way
            if (e == null && written == -1L) {
                recordLost();
            }
            if (e == null && written == 0L) {
                LOG.log(Level.DEBUG, "Session ''{0}'' was adopted by another node; letting it go", name);
                movedAway(true);
                writeAgainOrRelease(false);
            } else {
                writeAgainOrRelease(!closing);
            }
        });
    }

    /**
     * After a write: write again for the changes made meanwhile; if no write may follow (closing, moved
     * away), let the answers waiting for one go. Otherwise an answer waiting now is never let go here:
     * recordChanges adds it before it sets {@link #recordAgain}, and writeRecord clears that flag before it
     * takes the answers, so a write that did not take it is followed by another (this one's, seeing the
     * flag, or recordChanges' own) that does. Let go here, it could leave before any write listed its grant
     * (this write found the flag clear, then the answer was added).
     */
    private void writeAgainOrRelease(boolean mayWrite) {
        if (!mayWrite) {
            takeAwaitingAnswers().forEach(a -> a.complete(null));
        } else if (recordAgain) {
            writeRecord();
        }
    }

    private List<CompletableFuture<Void>> takeAwaitingAnswers() {
        synchronized (awaitingRecord) {
            List<CompletableFuture<Void>> answers = List.copyOf(awaitingRecord);
            awaitingRecord.clear();
            return answers;
        }
    }

    /**
     * Hands a push about {@code lock} to the listener, or keeps it for the next one while detached,
     * or holds it back while an answer that tells that lock waits for its registry write; only on
     * {@link #events}. A push counts its meter when it reaches a listener (inside {@code push}): a
     * kept one nobody resumes is not pushed.
     */
    private void deliver(String lock, Consumer<LockListener> push) {
        // Held back only if about a lock the answer tells, or behind a push of its lock held back: another waits
        // for no registry write (up to a third of the lease when Redis does not answer: a LOST must not).
        if (holdingPushes && (holdingFor == null || holdingFor.contains(lock) || heldBackAbout.contains(lock))) {
            heldBackAbout.add(lock);
            queuePush(heldBack, push);
            return;
        }
        deliverNow(push);
    }

    /** As {@link #deliver}, never held back behind an answer. */
    private void deliverNow(Consumer<LockListener> push) {
        if (!keepingPushes) {
            try {
                push.accept(listener);
            } catch (RuntimeException e) {
                // Logged and ignored (LockListener), here: the pushes told in the same task (a LOST for each
                // lock given up together, the steal after a GRANTED, held-back pushes) must still go.
                LOG.log(Level.WARNING, "A session callback threw; ignored", e);
            }
            return;
        }
        queuePush(kept, push);
    }

    /** The answer that held pushes back was delivered: they follow it, in order; only on {@link #events}. */
    private void releaseHeldPushes() {
        holdingPushes = false;
        holdingFor = null;
        heldAnswer = null;
        heldBackAbout.clear();
        while (!heldBack.isEmpty()) {
            deliverNow(heldBack.poll());
        }
    }

    /** Keeps a push in {@code queue}; past {@link #MAX_KEPT} the session is closed (a listener that far behind is gone). */
    private void queuePush(ArrayDeque<Consumer<LockListener>> queue, Consumer<LockListener> push) {
        if (queue.size() >= MAX_KEPT) {
            if (!overflowed) {
                overflowed = true;
                LOG.log(Level.INFO, "Session ''{0}'' has more than {1} pushes waiting for its listener; closing it", name, MAX_KEPT);
                closeAsync();
            }
            return;
        }
        queue.add(push);
    }

    // ---- used by the service, the waiters and the lease renewal ----

    Map<String, Grant> grants() {
        return held;
    }

    Set<String> waitedLocks() {
        return Collections.unmodifiableSet(waited);
    }

    /**
     * Tells the listener that a lock it waited for became free, at {@code releasedAtMicros}
     * on the Redis clock ({@link Waiters#RELEASE_TIME_UNKNOWN} if it was found by a re-check).
     */
    void retry(String lock, long releasedAtMicros) {
        events.execute(() -> {
            if (!closed) {
                deliver(lock, l -> {
                    service.telemetry().retryPushed(releasedAtMicros);
                    l.retry(lock);
                });
            }
        });
    }

    /**
     * {@code grant} of {@code lock} is lost: stop counting it as held and tell the listener. If
     * its lease could only not be proven ({@link LossCause#LEASE}), Redis may still have it:
     * ask Redis to free it, after the operations already queued, naming the grant so that it
     * frees nothing newer; not for a resumable session, whose grant may be another node's now
     * ({@link #freesWhatItGivesUp}): its lease frees it. Returns false if the grant was no longer
     * held, or (for {@link LossCause#LEASE}) its lease was proven since the caller looked.
     */
    boolean lose(String lock, Grant grant, LossCause cause) {
        // The lease is looked at again here, atomically with keep's refresh: a re-lock answered since
        // the renewal looked proved it anew and answers LOCKED with its token; a LOST of that grant
        // told now could reach the listener before that answer, which would then seem to outlive it.
        boolean[] given = new boolean[1];
        held.computeIfPresent(lock, (name, current) -> {
            if (current != grant || cause == LossCause.LEASE && !unprovable(current.leaseStartNanos)) {
                return current;
            }
            given[0] = true;
            return null;
        });
        if (!given[0]) {
            return false;
        }
        lost(lock, grant, cause);
        return true;
    }

    /** Tells the listener that {@code grant}, no longer counted as held, is lost (see {@link #lose}). */
    private void lost(String lock, Grant grant, LossCause cause) {
        pushLost(lock, grant.token, cause);
        if (cause == LossCause.LEASE && freesWhatItGivesUp()) {
            releaseLater(RedisLockStore.Release.ofToken(lock, grant.token, attempts.get()));
        }
    }

    /**
     * Whether this node frees in Redis a grant or place it gave up on its own (a lease or place it
     * could not prove, a timeout's leave that got no answer, a grant of a place it no longer has).
     * Not for a session with a grace: another node may have adopted it while this one could not
     * reach Redis (the adoption's notice lost with the link), and the release or leave, by the
     * session id with the token or attempt, which an adoption keeps, would free the adopter's grant
     * or drop its place once the link heals: another session granted the lock while the resumed
     * one holds it. Every release of a resumable session goes through the end-claim; what it gave
     * up is freed by its lease (PROTOCOL-v2.md, "Sessions across a dropped connection").
     */
    private boolean freesWhatItGivesUp() {
        return graceMillis == 0;
    }

    /** Lease renewal sent a renew command for {@code grant} at {@code sentAtNanos}. */
    void renewalSent(Grant grant, long sentAtNanos) {
        grant.renewals.sent(sentAtNanos);
    }

    /** Redis renewed {@code grant} with the command sent at {@code sentAtNanos}: its lease is proven from then. */
    void renewed(Grant grant, long sentAtNanos) {
        grant.proven(sentAtNanos);
        grant.renewals.done(sentAtNanos);
    }

    /** The renew command of {@code grant} sent at {@code sentAtNanos} got no answer, or was never sent: the next tick tries again. */
    void renewalFailed(Grant grant, long sentAtNanos) {
        grant.renewals.done(sentAtNanos);
    }

    /**
     * Redis answered that {@code grant} no longer holds {@code lock}: lost, unless an unlock of it
     * is out (then the unlock answers for it); stolen by {@code stolenBy} if Redis says a steal
     * ended it (its notice, handled in the chain, may come after this answer, or never), otherwise
     * taken. Returns true if the session was told; {@code decided} runs first (before the listener
     * may be told, on this thread).
     */
    boolean renewalRefused(String lock, Grant grant, String stolenBy, Runnable decided) {
        grant.renewals.clear();
        if (grant.releasing) {
            return false;
        }
        if (stolenBy == null) {
            if (!held.remove(lock, grant)) {
                return false;
            }
            decided.run();
            lost(lock, grant, LossCause.TAKEN);
            return true;
        }
        Runnable tell = takenBy(lock, grant, stolenBy);
        if (tell != null) {
            decided.run();
            events.execute(tell);
        }
        return tell != null;
    }

    Map<String, Place> places() {
        return queued;
    }

    /** For tests: how many pushes are kept for the next listener, read in turn with the pushes on {@link #events}. */
    CompletionStage<Integer> keptPushes() {
        CompletableFuture<Integer> size = new CompletableFuture<>();
        events.execute(() -> size.complete(kept.size()));
        return size;
    }

    /** For tests: the locks with a steal told ahead of the grant it ended. */
    Set<String> stealsToldAhead() {
        return Set.copyOf(stolenAhead.keySet());
    }

    /** For tests: the locks with an ask kept until the grant it asks for is known here. */
    Set<String> asksKeptAhead() {
        return Set.copyOf(askedAhead.keySet());
    }

    /**
     * The place of this session in {@code lock}'s queue that attempt {@code placeAttempt} took was
     * granted (told by the grant message, or found by lease renewal). Handled in the session's
     * chain, so it is told after the {@code QUEUED} answer. A grant is told only for the place it
     * was made to. A grant of a place the session does not have (it left the queue, or gave the
     * place up, or an adoption could not prove it) is given back, by that place's attempt: else
     * it held the lock, unknown to anyone, for the place's lease with the queue blocked behind it;
     * a resumable session's is left to that lease ({@link #freesWhatItGivesUp}). A grant told already (the session holds that token) is ignored.
     */
    void grantFound(String lock, String placeAttempt, long token, LockMode mode) {
        enqueue(() -> {
            Place place = queued.get(lock);
            if (place == null || !place.attemptId.equals(placeAttempt)) {
                Grant grant = held.get(lock);
                if (grant != null && grant.token == token) {
                    return done(null);
                }
                if (!freesWhatItGivesUp()) {
                    LOG.log(Level.DEBUG, "A grant of lock ''{0}'' to session ''{1}'', which no longer queues for it here, is left to its lease",
                            lock, name);
                    return done(null);
                }
                LOG.log(Level.DEBUG, "Giving back a grant of lock ''{0}'' to session ''{1}'', which no longer queues for it", lock, name);
                return leave(lock, placeAttempt);
            }
            return CompletableFuture.completedFuture(Step.granting(lock, adopt(lock, place, token, mode)));
        });
    }

    /**
     * Moves a queued request to the held locks. Its lease counts from the last time the place was
     * proven: the hand-over gave the grant what was left of the place's lease in Redis, never less.
     * A grant found only once that proof is two thirds of a lease old (its message or answer was
     * late: a stalled node, a slow link) is not told: Redis may have let it go and granted the lock
     * again meanwhile. The place is given up as lease renewal would give it up then ({@code
     * CANCELLED}, reason backend), and the grant freed. Returns what tells the listener of the
     * grant, or null if there is none to tell.
     */
    private Runnable adopt(String lock, Place place, long token, LockMode mode) {
        if (unprovable(place.confirmedAtNanos)) {
            if (givePlaceUp(lock, place)) {
                LOG.log(Level.DEBUG, "A grant of lock ''{0}'' to session ''{1}'' came when its place could no longer be proven: "
                        + "not told, and given back", lock, name);
            }
            return null;
        }
        if (!queued.remove(lock, place)) {
            return null;
        }
        place.stopTimer();
        return hold(lock, new Grant(token, mode, place.confirmedAtNanos));
    }

    /**
     * For an attempt answered with a grant that may be its place's (asked again while queued, the
     * place granted before or by the attempt's own hand-over, which does not extend that grant's
     * lease): whether that place's proof is two thirds of a lease old. Then the place ends, the
     * grant is given back (its release queued), and the attempt must not be answered with it
     * (see {@link #adopt}).
     */
    private boolean placeGrantTooLate(String lock, Place place) {
        if (!unprovable(place.confirmedAtNanos)) {
            return false;
        }
        if (dropPlace(lock, place) && freesWhatItGivesUp()) { // else lease renewal gave it up just now, and queued its leave
            leaveLater(lock, place);
        }
        return true;
    }

    /** Whether a lease or place last proven at {@code provenAtNanos} is given up now (see {@link LeaseRenewal}). */
    private boolean unprovable(long provenAtNanos) {
        return config.ticker().read() - provenAtNanos >= LeaseRenewal.loseAfterNanos(config.lease());
    }

    /**
     * Ends {@code place} without a grant: a steal told ahead of its grant is forgotten with it (that grant
     * is never adopted now; kept, it stayed for the session's life). Returns false if it had ended already.
     */
    private boolean dropPlace(String lock, Place place) {
        if (!queued.remove(lock, place)) {
            return false;
        }
        place.stopTimer();
        stolenAhead.remove(lock);
        askedAhead.remove(lock);
        return true;
    }

    /** Counts a grant of a queued request as held; returns what tells the listener {@code GRANTED} (and a steal told before it). */
    private Runnable hold(String lock, Grant grant) {
        long token = grant.token;
        LockMode mode = grant.mode;
        held.put(lock, grant);
        StolenAhead steal = stolenAhead.isEmpty() ? null : stolenAhead.remove(lock);
        Runnable stolen = steal != null && steal.token == token && config.ticker().read() - steal.atNanos < config.lease().toNanos()
                ? takenBy(lock, grant, steal.by) : null;
        return () -> {
            if (!closed && stolen == null && held.get(lock) != grant) {
                // Given up since (its lease counts from the place's proof): its LOST may have gone ahead of
                // this; told GRANTED now, the client would hold what the session let go. The request ends.
                cancelledNow(lock, CancelReason.BACKEND);
            } else if (!closed) {
                deliver(lock, l -> {
                    service.telemetry().grantedPushed();
                    l.granted(lock, token, mode);
                });
            }
            if (stolen != null) {
                stolen.run(); // the steal was told before this grant: it ends it now, after its GRANTED
            }
            AskedAhead ask = askedAhead.isEmpty() ? null : askedAhead.remove(lock);
            if (ask != null && held.get(lock) == grant) {
                tellAskedAhead(lock, ask); // asked before this grant was known here: told right after it
            }
        };
    }

    /**
     * A queued request's timeout ran out: leave the queue, unless it was granted meanwhile, or a
     * repeated request (answered while this waited its turn) set another timeout, or none.
     */
    private void timedOut(String lock, Place place) {
        enqueue(() -> {
            if (queued.get(lock) != place || moved || place.deadlineNanos == 0) {
                return done(null);
            }
            long left = place.deadlineNanos - config.ticker().read();
            if (left > 0) {
                armTimeout(lock, place, TimeUnit.NANOSECONDS.toMillis(left + TimeUnit.MILLISECONDS.toNanos(1) - 1));
                return done(null);
            }
            return store.leave(id, lock, place.attemptId).handle((where, e) -> {
                if (where instanceof RedisLockStore.Place.Holds holds) {
                    return Step.granting(lock, adopt(lock, place, holds.token(), holds.mode()));
                }
                if (!dropPlace(lock, place)) {
                    return Step.<Void>of(null);
                }
                if (e != null && freesWhatItGivesUp()) {
                    leaveLater(lock, place);
                }
                CancelReason reason = e == null && where instanceof RedisLockStore.Place.Gone ? CancelReason.BACKEND : CancelReason.TIMEOUT;
                return new Step<Void>(null, null, () -> cancelledNow(lock, reason));
            });
        });
    }

    /** Lease renewal sent a keep-place command for {@code place}. */
    void placeKeepSent(Place place, long sentAtNanos) {
        place.keeps.sent(sentAtNanos);
    }

    /** A keep-place command of {@code place}, sent at {@code sentAtNanos}, found it {@code where}. */
    void placeKept(String lock, Place place, RedisLockStore.Place where, long sentAtNanos) {
        place.keeps.done(sentAtNanos);
        if (where instanceof RedisLockStore.Place.InQueue) {
            place.confirmed(sentAtNanos);
        } else if (where instanceof RedisLockStore.Place.Holds holds) {
            grantFound(lock, place.attemptId, holds.token(), holds.mode());
        } else {
            enqueue(() -> {
                if (!dropPlace(lock, place)) {
                    return done(null);
                }
                return CompletableFuture.completedFuture(new Step<Void>(null, null, () -> cancelledNow(lock, CancelReason.BACKEND)));
            });
        }
    }

    /** The keep-place command of {@code place} sent at {@code sentAtNanos} got no answer: the next tick tries again. */
    void placeKeepFailed(Place place, long sentAtNanos) {
        place.keeps.done(sentAtNanos);
    }

    /**
     * The place of {@code lock} could not be proven for two thirds of the lease: give it up, tell
     * the listener, and leave the queue in Redis too (releasing a grant made meanwhile, which the
     * session was never told), unless the session is resumable ({@link #freesWhatItGivesUp}): then
     * the place and such a grant run out with their lease. Returns false if the place was no longer held.
     */
    boolean givePlaceUp(String lock, Place place) {
        if (!dropPlace(lock, place)) {
            return false;
        }
        events.execute(() -> cancelledNow(lock, CancelReason.BACKEND));
        if (freesWhatItGivesUp()) {
            leaveLater(lock, place);
        }
        return true;
    }

    /**
     * A session named {@code by} stole {@code lock} from the grant with {@code token}: if that is
     * the grant this session holds, it holds it no more. Handled in the session's chain, so it is
     * told after the answer of the lock request that got the grant. A steal of a queued request's
     * grant whose message has not come yet (the steal's overtook it) is kept for a lease: the grant
     * is told when it comes, and the steal right after it.
     */
    void stolen(String lock, long token, String by) {
        enqueue(() -> {
            Grant grant = held.get(lock);
            if (grant != null && grant.token == token) {
                return CompletableFuture.completedFuture(new Step<Void>(null, null, takenBy(lock, grant, by)));
            }
            if ((grant == null || grant.token < token) && queued.containsKey(lock)) { // a grant of that place may come
                long now = config.ticker().read();
                // Older than a lease, a steal is never told (see hold): nor kept.
                stolenAhead.values().removeIf(old -> now - old.atNanos >= config.lease().toNanos());
                stolenAhead.put(lock, new StolenAhead(token, by, now));
            }
            return done(null);
        });
    }

    /** A steal told before the grant it ended was known here. */
    private record StolenAhead(long token, String by, long atNanos) { }

    /** Ends {@code grant} of {@code lock}, stolen by {@code by}; returns what tells the listener, or null if it was not held. */
    private Runnable takenBy(String lock, Grant grant, String by) {
        if (!held.remove(lock, grant)) {
            return null;
        }
        return () -> {
            if (!closed) {
                deliver(lock, l -> {
                    service.telemetry().lostPushed();
                    l.stolen(lock, grant.token, by);
                });
            }
        };
    }

    /** A session named {@code by} (with {@code info}) queues for {@code lock} and asks this session, its holder, for it. */
    void asked(String lock, String by, String info) {
        events.execute(() -> {
            if (held.containsKey(lock)) {
                tellAsked(lock, by, info);
            } else if (queued.containsKey(lock)) {
                // Redis may have handed the lock to this session's queued request, whose GRANTED has not
                // come yet (another channel): kept for a lease, and told right after that grant (see hold).
                askedAhead.put(lock, new AskedAhead(by, info, config.ticker().read()));
            }
        });
    }

    /** An ask told before the grant it asks for was known here. */
    private record AskedAhead(String by, String info, long atNanos) { }

    /** An ask kept until the grant it asks for was known here (see {@link #asked}), told unless older than a lease. */
    private void tellAskedAhead(String lock, AskedAhead ask) {
        if (config.ticker().read() - ask.atNanos < config.lease().toNanos()) {
            tellAsked(lock, ask.by, ask.info);
        }
    }

    /** Tells the listener that {@code by} asks for {@code lock}; only on {@link #events}. */
    private void tellAsked(String lock, String by, String info) {
        // One ASKED per lock waits for the listener at most: others ask as often as they like,
        // and a detached holder's kept pushes must not fill up with theirs (past the bound the
        // session would be closed and its locks freed: a take-over without the right to steal).
        if (!closed && askedWaiting.add(lock)) {
            deliver(lock, l -> {
                askedWaiting.remove(lock);
                l.asked(lock, by, info);
            });
        }
    }

    /** {@link Waiters} registered a wait of this session for {@code lock}. */
    void waitingFor(String lock) {
        waited.add(lock);
    }

    /** {@link Waiters} ended this session's wait for {@code lock}. */
    void doneWaiting(String lock) {
        waited.remove(lock);
    }

    // ---- internals ----

    private void pushLost(String lock, long token, LossCause cause) {
        events.execute(() -> lostNow(lock, token, cause));
    }

    /** Tells the listener now that the grant of {@code lock} with {@code token} is lost; only on the session's serial executor. */
    private void lostNow(String lock, long token, LossCause cause) {
        if (closed) {
            return;
        }
        Consumer<LockListener> push = l -> {
            service.telemetry().lostPushed();
            l.lost(lock, token, cause);
        };
        if (holdingPushes && Set.of(lock).equals(holdingFor)) {
            // The answer waiting tells only this grant, now lost: the record it waits for need not list it, so it
            // goes now, what it held back behind it, then this LOST (a grant of a queue place: its lease counts
            // from the place's last proof and can be given up while the answer waits).
            try {
                heldAnswer.run();
            } finally {
                deliver(lock, push);
            }
            return;
        }
        deliver(lock, push);
    }

    /** Tells the listener now; only on the session's serial executor. */
    private void cancelledNow(String lock, CancelReason reason) {
        if (!closed) {
            deliver(lock, l -> l.cancelled(lock, reason));
        }
    }

    /** Queues a leave of {@code lock}'s queue behind this session's operations, releasing a grant of {@code place} made meanwhile. */
    private void leaveLater(String lock, Place place) {
        enqueue(() -> leave(lock, place.attemptId));
    }

    /** Leaves the place of {@code lock}'s queue that {@code placeAttempt} took, releasing its grant; only in the chain. */
    private CompletionStage<Step<Void>> leave(String lock, String placeAttempt) {
        if (moved) {
            return done(null); // the place, and any grant of it, are another node's now
        }
        return store.leave(id, RedisLockStore.Release.ofAttempt(lock, placeAttempt)).handle((where, e) -> {
            if (e != null) {
                LOG.log(Level.DEBUG, "Could not leave the queue of lock ''{0}'' for session ''{1}''; the place expires within a lease: {2}",
                        lock, name, e.getMessage());
            }
            return Step.<Void>of(null);
        });
    }

    /** Queues a release of one grant behind this session's operations; a grant that no longer holds the lock is left alone. */
    private void releaseLater(RedisLockStore.Release grant) {
        enqueue(() -> moved ? done(null) : store.unlock(id, grant, service::granted).handle((released, e) -> {
            if (e != null) {
                LOG.log(Level.DEBUG, "Could not release lock ''{0}'' given up by session ''{1}''; its lease frees it: {2}",
                        grant.lock(), name, e.getMessage());
            }
            return Step.<Void>of(null);
        }));
    }

    /**
     * A lock attempt on {@code names}, all or nothing, answered by {@code answer}: grants are kept
     * as held, a queued answer as a place in the queue, conflicts waited for, and waits that an
     * earlier {@code WAIT} promised are kept.
     */
    private <T> CompletionStage<Step<T>> acquire(List<String> names, boolean multi, LockOptions options,
                                                 Function<RedisLockStore.Attempt, T> answer) {
        Map<String, Waiters.Entry> entries = new LinkedHashMap<>();
        for (String lock : names) {
            entries.put(lock, waiters.beginAttempt(lock, this));
        }
        return attempt(names, multi, options, entries, answer, MAX_TRIES);
    }

    private <T> CompletionStage<Step<T>> attempt(List<String> names, boolean multi, LockOptions options, Map<String, Waiters.Entry> entries,
                                                 Function<RedisLockStore.Attempt, T> answer, int triesLeft) {
        Map<String, Grant> before = new HashMap<>();
        for (String lock : names) {
            Grant grant = held.get(lock);
            if (grant != null) {
                before.put(lock, grant);
            }
        }
        Place placeBefore = multi ? null : queued.get(names.get(0));
        boolean queuedBefore = placeBefore != null;
        String attemptId = nextAttemptId();
        long sentAt = config.ticker().read();
        CompletionStage<RedisLockStore.Attempt> call = multi
                ? store.lockAll(id, holder, names, tokensOf(before), attemptId, options.mode(), placeAttempts(names))
                : store.lock(id, holder, names.get(0), Optional.ofNullable(before.get(names.get(0))).map(g -> g.token), attemptId,
                        options.mode(), options.queued(),
                        queuedBefore ? placeBefore.attemptId : "", options.steal(), options.ask());
        return call.handle((attempt, e) -> {
            if (moved) {
                // Another node adopted the session while this was out: what Redis holds under its id is that
                // node's now. Nothing more goes to Redis from here (no undo, no second try, by this node's attempt ids).
                return CompletableFuture.completedFuture(new Step<T>(null,
                        new BackendUnavailableException("the session was resumed on another node", null), null));
            }
            if (e != null) {
                if (multi) {
                    // lock-all.lua knows nothing of places: it may have replaced a grant to one of them
                    // (handed over, its GRANTED not come yet) with this attempt's, which the undo then frees.
                    // Such a place must not take that GRANTED for a grant Redis still has: given up.
                    names.forEach(lock -> {
                        Place place = queued.get(lock);
                        if (place != null) {
                            givePlaceUp(lock, place);
                        }
                    });
                }
                // Even with a place known here, this attempt may have queued anew (Redis had lost that place):
                // the leave names this attempt, so it drops only such a new place.
                boolean mayHaveQueued = !multi && options.queued();
                return this.<T>failed(names, entries, before.keySet(), mayHaveQueued, attemptId, e);
            }
            if (placeBefore != null && queued.get(names.get(0)) != placeBefore) {
                // Lease renewal gave the place up while this request was out: its CANCELLED was told meanwhile, and
                // reaches the client after this answer (a connection places a push behind the replies it owes). So this
                // answers a failure, never that place or its grant (the leave queued behind this frees them), nor a new
                // place or grant the CANCELLED would seem to end: the client is left neither queued nor holding.
                return this.<T>failed(names, entries, before.keySet(), options.queued(), attemptId, placeGivenUpMeanwhile(names.get(0)));
            }
            if (attempt.queued() != null) {
                Step<T> queuedNow = queuedAt(names.get(0), placeBefore, options, attempt.queued().placeAttempt(), sentAt, entries,
                        answer.apply(attempt));
                // Else, as above, renewal gave the place up since (its leave and CANCELLED queued); this new place is left.
                return queuedNow != null ? CompletableFuture.completedFuture(endedFirst(queuedNow, names.get(0), before, attempt))
                        : this.<T>failed(names, entries, before.keySet(), true, attemptId, placeGivenUpMeanwhile(names.get(0)));
            }
            if (attempt.queueFull()) {
                return CompletableFuture.completedFuture(endedFirst(refusedFull(entries, answer.apply(attempt)), names.get(0), before, attempt));
            }
            if (!attempt.granted()) {
                return CompletableFuture.completedFuture(waitFor(attempt, entries, answer));
            }
            long provenAt = sentAt;
            Place place = placeBefore; // still the session's when looked at above; renewal may give it up at any time
            if (place != null) {
                // Maybe its place's grant (asked again while queued: see placeGrantTooLate), whose lease counts from the place's proof.
                if (placeGrantTooLate(names.get(0), place)) {
                    return askAgain(names, multi, options, entries, answer, triesLeft, before.keySet(), attemptId);
                }
                provenAt = place.confirmedAtNanos - sentAt < 0 ? place.confirmedAtNanos : sentAt;
            }
            if (!multi && options.mode() == LockMode.EXCLUSIVE && attempt.mode() == LockMode.SHARED) {
                Step<T> shared = grantedShared(names.get(0), place, attempt.tokens().get(0), sentAt, entries, answer.apply(attempt));
                return shared != null ? CompletableFuture.completedFuture(shared)
                        : this.<T>failed(names, entries, before.keySet(), false, attemptId, placeGivenUpMeanwhile(names.get(0)));
            }
            // Kept in the mode Redis granted: a shared request answered with its place's exclusive grant holds it exclusive.
            LockMode granted = multi || attempt.mode() == null ? options.mode() : attempt.mode();
            boolean revived = false;
            // A new grant of a lock the session queues for ends that place: granted by the hand-over this very attempt
            // ran (the attempt's answer tells it; an mlock may have replaced that grant with its own), or Redis had lost
            // the place and this grant is a new one.
            Map<String, Place> placesEnded = new HashMap<>();
            for (int i = 0; i < names.size(); i++) {
                Grant was = before.get(names.get(i));
                Place ended = multi ? queued.get(names.get(i)) : place;
                if (ended != null && (was == null || was.token != attempt.tokens().get(i))) {
                    placesEnded.put(names.get(i), ended);
                }
            }
            // An ask kept for the place's grant (see asked) is told after this answer: dropPlace forgets it.
            AskedAhead askAhead = !multi && !placesEnded.isEmpty() && !askedAhead.isEmpty() ? askedAhead.remove(names.get(0)) : null;
            if (!multi && !placesEnded.isEmpty() && !dropPlace(names.get(0), placesEnded.get(names.get(0)))) {
                // Lease renewal gave the place up since it was looked at above (on its own thread, at that very
                // boundary): as when that happened while the request was out, the grant may be the place's, which
                // the leave queued behind this frees. Ending the place first leaves no such window after it.
                return this.<T>failed(names, entries, before.keySet(), options.queued(), attemptId, placeGivenUpMeanwhile(names.get(0)));
            }
            // A lock held before whose grant is not the one Redis answers ended meanwhile (a steal, whose notice has
            // not come yet; or a lease Redis let run out): told before this answer, which a client would otherwise take
            // for a refresh of a grant it held all along; the notice that comes later finds another grant and is dropped.
            // By lock: what tells the listener (null if it was told already).
            Map<String, Runnable> replaced = new HashMap<>();
            for (int i = 0; i < names.size(); i++) {
                String lock = names.get(i);
                Grant was = before.get(lock);
                if (was != null && was.token != attempt.tokens().get(i)) {
                    replaced.put(lock, ended(lock, was, attempt.endedBy().get(lock)));
                }
                revived |= !keep(lock, attempt.tokens().get(i), granted, provenAt, was);
            }
            List<Runnable> endedTold = replaced.isEmpty() ? List.of() : replaced.values().stream().filter(Objects::nonNull).toList();
            if (revived) {
                // A lock this session held was given up as LOST while the attempt refreshed it in Redis (that grant's
                // release is queued). Its LOST was told meanwhile, before this answer: a grant answered now (even
                // asked for anew) would seem to outlive it, or be the one lost. A failure leaves nothing held, and
                // a place it ended is given up, told (CANCELLED): dropped silently, the client would wait for its grant.
                // A grant that ended meanwhile is told so (after this failure: the client still counts it); its new one undone.
                Set<String> heldAsBefore = new HashSet<>(before.keySet());
                heldAsBefore.removeAll(replaced.keySet());
                names.stream().filter(lock -> !heldAsBefore.contains(lock)).forEach(held::remove);
                endedTold.forEach(events::execute);
                placesEnded.forEach(this::givePlaceUp);
                return this.<T>failed(names, entries, heldAsBefore, false, attemptId,
                        new BackendUnavailableException("the lease of a held lock could not be proven (LOST); ask again", null));
            }
            if (multi) {
                // Given up meanwhile, a place's grant was still replaced by this attempt's, which its leave does not free.
                placesEnded.forEach(this::dropPlace); // and a steal told ahead of it with it
            }
            entries.forEach(waiters::attemptGranted);
            Grant grantAsked = askAhead == null ? null : held.get(names.get(0));
            String name = names.get(0);
            Grant told = multi ? null : held.get(name);
            Runnable endedFirst = endedTold.isEmpty() ? null : () -> endedTold.forEach(Runnable::run);
            // Its place ended with it: the client, told QUEUED, would wait for a grant that never comes.
            Runnable placeTold = placesEnded.containsKey(name) ? () -> cancelledNow(name, CancelReason.BACKEND) : null;
            return CompletableFuture.completedFuture(new Step<>(answer.apply(attempt), null,
                    askAhead == null ? null : () -> {
                        if (held.get(names.get(0)) == grantAsked) { // not lost meanwhile (as hold checks)
                            tellAskedAhead(names.get(0), askAhead);
                        }
                    },
                    endedFirst,
                    told == null ? null : () -> held.get(name) == told ? null : new Step<T>(null,
                            new BackendUnavailableException("the grant ended before its answer was given (LOST); ask again", null),
                            placeTold, endedFirst),
                    Set.copyOf(names)));
        }).thenCompose(step -> step);
    }

    /**
     * Ends {@code grant} of {@code lock}, which Redis no longer has: stolen by {@code by} (a thief the lock
     * script found), or else taken. Returns what tells the listener, or null if it was no longer held.
     */
    private Runnable ended(String lock, Grant grant, String by) {
        if (by != null) {
            return takenBy(lock, grant, by);
        }
        if (!held.remove(lock, grant)) {
            return null;
        }
        return () -> lostNow(lock, grant.token, LossCause.TAKEN);
    }

    private static BackendUnavailableException placeGivenUpMeanwhile(String lock) {
        return new BackendUnavailableException("the queue place of lock '" + lock
                + "' could not be kept while this request was out (CANCELLED); ask again", null);
    }

    /** The attempt ids of this session's places in {@code names}' queues, by lock. */
    private Map<String, String> placeAttempts(List<String> names) {
        Map<String, String> places = new HashMap<>();
        for (String lock : names) {
            Place place = queued.get(lock);
            if (place != null) {
                places.put(lock, place.attemptId);
            }
        }
        return places;
    }

    private static Map<String, Long> tokensOf(Map<String, Grant> grants) {
        Map<String, Long> tokens = new HashMap<>();
        grants.forEach((lock, grant) -> tokens.put(lock, grant.token));
        return tokens;
    }

    /**
     * The attempt was answered with its place's grant, which came too late to be told ({@link
     * #placeGrantTooLate}): the place ended silently (no CANCELLED), its leave is queued. Asks
     * again without the place, which lets that grant go in Redis; fails once the tries are used up.
     */
    private <T> CompletionStage<Step<T>> askAgain(List<String> names, boolean multi, LockOptions options, Map<String, Waiters.Entry> entries,
                                                  Function<RedisLockStore.Attempt, T> answer, int triesLeft, Set<String> heldBefore,
                                                  String attemptId) {
        if (triesLeft > 1) {
            return attempt(names, multi, options, entries, answer, triesLeft - 1);
        }
        return this.<T>failed(names, entries, heldBefore, false, attemptId,
                new BackendUnavailableException("the queue place of lock '" + names.get(0) + "' could not be proven; ask again", null));
    }

    /**
     * The attempt joined the lock's queue, or kept the place it had when it was sent ({@code had}; a
     * repeat takes the new request's timeout); {@code placeAttempt} names the place Redis has. The
     * session waits for its grant now, not for a {@code RETRY}. A kept place that lease renewal gave
     * up just now is not brought back: its CANCELLED follows this answer, and its leave is queued.
     * Null if Redis answered a new place while lease renewal gave up {@code had}: that CANCELLED,
     * which follows this answer, would seem to end the new place, so the request must fail.
     */
    private <T> Step<T> queuedAt(String lock, Place had, LockOptions options, String placeAttempt, long sentAt,
                                 Map<String, Waiters.Entry> entries, T result) {
        Place place = had;
        if (had == null || !had.attemptId.equals(placeAttempt)) {
            // A new place. If the session had one, Redis no longer did (lost in a failover, or granted
            // and stolen before the grant was told): it is replaced, so that the new place is kept,
            // left and granted to the session, and news of the old one (a keep-place that finds it
            // gone, a late grant) is ignored, not told as a CANCELLED or a grant of the new one.
            place = new Place(placeAttempt, sentAt);
            if (had == null) {
                queued.put(lock, place);
            } else if (queued.replace(lock, had, place)) { // one step with renewal's give-up of had: one wins
                had.stopTimer();
                stolenAhead.remove(lock); // a steal of the old place's grant, which is never adopted now, and an ask for it
                askedAhead.remove(lock);
            } else {
                return null;
            }
        }
        entries.forEach(waiters::attemptGranted);
        Place kept = place;
        kept.confirmed(sentAt);
        long deadlineBefore = kept.deadlineNanos;
        kept.deadlineNanos = options.timeout() == null ? 0 : config.ticker().read() + options.timeout().toNanos();
        if (kept == had && kept.deadlineNanos != deadlineBefore) {
            recorded.remove(kept); // the registry record keeps the deadline: written again, as for a new place
        }
        armTimeout(lock, kept, options.timeout() == null ? -1 : options.timeout().toMillis());
        // Tells the place: its CANCELLED or GRANTED, decided while the answer waits for its registry write, follows it.
        return new Step<>(result, null, null, null, null, Set.of(lock));
    }

    /** Starts {@code place}'s timeout, due in {@code millis} (none if negative), in place of the one it had. */
    private void armTimeout(String lock, Place place, long millis) {
        place.stopTimer();
        place.timeout = null;
        if (millis >= 0) {
            try {
                place.timeout = service.scheduler().schedule(() -> timedOut(lock, place), millis, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException ignored) {
                // the service is closing: so is this session
            }
        }
    }

    /**
     * An exclusive request (a steal too) was answered with the shared grant a hand-over made to this
     * session's queued request (asked again while queued, a request passes its place, and the place
     * was granted before, or by this very attempt). The session holds the lock shared, as Redis
     * granted it: it is told so as the grant of its queued request ({@code GRANTED}, shared, before
     * the answer), and the request gets {@code refusal}, as any exclusive request for a lock held
     * shared ({@link Refusal#HELD_SHARED}): it must not believe it holds exclusively what others may
     * hold shared, and nothing was stolen. {@code place} is the session's place when the request was
     * sent, if any. Null if that grant is not the session's after all (lease renewal gave the place
     * up, see {@link #adopt}): the request must ask again.
     */
    private <T> Step<T> grantedShared(String lock, Place place, long token, long sentAt, Map<String, Waiters.Entry> entries, T refusal) {
        Runnable tell = place != null ? adopt(lock, place, token, LockMode.SHARED) : hold(lock, new Grant(token, LockMode.SHARED, sentAt));
        if (tell == null) {
            return null;
        }
        entries.forEach(waiters::attemptGranted);
        return new Step<>(refusal, null, null, tell, null, Set.of(lock));
    }

    /**
     * A single-lock request not granted (queued, or the queue full) of a lock its session held: Redis no longer
     * has that grant, or it would have refreshed it. It ended meanwhile (a steal whose notice has not come, a
     * lease Redis let run out): told before {@code step}'s answer, as for a granted request, not overwritten
     * unheard by the grant of the new place.
     */
    private <T> Step<T> endedFirst(Step<T> step, String lock, Map<String, Grant> before, RedisLockStore.Attempt attempt) {
        Grant was = before.get(lock);
        Runnable told = was == null ? null : ended(lock, was, attempt.endedBy().get(lock));
        if (told == null) {
            return step;
        }
        Runnable first = step.first();
        return new Step<>(step.result(), step.failure(), step.then(), first == null ? told : () -> {
            told.run();
            first.run();
        }, step.ifLostMeanwhile(), step.tells());
    }

    /** The queue was full: nothing changed, and a wait that an earlier {@code WAIT} promised goes on. */
    private <T> Step<T> refusedFull(Map<String, Waiters.Entry> entries, T result) {
        List<String> freed = new ArrayList<>();
        entries.forEach((lock, entry) -> {
            if (waiters.attemptFailed(lock, entry)) {
                freed.add(lock);
            }
        });
        return new Step<>(result, null, () -> freed.forEach(lock -> retry(lock, Waiters.RELEASE_TIME_UNKNOWN)));
    }

    /** Not granted: wait for each conflict, and keep the promise of any earlier {@code WAIT} for a lock found free. */
    private <T> Step<T> waitFor(RedisLockStore.Attempt attempt, Map<String, Waiters.Entry> entries,
                                Function<RedisLockStore.Attempt, T> answer) {
        Set<String> conflicting = new HashSet<>();
        for (RedisLockStore.Conflict c : attempt.conflicts()) {
            conflicting.add(c.lock());
            forgetStaleGrant(c.lock(), attempt.endedBy().get(c.lock()));
        }
        // A held lock of a multi-lock that a steal ended and that is free again (no conflict): told now too.
        attempt.endedBy().forEach((lock, by) -> {
            if (!conflicting.contains(lock)) {
                forgetStaleGrant(lock, by);
            }
        });
        List<String> freed = new ArrayList<>();
        entries.forEach((lock, entry) -> {
            if (!conflicting.contains(lock) && waiters.attemptFoundFree(lock, entry)) {
                freed.add(lock);
            }
        });
        return new Step<>(answer.apply(attempt), null, () -> {
            freed.forEach(lock -> retry(lock, Waiters.RELEASE_TIME_UNKNOWN));
            attempt.conflicts().forEach(c -> await(entries.get(c.lock()), c));
        });
    }

    /**
     * A lock attempt failed. If Redis may have granted it anyway (no answer came), release what
     * this attempt may have granted, by its id, before answering: the session's next request
     * cannot overtake that release, and a late one cannot free a later grant. Not for a resumable
     * session ({@link #freesWhatItGivesUp}): the uncertain grant is left to its lease.
     */
    private <T> CompletionStage<Step<T>> failed(List<String> names, Map<String, Waiters.Entry> entries, Set<String> heldBefore,
                                                boolean mayHaveQueued, String attemptId, Throwable e) {
        List<String> freed = new ArrayList<>();
        entries.forEach((lock, entry) -> {
            if (waiters.attemptFailed(lock, entry)) {
                freed.add(lock);
            }
        });
        Step<T> failure = new Step<>(null, RedisLockStore.backendFailure(e),
                () -> freed.forEach(lock -> retry(lock, Waiters.RELEASE_TIME_UNKNOWN)));
        List<RedisLockStore.Release> undo = new ArrayList<>();
        for (String lock : names) {
            if (!heldBefore.contains(lock)) {
                undo.add(RedisLockStore.Release.ofAttempt(lock, attemptId));
            }
        }
        // The attempt may have queued the session too, and the place may have been granted since: even for a lock
        // held before, whose grant may have ended meanwhile (a steal not told yet), so that Redis queued it.
        List<RedisLockStore.Release> leave = mayHaveQueued ? List.of(RedisLockStore.Release.ofAttempt(names.get(0), attemptId)) : List.of();
        if ((undo.isEmpty() && leave.isEmpty()) || RedisLockStore.undone(e) || !freesWhatItGivesUp()) {
            return CompletableFuture.completedFuture(failure);
        }
        return store.release(id, undo, leave).handle((v, undoFailure) -> {
            if (undoFailure != null) {
                LOG.log(Level.DEBUG, "Could not undo an uncertain grant of {0}; its lease frees it: {1}",
                        undo, undoFailure.getMessage());
            }
            return failure;
        });
    }

    /**
     * Runs the release of {@code grants} (of {@code locks}), answered by {@code answer}. If Redis
     * does not answer, it may have released them or not: the session gives them up ({@code LOST}
     * follows the failure) and releases them again once the operation ends, by token.
     */
    private CompletionStage<Step<UnlockResult>> release(List<String> locks, List<Grant> grants,
                                                        Supplier<CompletionStage<RedisLockStore.Unlocked>> call,
                                                        Function<RedisLockStore.Unlocked, Step<UnlockResult>> answer) {
        grants.forEach(g -> g.releasing = true); // before the command goes out: a renewal it makes Redis refuse is not a loss
        CompletionStage<RedisLockStore.Unlocked> sent;
        try {
            sent = call.get();
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e); // as if unanswered: given up, and released again later
        }
        return sent.handle((unlocked, e) -> {
            try {
                return released(locks, grants, unlocked, e, answer);
            } finally {
                // Only once this answer decided (the grants are no longer held): a renewal refused meanwhile, on
                // another thread, is this unlock's to tell, not a loss of its own.
                grants.forEach(g -> g.releasing = false);
            }
        });
    }

    private Step<UnlockResult> released(List<String> locks, List<Grant> grants, RedisLockStore.Unlocked unlocked, Throwable e,
                                        Function<RedisLockStore.Unlocked, Step<UnlockResult>> answer) {
        if (e != null) {
            Map<String, Long> givenUp = new LinkedHashMap<>();
            for (int i = 0; i < locks.size(); i++) {
                Grant grant = grants.get(i);
                if (held.remove(locks.get(i), grant)) {
                    givenUp.put(locks.get(i), grant.token);
                    releaseLater(RedisLockStore.Release.ofToken(locks.get(i), grant.token, attempts.get()));
                }
            }
            // LOST goes out before the failure is answered: the client's next request cannot come
            // between them, so no reply can make it think it still holds these locks.
            return new Step<UnlockResult>(null, RedisLockStore.backendFailure(e), null,
                    () -> givenUp.forEach((lock, token) -> lostNow(lock, token, LossCause.LEASE)));
        }
        if (unlocked.released()) {
            for (int i = 0; i < locks.size(); i++) {
                held.remove(locks.get(i), grants.get(i));
            }
        }
        return answer.apply(unlocked);
    }

    private void await(Waiters.Entry entry, RedisLockStore.Conflict c) {
        if (waiters.await(c.lock(), entry, c.token(), c.pttlMillis())) {
            retry(c.lock(), Waiters.RELEASE_TIME_UNKNOWN);
        }
    }

    /** Another session holds a lock this session still counted as its own: it was lost (stolen {@code by}, if known). */
    private void forgetStaleGrant(String lock, String by) {
        Grant stale = held.get(lock);
        Runnable told = stale == null ? null : ended(lock, stale, by);
        if (told != null) {
            events.execute(told);
        }
    }

    /**
     * Counts a granted lock as held. A refresh of the grant held before ({@code before}, same
     * token) extends it, unless it was given up meanwhile: then false, and it is not revived.
     */
    private boolean keep(String lock, long token, LockMode mode, long provenAtNanos, Grant before) {
        if (before == null || before.token != token) {
            held.put(lock, new Grant(token, mode, provenAtNanos));
            return true;
        }
        Grant kept = held.computeIfPresent(lock, (k, current) -> {
            if (current == before) {
                current.proven(provenAtNanos); // the re-lock extended the lease
            }
            return current;
        });
        return kept == before;
    }

    private Optional<Refused> checkNames(List<String> names) {
        if (names.isEmpty()) {
            return Optional.of(new Refused(Refusal.BAD_NAME, "no lock names given"));
        }
        if (names.size() > config.maxLocksPerRequest()) {
            return Optional.of(new Refused(Refusal.TOO_MANY_LOCKS,
                    "at most " + config.maxLocksPerRequest() + " locks in one request"));
        }
        for (String lock : names) {
            Optional<String> bad = Names.problem("lock name", lock, config.maxLockNameLength());
            if (bad.isPresent()) {
                return Optional.of(new Refused(Refusal.BAD_NAME, bad.get()));
            }
        }
        return store.slotProblem(names).map(problem -> new Refused(Refusal.BAD_NAME, problem));
    }

    /**
     * An exclusive request for a lock held shared is refused: it would be answered with the shared
     * grant. A shared request for a lock held exclusive gets the exclusive grant, which is more.
     */
    private Optional<Refused> upgrade(List<String> names, LockMode mode) {
        if (mode == LockMode.EXCLUSIVE) {
            for (String lock : names) {
                Grant grant = held.get(lock);
                if (grant != null && grant.mode == LockMode.SHARED) {
                    return Optional.of(heldShared(lock));
                }
            }
        }
        return Optional.empty();
    }

    private static Refused heldShared(String lock) {
        return new Refused(Refusal.HELD_SHARED, "lock '" + lock
                + "' is held shared by this session; unlock it before asking for it exclusive");
    }

    private Refused tooManyLocks() {
        return new Refused(Refusal.TOO_MANY_LOCKS, "a session holds at most " + config.maxLocksPerSession() + " locks");
    }

    private static Refused closedRefusal() {
        return new Refused(Refusal.SESSION_CLOSED, "the session is closed");
    }

    /**
     * Whether an operation of the attachment {@code asOf}, called while the session was
     * {@code closingWhenCalled}, is refused now that its turn has come. A close can take its place in
     * the chain between the caller's look at {@link #closing} and the caller's own place: when the
     * operation's turn comes, that close has ended the session ({@link #closed}), and a lock taken
     * now would be held in Redis by a session nobody renews or releases. A detached session's handle
     * is stale ({@link LockSession#detach()}): after {@link LockService#close()} left the session
     * for another node, nobody here would renew a lock it took, nor tell it {@code LOST}.
     */
    private boolean refusedAtItsTurn(boolean closingWhenCalled, int asOf) {
        return closingWhenCalled || closed || moved || detached || asOf != epoch;
    }

    /** Why an operation of the attachment {@code asOf} is refused: closed, detached, or resumed by another connection. */
    private Refused refusal(int asOf) {
        if (asOf != epoch) {
            return resumedElsewhereRefusal();
        }
        return detached && !closing ? new Refused(Refusal.SESSION_CLOSED, "the session is detached; only a resume gives a usable handle")
                : closedRefusal();
    }

    private static Refused resumedElsewhereRefusal() {
        return new Refused(Refusal.SESSION_CLOSED, "the session was resumed by another connection");
    }

    private static <T> CompletionStage<Step<T>> done(T result) {
        return CompletableFuture.completedFuture(Step.of(result));
    }

    /**
     * Runs {@code op} after every earlier operation of this session has been delivered, then
     * delivers its result (and runs its follow-up) on the session's serial executor.
     */
    private <T> CompletionStage<T> enqueue(Supplier<CompletionStage<Step<T>>> op) {
        Operation<T> operation;
        synchronized (this) {
            operation = reserve(op);
        }
        return operation.start();
    }

    /**
     * Takes the next place in the chain; {@link Operation#start} must follow, outside this
     * session's monitor: with a callback executor that runs tasks on the calling thread, a
     * result found at once is delivered, and the listener called, inside {@code start}.
     */
    private <T> Operation<T> reserve(Supplier<CompletionStage<Step<T>>> op) {
        assert Thread.holdsLock(this);
        Operation<T> operation = new Operation<>(tail, op);
        tail = operation.delivered;
        return operation;
    }

    /** One operation's place in the chain: it runs when {@code previous} is delivered. */
    private final class Operation<T> {
        private final CompletableFuture<Void> previous;
        private final Supplier<CompletionStage<Step<T>>> op;
        private final CompletableFuture<Void> delivered = new CompletableFuture<>();
        private final CompletableFuture<T> result = new CompletableFuture<>();
        private boolean answered; // only on events

        Operation(CompletableFuture<Void> previous, Supplier<CompletionStage<Step<T>>> op) {
            this.previous = previous;
            this.op = op;
        }

        CompletionStage<T> start() {
            previous.whenComplete((ignored, never) -> run());
            return result;
        }

        private void run() {
            CompletionStage<Step<T>> stage;
            try {
                stage = op.get();
            } catch (RuntimeException e) {
                stage = CompletableFuture.failedFuture(e);
            }
            stage.whenComplete((told, e) -> events.execute(() -> {
                // A grant given up between its keep (on Redisson's thread) and now (a queue place's, whose lease counts
                // from the place's last proof, at two thirds of it) had its LOST told ahead of this answer, or about to
                // be: answered now, it would seem to outlive its LOST. The lock is not held; the client asks again.
                Step<T> lostMeanwhile = e == null && told.ifLostMeanwhile() != null ? told.ifLostMeanwhile().get() : null;
                Step<T> step = lostMeanwhile != null ? lostMeanwhile : told;
                CompletableFuture<Void> recordedFirst = DONE;
                try {
                    if (e == null && step.first() != null) {
                        step.first().run();
                    }
                } finally {
                    if (graceMillis > 0) {
                        recordedFirst = recordChanges();
                    }
                    if (recordedFirst.isDone()) {
                        answer(step, e);
                    } else {
                        // What the session is told meanwhile about the locks this answer tells (a LOST of the grant
                        // it gives, an ASKED for it) comes after the answer, as LockListener promises.
                        holdingPushes = true;
                        holdingFor = e != null || step.failure() != null ? null : step.tells();
                        heldAnswer = () -> answer(step, e);
                        recordedFirst.whenComplete((v, never) -> events.execute(() -> answer(step, e)));
                    }
                }
            }));
        }

        /** Delivers the result, runs the follow-up, and lets the next operation run. */
        private void answer(Step<T> step, Throwable e) {
            if (answered) {
                return; // given early, its one grant lost (see lostNow)
            }
            answered = true;
            try {
                Throwable failure = e != null ? e : step.failure();
                if (failure != null) {
                    result.completeExceptionally(failure instanceof CompletionException && failure.getCause() != null
                            ? failure.getCause() : failure);
                } else {
                    result.complete(step.result());
                }
                releaseHeldPushes();
                if (e == null && step.then() != null) {
                    step.then().run();
                }
            } finally {
                delivered.complete(null);
            }
        }
    }
}
