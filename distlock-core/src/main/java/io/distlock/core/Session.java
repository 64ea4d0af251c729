package io.distlock.core;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The one implementation of {@link LockSession}.
 *
 * <p>Operations run one after another on a chain of stages ({@link #enqueue}): the next one
 * starts when the previous one's result has been delivered. Results and pushes go through
 * one {@link SerialExecutor}, so a push never overtakes the reply it follows.
 *
 * <p>Why this file is long: it is the one owner of a session's grants and waits, and every
 * ordering promise (a release never overtaken by the next request, a LOST before the failure
 * that explains it, a RETRY after the WAIT it answers) is kept by the chain in this class; split
 * across classes, those promises would need shared state again.
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
        /** When the last proven lease began (the send time of its lock or renew command). */
        private volatile long leaseStartNanos;
        /** Set while a renew command of lease renewal is out. */
        private volatile boolean renewing;
        /** Set while an unlock of this grant is out: not renewed then, but still given up at two thirds of the lease. */
        private volatile boolean releasing;

        Grant(long token, long leaseStartNanos) {
            this.token = token;
            this.leaseStartNanos = leaseStartNanos;
        }

        long token() {
            return token;
        }

        long leaseStartNanos() {
            return leaseStartNanos;
        }

        /** Whether lease renewal should leave it alone for now: a renewal or an unlock of it is out. */
        boolean busy() {
            return renewing || releasing;
        }

        private void proven(long sentAtNanos) {
            if (leaseStartNanos - sentAtNanos < 0) {
                leaseStartNanos = sentAtNanos;
            }
        }
    }

    /**
     * What an operation delivers (its result, or its failure if not null), what to do right after
     * delivering it, and what to do right before (pushes that must reach the client first).
     */
    private record Step<T>(T result, Throwable failure, Runnable then, Runnable first) {
        Step(T result, Throwable failure, Runnable then) {
            this(result, failure, then, null);
        }

        static <T> Step<T> of(T result) {
            return new Step<>(result, null, null);
        }
    }

    /** Tries of one lock request whose refreshed grant is given up as LOST while Redis answers. */
    private static final int MAX_TRIES = 3;

    private final LockService service;
    private final RedisLockStore store;
    private final Waiters waiters;
    private final LockConfig config;
    private final String name;
    private final String id;
    private final LockListener listener;
    private final SerialExecutor events;
    private final Map<String, Grant> held = new ConcurrentHashMap<>();
    /** The locks this session waits for; kept by {@link Waiters}. */
    private final Set<String> waited = ConcurrentHashMap.newKeySet();
    /** Names each lock attempt, so that the undo of a grant whose answer never came frees only that grant. */
    private final AtomicLong attempts = new AtomicLong();

    private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null); // guarded by this
    private volatile boolean closing;
    private volatile boolean closed;
    private CompletionStage<Void> closeStage; // guarded by this

    Session(LockService service, RedisLockStore store, Waiters waiters, LockConfig config,
            String name, String id, LockListener listener, SerialExecutor events) {
        this.service = service;
        this.store = store;
        this.waiters = waiters;
        this.config = config;
        this.name = name;
        this.id = id;
        this.listener = listener;
        this.events = events;
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
    public boolean isClosed() {
        return closing;
    }

    @Override
    public CompletionStage<LockResult> lock(String lock) {
        boolean refused = closing;
        return enqueue(() -> {
            if (refused) {
                return done(closedRefusal());
            }
            Optional<String> bad = Names.problem("lock", lock, config.maxLockNameLength());
            if (bad.isPresent()) {
                return done(new Refused(Refusal.BAD_NAME, bad.get()));
            }
            if (!held.containsKey(lock) && held.size() >= config.maxLocksPerSession()) {
                return done(tooManyLocks());
            }
            return acquire(List.of(lock), false, attempt -> attempt.granted()
                    ? new LockResult.Locked(attempt.tokens().get(0))
                    : new LockResult.Waiting(attempt.conflicts().get(0).holder()));
        });
    }

    @Override
    public CompletionStage<LockResult> lock(String lock, LockOptions options) {
        if (options.equals(LockOptions.DEFAULT)) {
            return lock(lock);
        }
        return CompletableFuture.failedFuture(new UnsupportedOperationException("queued and shared locks: not built yet"));
    }

    @Override
    public CompletionStage<CancelResult> cancel(String lock) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("cancel: not built yet"));
    }

    @Override
    public CompletionStage<MultiLockResult> lockAll(Collection<String> locks, LockMode mode) {
        if (mode == LockMode.EXCLUSIVE) {
            return lockAll(locks);
        }
        return CompletableFuture.failedFuture(new UnsupportedOperationException("shared locks: not built yet"));
    }

    @Override
    public Set<String> queuedLocks() {
        return Set.of();
    }

    @Override
    public CompletionStage<UnlockResult> unlock(String lock) {
        boolean refused = closing;
        return enqueue(() -> {
            if (refused) {
                return done(closedRefusal());
            }
            Optional<String> bad = Names.problem("lock", lock, config.maxLockNameLength());
            if (bad.isPresent()) {
                return done(new Refused(Refusal.BAD_NAME, bad.get()));
            }
            Grant grant = held.get(lock);
            if (grant == null) {
                return done(new Refused(Refusal.NOT_OWNER, "lock '" + lock + "' is not held by this session"));
            }
            return release(List.of(lock), List.of(grant), store.unlock(id, RedisLockStore.Release.ofToken(lock, grant.token)),
                    released -> {
                        if (released) {
                            return Step.<UnlockResult>of(UnlockResult.UNLOCKED);
                        }
                        // Redis no longer held it for us (its lease ran out): that is a lost lock, not a success.
                        boolean wasHeld = held.remove(lock, grant);
                        return new Step<>(new Refused(Refusal.NOT_OWNER, "lock '" + lock + "' was lost before it was released"),
                                null, wasHeld ? () -> pushLost(lock, LossCause.TAKEN) : null);
                    });
        });
    }

    @Override
    public CompletionStage<MultiLockResult> lockAll(Collection<String> locks) {
        boolean refused = closing;
        List<String> names = locks == null ? List.of() : new ArrayList<>(new LinkedHashSet<>(locks));
        return enqueue(() -> {
            if (refused) {
                return done(closedRefusal());
            }
            Optional<Refused> bad = checkNames(names);
            if (bad.isPresent()) {
                return done(bad.get());
            }
            long newLocks = names.stream().filter(n -> !held.containsKey(n)).count();
            if (held.size() + newLocks > config.maxLocksPerSession()) {
                return done(tooManyLocks());
            }
            return acquire(names, true, attempt -> {
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
        boolean refused = closing;
        List<String> names = locks == null ? List.of() : new ArrayList<>(new LinkedHashSet<>(locks));
        return enqueue(() -> {
            if (refused) {
                return done(closedRefusal());
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
            return release(names, grants, store.unlockAll(id, names, tokens), released -> {
                if (released) {
                    return Step.<UnlockResult>of(UnlockResult.UNLOCKED);
                }
                // Some lease ran out in Redis; nothing was released. Lease renewal finds
                // which one and tells the session it was lost.
                return Step.<UnlockResult>of(new Refused(Refusal.NOT_OWNER, "not every lock is still held by this session"));
            });
        });
    }

    @Override
    public CompletionStage<Void> closeAsync() {
        synchronized (this) {
            if (closeStage != null) {
                return closeStage;
            }
            closing = true;
            closeStage = enqueue(() -> {
                waiters.cancelAll(this);
                List<RedisLockStore.Release> grants = new ArrayList<>();
                held.forEach((lock, grant) -> {
                    grant.releasing = true;
                    grants.add(RedisLockStore.Release.ofToken(lock, grant.token));
                });
                return store.release(id, grants).handle((v, e) -> {
                    held.clear();
                    closed = true;
                    service.forget(this);
                    return new Step<Void>(null, e == null ? null : RedisLockStore.backendFailure(e), null);
                });
            });
            return closeStage;
        }
    }

    @Override
    public void close() {
        try {
            closeAsync().toCompletableFuture().join();
        } catch (CompletionException e) {
            LOG.log(Level.WARNING, "Session ''{0}'' closed without reaching Redis; its locks free themselves when their leases run out: {1}",
                    name, e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
        }
    }

    @Override
    public String toString() {
        return "LockSession{name=" + name + ", id=" + id + ", held=" + held.size() + (closing ? ", closed" : "") + "}";
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
                service.telemetry().retryPushed(releasedAtMicros);
                listener.retry(lock);
            }
        });
    }

    /**
     * {@code grant} of {@code lock} is lost: stop counting it as held and tell the listener. If
     * its lease could only not be proven ({@link LossCause#LEASE}), Redis may still have it:
     * ask Redis to free it, after the operations already queued, naming the grant so that it
     * frees nothing newer. Returns false if the grant was no longer held.
     */
    boolean lose(String lock, Grant grant, LossCause cause) {
        if (!held.remove(lock, grant)) {
            return false;
        }
        pushLost(lock, cause);
        if (cause == LossCause.LEASE) {
            releaseLater(RedisLockStore.Release.ofToken(lock, grant.token));
        }
        return true;
    }

    /** Lease renewal sent a renew command for {@code grant}. */
    void renewalSent(Grant grant) {
        grant.renewing = true;
    }

    /** Redis renewed {@code grant} with the command sent at {@code sentAtNanos}: its lease is proven from then. */
    void renewed(Grant grant, long sentAtNanos) {
        grant.proven(sentAtNanos);
        grant.renewing = false;
    }

    /** A renew command of {@code grant} got no answer, or was never sent: the next tick tries again. */
    void renewalFailed(Grant grant) {
        grant.renewing = false;
    }

    /**
     * Redis answered that {@code grant} no longer holds {@code lock}: lost, unless an unlock of it
     * is out (then the unlock answers for it). Returns true if the session was told.
     */
    boolean renewalRefused(String lock, Grant grant) {
        grant.renewing = false;
        return !grant.releasing && lose(lock, grant, LossCause.TAKEN);
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

    private void pushLost(String lock, LossCause cause) {
        events.execute(() -> lostNow(lock, cause));
    }

    /** Tells the listener now; only on the session's serial executor. */
    private void lostNow(String lock, LossCause cause) {
        if (!closed) {
            service.telemetry().lostPushed();
            listener.lost(lock, cause);
        }
    }

    /** Queues a release of one grant behind this session's operations; a grant that no longer holds the lock is left alone. */
    private void releaseLater(RedisLockStore.Release grant) {
        enqueue(() -> store.unlock(id, grant).handle((released, e) -> {
            if (e != null) {
                LOG.log(Level.DEBUG, "Could not release lock ''{0}'' given up by session ''{1}''; its lease frees it: {2}",
                        grant.lock(), name, e.getMessage());
            }
            return Step.<Void>of(null);
        }));
    }

    /**
     * A lock attempt on {@code names}, all or nothing, answered by {@code answer}: grants are kept
     * as held, conflicts waited for, and waits that an earlier {@code WAIT} promised are kept.
     */
    private <T> CompletionStage<Step<T>> acquire(List<String> names, boolean multi, Function<RedisLockStore.Attempt, T> answer) {
        Map<String, Waiters.Entry> entries = new LinkedHashMap<>();
        for (String lock : names) {
            entries.put(lock, waiters.beginAttempt(lock, this));
        }
        return attempt(names, multi, entries, answer, MAX_TRIES);
    }

    private <T> CompletionStage<Step<T>> attempt(List<String> names, boolean multi, Map<String, Waiters.Entry> entries,
                                                 Function<RedisLockStore.Attempt, T> answer, int triesLeft) {
        Map<String, Grant> before = new HashMap<>();
        for (String lock : names) {
            Grant grant = held.get(lock);
            if (grant != null) {
                before.put(lock, grant);
            }
        }
        String attemptId = Long.toString(attempts.incrementAndGet());
        long sentAt = config.ticker().read();
        CompletionStage<RedisLockStore.Attempt> call = multi
                ? store.lockAll(id, name, names, before.keySet(), attemptId)
                : store.lock(id, name, names.get(0), before.keySet(), attemptId);
        return call.handle((attempt, e) -> {
            if (e != null) {
                return this.<T>failed(names, entries, before.keySet(), attemptId, e);
            }
            if (!attempt.granted()) {
                return CompletableFuture.completedFuture(waitFor(attempt, entries, answer));
            }
            boolean revived = false;
            for (int i = 0; i < names.size(); i++) {
                revived |= !keep(names.get(i), attempt.tokens().get(i), sentAt, before.get(names.get(i)));
            }
            if (revived) {
                // A lock this session held was given up as LOST while the attempt refreshed it in
                // Redis; that grant's release is queued. Never answer with it: ask again for a new grant.
                if (triesLeft > 1) {
                    return attempt(names, multi, entries, answer, triesLeft - 1);
                }
                names.stream().filter(lock -> !before.containsKey(lock)).forEach(held::remove);
                return this.<T>failed(names, entries, before.keySet(), attemptId,
                        new BackendUnavailableException("the leases of held locks could not be proven; try again", null));
            }
            entries.forEach(waiters::attemptGranted);
            return CompletableFuture.completedFuture(Step.of(answer.apply(attempt)));
        }).thenCompose(step -> step);
    }

    /** Not granted: wait for each conflict, and keep the promise of any earlier {@code WAIT} for a lock found free. */
    private <T> Step<T> waitFor(RedisLockStore.Attempt attempt, Map<String, Waiters.Entry> entries,
                                Function<RedisLockStore.Attempt, T> answer) {
        Set<String> conflicting = new HashSet<>();
        for (RedisLockStore.Conflict c : attempt.conflicts()) {
            conflicting.add(c.lock());
            forgetStaleGrant(c.lock());
        }
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
     * cannot overtake that release, and a late one cannot free a later grant.
     */
    private <T> CompletionStage<Step<T>> failed(List<String> names, Map<String, Waiters.Entry> entries, Set<String> heldBefore,
                                                String attemptId, Throwable e) {
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
        if (undo.isEmpty() || RedisLockStore.undone(e)) {
            return CompletableFuture.completedFuture(failure);
        }
        return store.release(id, undo).handle((v, undoFailure) -> {
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
    private CompletionStage<Step<UnlockResult>> release(List<String> locks, List<Grant> grants, CompletionStage<Boolean> call,
                                                        Function<Boolean, Step<UnlockResult>> answer) {
        grants.forEach(g -> g.releasing = true);
        return call.handle((released, e) -> {
            grants.forEach(g -> g.releasing = false);
            if (e != null) {
                List<String> givenUp = new ArrayList<>();
                for (int i = 0; i < locks.size(); i++) {
                    Grant grant = grants.get(i);
                    if (held.remove(locks.get(i), grant)) {
                        givenUp.add(locks.get(i));
                        releaseLater(RedisLockStore.Release.ofToken(locks.get(i), grant.token));
                    }
                }
                // LOST goes out before the failure is answered: the client's next request cannot come
                // between them, so no reply can make it think it still holds these locks.
                return new Step<UnlockResult>(null, RedisLockStore.backendFailure(e), null,
                        () -> givenUp.forEach(lock -> lostNow(lock, LossCause.LEASE)));
            }
            if (released) {
                for (int i = 0; i < locks.size(); i++) {
                    held.remove(locks.get(i), grants.get(i));
                }
            }
            return answer.apply(released);
        });
    }

    private void await(Waiters.Entry entry, RedisLockStore.Conflict c) {
        if (waiters.await(c.lock(), entry, c.token(), c.pttlMillis())) {
            retry(c.lock(), Waiters.RELEASE_TIME_UNKNOWN);
        }
    }

    /** Another session holds a lock this session still counted as its own: it was lost. */
    private void forgetStaleGrant(String lock) {
        Grant stale = held.get(lock);
        if (stale != null) {
            lose(lock, stale, LossCause.TAKEN);
        }
    }

    /**
     * Counts a granted lock as held. A refresh of the grant held before ({@code before}, same
     * token) extends it, unless it was given up meanwhile: then false, and it is not revived.
     */
    private boolean keep(String lock, long token, long sentAtNanos, Grant before) {
        if (before == null || before.token != token) {
            held.put(lock, new Grant(token, sentAtNanos));
            return true;
        }
        Grant kept = held.computeIfPresent(lock, (k, current) -> {
            if (current == before) {
                current.proven(sentAtNanos); // the re-lock extended the lease
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
            Optional<String> bad = Names.problem("lock", lock, config.maxLockNameLength());
            if (bad.isPresent()) {
                return Optional.of(new Refused(Refusal.BAD_NAME, bad.get()));
            }
        }
        return store.slotProblem(names).map(problem -> new Refused(Refusal.BAD_NAME, problem));
    }

    private Refused tooManyLocks() {
        return new Refused(Refusal.TOO_MANY_LOCKS, "a session holds at most " + config.maxLocksPerSession() + " locks");
    }

    private static Refused closedRefusal() {
        return new Refused(Refusal.SESSION_CLOSED, "the session is closed");
    }

    private static <T> CompletionStage<Step<T>> done(T result) {
        return CompletableFuture.completedFuture(Step.of(result));
    }

    /**
     * Runs {@code op} after every earlier operation of this session has been delivered, then
     * delivers its result (and runs its follow-up) on the session's serial executor.
     */
    private <T> CompletionStage<T> enqueue(Supplier<CompletionStage<Step<T>>> op) {
        CompletableFuture<T> result = new CompletableFuture<>();
        synchronized (this) {
            tail = tail.thenCompose(ignored -> {
                CompletionStage<Step<T>> stage;
                try {
                    stage = op.get();
                } catch (RuntimeException e) {
                    stage = CompletableFuture.failedFuture(e);
                }
                CompletableFuture<Void> delivered = new CompletableFuture<>();
                stage.whenComplete((step, e) -> events.execute(() -> {
                    try {
                        if (e == null && step.first() != null) {
                            step.first().run();
                        }
                        Throwable failure = e != null ? e : step.failure();
                        if (failure != null) {
                            result.completeExceptionally(failure instanceof CompletionException && failure.getCause() != null
                                    ? failure.getCause() : failure);
                        } else {
                            result.complete(step.result());
                        }
                        if (e == null && step.then() != null) {
                            step.then().run();
                        }
                    } finally {
                        delivered.complete(null);
                    }
                }));
                return delivered;
            });
        }
        return result;
    }
}
