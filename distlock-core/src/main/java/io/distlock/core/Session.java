package io.distlock.core;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collection;
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
import java.util.function.Supplier;

/**
 * The one implementation of {@link LockSession}.
 *
 * <p>Operations run one after another on a chain of stages ({@link #enqueue}): the next one
 * starts when the previous one's result has been delivered. Results and pushes go through
 * one {@link SerialExecutor}, so a push never overtakes the reply it follows.
 */
final class Session implements LockSession {

    private static final System.Logger LOG = System.getLogger(Session.class.getName());

    /** One grant of a lock to this session, as this node keeps it alive. */
    static final class Grant {
        final long token;
        /** When the last proven lease began (the send time of its lock or renew command). */
        volatile long leaseStartNanos;
        volatile boolean renewing;
        volatile boolean releasing;

        Grant(long token, long leaseStartNanos) {
            this.token = token;
            this.leaseStartNanos = leaseStartNanos;
        }
    }

    /** What an operation delivers, and what to do right after delivering it. */
    private record Step<T>(T result, Runnable then) {
        static <T> Step<T> of(T result) {
            return new Step<>(result, null);
        }
    }

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
            Waiters.Entry entry = waiters.beginAttempt(lock, this);
            Set<String> alreadyHeld = held.containsKey(lock) ? Set.of(lock) : Set.of();
            long sentAt = System.nanoTime();
            return store.lock(id, name, lock, alreadyHeld).<Step<LockResult>>handle((attempt, e) -> {
                if (e != null) {
                    waiters.endAttempt(lock, entry);
                    if (!RedisLockStore.undone(e)) {
                        undoUncertainGrants(List.of(lock));
                    }
                    throw RedisLockStore.backendFailure(e);
                }
                if (attempt.granted()) {
                    waiters.endAttempt(lock, entry);
                    long token = attempt.tokens().get(0);
                    keep(lock, token, sentAt);
                    return Step.<LockResult>of(new LockResult.Locked(token));
                }
                RedisLockStore.Conflict c = attempt.conflicts().get(0);
                forgetStaleGrant(lock);
                return new Step<>(new LockResult.Waiting(c.holder()), () -> await(entry, c));
            });
        });
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
            grant.releasing = true;
            return store.unlock(id, lock).<Step<UnlockResult>>handle((released, e) -> {
                if (e != null) {
                    grant.releasing = false;
                    throw RedisLockStore.backendFailure(e);
                }
                held.remove(lock, grant);
                if (released) {
                    return Step.<UnlockResult>of(UnlockResult.UNLOCKED);
                }
                // Redis no longer held it for us (its lease ran out): that is a lost lock, not a success.
                return new Step<>(new Refused(Refusal.NOT_OWNER, "lock '" + lock + "' was lost before it was released"),
                        () -> pushLost(lock));
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
            Map<String, Waiters.Entry> entries = new LinkedHashMap<>();
            for (String lock : names) {
                entries.put(lock, waiters.beginAttempt(lock, this));
            }
            Set<String> alreadyHeld = new HashSet<>();
            for (String lock : names) {
                if (held.containsKey(lock)) {
                    alreadyHeld.add(lock);
                }
            }
            long sentAt = System.nanoTime();
            return store.lockAll(id, name, names, alreadyHeld).<Step<MultiLockResult>>handle((attempt, e) -> {
                if (e != null) {
                    entries.forEach((lock, entry) -> waiters.endAttempt(lock, entry));
                    if (!RedisLockStore.undone(e)) {
                        undoUncertainGrants(names);
                    }
                    throw RedisLockStore.backendFailure(e);
                }
                if (attempt.granted()) {
                    entries.forEach((lock, entry) -> waiters.endAttempt(lock, entry));
                    Map<String, Long> tokens = new LinkedHashMap<>();
                    for (int i = 0; i < names.size(); i++) {
                        long token = attempt.tokens().get(i);
                        keep(names.get(i), token, sentAt);
                        tokens.put(names.get(i), token);
                    }
                    return Step.<MultiLockResult>of(new MultiLockResult.Locked(tokens));
                }
                Map<String, String> holders = new LinkedHashMap<>();
                for (RedisLockStore.Conflict c : attempt.conflicts()) {
                    holders.put(c.lock(), c.holder());
                    forgetStaleGrant(c.lock());
                }
                entries.forEach((lock, entry) -> {
                    if (!holders.containsKey(lock)) {
                        waiters.endAttempt(lock, entry);
                    }
                });
                return new Step<>(new MultiLockResult.Waiting(holders),
                        () -> attempt.conflicts().forEach(c -> await(entries.get(c.lock()), c)));
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
            for (String lock : names) {
                Grant grant = held.get(lock);
                if (grant == null) {
                    return done(new Refused(Refusal.NOT_OWNER, "lock '" + lock + "' is not held by this session"));
                }
                grants.add(grant);
            }
            grants.forEach(g -> g.releasing = true);
            return store.unlockAll(id, names).<Step<UnlockResult>>handle((released, e) -> {
                grants.forEach(g -> g.releasing = false);
                if (e != null) {
                    throw RedisLockStore.backendFailure(e);
                }
                if (!released) {
                    // Some lease ran out in Redis; nothing was released. Lease renewal finds
                    // which one and tells the session it was lost.
                    return Step.<UnlockResult>of(new Refused(Refusal.NOT_OWNER, "not every lock is still held by this session"));
                }
                for (int i = 0; i < names.size(); i++) {
                    held.remove(names.get(i), grants.get(i));
                }
                return Step.<UnlockResult>of(UnlockResult.UNLOCKED);
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
                List<String> locks = new ArrayList<>(held.keySet());
                held.values().forEach(g -> g.releasing = true);
                return store.releaseAll(id, locks).handle((v, e) -> {
                    held.clear();
                    closed = true;
                    service.forget(this);
                    if (e != null) {
                        throw RedisLockStore.backendFailure(e);
                    }
                    return Step.<Void>of(null);
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
        return waited;
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
     * The lease of {@code grant} can no longer be proven: stop counting it as held and tell
     * the listener. With {@code release}, also ask Redis to free it in case it still can.
     */
    void lose(String lock, Grant grant, boolean release) {
        if (!held.remove(lock, grant)) {
            return;
        }
        pushLost(lock);
        if (release) {
            store.unlock(id, lock).whenComplete((r, e) -> {
                if (e != null) {
                    LOG.log(Level.DEBUG, "Could not release lost lock ''{0}''; its lease frees it: {1}", lock, e.getMessage());
                }
            });
        }
    }

    // ---- internals ----

    private void pushLost(String lock) {
        events.execute(() -> {
            if (!closed) {
                service.telemetry().lostPushed();
                listener.lost(lock);
            }
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
            lose(lock, stale, false);
        }
    }

    private void keep(String lock, long token, long sentAtNanos) {
        Grant current = held.get(lock);
        if (current == null || current.token != token) {
            held.put(lock, new Grant(token, sentAtNanos));
        } else if (current.leaseStartNanos - sentAtNanos < 0) {
            current.leaseStartNanos = sentAtNanos; // the re-lock extended the lease
        }
    }

    /**
     * A lock command failed without an answer: Redis may have granted it anyway. Release
     * what this session did not already hold, so that nothing lingers until the lease ends.
     */
    private void undoUncertainGrants(List<String> locks) {
        for (String lock : locks) {
            if (!held.containsKey(lock)) {
                store.unlock(id, lock).whenComplete((r, e) -> {
                    if (e != null) {
                        LOG.log(Level.DEBUG, "Could not undo an uncertain grant of ''{0}''; its lease frees it: {1}", lock, e.getMessage());
                    }
                });
            }
        }
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
        return Optional.empty();
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
                        if (e != null) {
                            result.completeExceptionally(e instanceof CompletionException && e.getCause() != null ? e.getCause() : e);
                        } else {
                            result.complete(step.result());
                            if (step.then() != null) {
                                step.then().run();
                            }
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
