package io.distlock.core;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import org.redisson.api.BatchOptions;
import org.redisson.api.RBatch;
import org.redisson.api.RFuture;
import org.redisson.api.RScript.Mode;
import org.redisson.api.RScriptAsync;
import org.redisson.api.RScript.ReturnType;
import org.redisson.api.RedissonClient;
import org.redisson.api.options.OptionalOptions;
import org.redisson.client.codec.StringCodec;

/**
 * Every Redis command the core sends. One lock is one hash, {@code <prefix>:lock:<name>}:
 *
 * <ul>
 *   <li>{@code owner}: the holding session's id (absent when free),</li>
 *   <li>{@code holder}: the holding session's name, for {@code Waiting},</li>
 *   <li>{@code token}: the last fencing token granted,</li>
 *   <li>{@code attempt}: the holding session's id of the lock attempt that granted it,</li>
 *   <li>{@code w}: present if someone was told to wait, so the release must be published.</li>
 * </ul>
 *
 * While held the key expires after the lease; once released it keeps only {@code token}
 * and expires after the token memory. A release that somebody waits for is published on
 * {@code <prefix>:released} as {@code <token>:<release time, µs of the Redis clock>:<name>}.
 * One more key, without expiry, names the Redis primary that granted last, so that a grant can
 * tell that Redis may have lost data and wait: {@code <prefix>:epoch} (one per hash slot in a
 * Cluster, see {@link #QUARANTINE}).
 *
 * <p>Each operation is one Lua script, so that the grant and its token, the refusal and
 * the holder's name, the all-or-nothing multi-lock and the publish-on-release are atomic.
 * Every release and renewal names the grant it means (owner and token, or owner and attempt
 * for a grant whose answer never came), so one that arrives late finds a newer grant and
 * changes nothing. No command is resent: each has a response timeout derived from the lease
 * ({@link #commandTimeout}) and no retry, whatever the Redisson client's own settings.
 * Why not Redisson's {@code RLock} or {@code RFencedLock}: they count re-entries (the
 * protocol's re-lock is not counted), cannot say who holds a lock, leave one token key per
 * name forever, and need several round trips for a multi-lock.
 *
 * <p>Why this file is long: each operation's call and the typed reading of its script's
 * positional answer belong together, and the grant path (replica sync, confirmation, undo)
 * is one piece. The scripts themselves are in {@code lua/}, running them in {@link Scripts},
 * replica knowledge in {@link ReplicaSync}, slot math in {@link ClusterSlots}.
 */
final class RedisLockStore {

    private static final System.Logger LOG = System.getLogger(RedisLockStore.class.getName());

    /** Marks a Redis that was started empty just now as in service ({@code KEYS[1]}: the marker), unless marked already. */
    private static final LuaScript MARK_IN_SERVICE = LuaScript.load("mark-in-service");

    /**
     * Lock ({@code KEYS}: the lock, the quarantine marker; {@code ARGV}: owner, holder, lease, ask
     * for replicas, quarantine on, held flags, attempt id): {@code {1, token, fresh, replicas}}
     * ({@code fresh} is 1 for a new grant, 0 for a re-lock) or {@code {0, holder, token, pttl,
     * replicas}}; during a quarantine {@code holder} is nil, {@code token} the one a grant would
     * have had, {@code pttl} what is left of the quarantine.
     */
    private static final LuaScript LOCK = LuaScript.load("replicas", "quarantine", "stale", "lock");

    /**
     * Lock all ({@code KEYS}: the locks, then the quarantine marker): {@code {1, (token,
     * fresh)..., replicas}} in key order, or {@code {0, (index, holder, token, pttl)...,
     * replicas}}; during a quarantine, every requested lock that is free, with a nil holder as
     * in {@link #LOCK}.
     */
    private static final LuaScript LOCK_ALL = LuaScript.load("replicas", "quarantine", "stale", "lock-all");

    /**
     * Unlock the grant named by {@code ARGV}: owner, token memory, channel, lock name, then the
     * grant's token or its attempt id (the other empty). 1, or 0 if that grant does not hold the
     * lock (nothing changed): a late release of an older grant leaves a newer one alone.
     */
    private static final LuaScript UNLOCK = LuaScript.load("unlock");

    /**
     * Unlock all: 1, or 0 if any is not held by the grant named (nothing changed). {@code ARGV}:
     * owner, token memory, channel, the names, then their tokens.
     */
    private static final LuaScript UNLOCK_ALL = LuaScript.load("unlock-all");

    /** Renew ({@code ARGV}: owner, lease, token): 1, or 0 if that grant no longer holds the lock. */
    private static final LuaScript RENEW = LuaScript.load("renew");

    /**
     * Peek ({@code KEYS}: the lock, the quarantine marker; {@code ARGV[1]} is 1 when the
     * quarantine is on): {@code {owner or '', token or '', pttl, 0}}, or, for a free lock while a
     * quarantine runs, {@code {'', token or '', what is left of the quarantine, 1}}: a re-check
     * does not tell waiters a lock is free while no lock can be granted. It only honours a
     * quarantine that a grant started; it does not look for a data loss itself. A fifth element
     * is the Redis clock in µs: any later grant of the lock has a larger token.
     */
    private static final LuaScript PEEK = LuaScript.load("peek");

    /**
     * What a lock looks like in Redis: {@code owner} is empty when nobody holds it. While a
     * quarantine after a possible data loss runs, a lock nobody holds is not {@link #free()}
     * ({@code quarantined}), and {@code pttlMillis} is what is left of the quarantine.
     */
    record LockState(String owner, long token, long pttlMillis, boolean quarantined, long redisMicros) {
        boolean free() {
            return owner.isEmpty() && !quarantined;
        }

        /**
         * Every grant with a token up to this one had ended when the lock was looked at; a grant
         * made later has a larger token (the lock's last token, or the Redis clock if Redis has
         * forgotten the lock). {@link Long#MIN_VALUE} during a quarantine: nothing can be said.
         */
        long endedUpTo() {
            if (quarantined) {
                return Long.MIN_VALUE;
            }
            if (!owner.isEmpty()) {
                return token - 1;
            }
            return token > 0 ? token : redisMicros - 1;
        }
    }

    /**
     * A release message as {@link #UNLOCK} and {@link #UNLOCK_ALL} publish it on {@link #channel()}:
     * {@code <token>:<released at, µs of the Redis clock>:<name>} (the name may contain colons).
     */
    record Released(String lock, long token, long releasedAtMicros) {

        /** @throws IllegalArgumentException if {@code message} is not a release message */
        static Released parse(String message) {
            int first = message.indexOf(':');
            int second = first < 0 ? -1 : message.indexOf(':', first + 1);
            if (second < 0) {
                throw new IllegalArgumentException("not a release message: " + message);
            }
            return new Released(message.substring(second + 1), Long.parseLong(message.substring(0, first)),
                    Long.parseLong(message.substring(first + 1, second)));
        }
    }

    /** One lock held by another session, as seen by a lock attempt. */
    record Conflict(String lock, String holder, long token, long pttlMillis) { }

    /** The answer of a lock attempt: tokens if granted, otherwise the conflicts. */
    record Attempt(List<Long> tokens, List<Conflict> conflicts) {
        boolean granted() {
            return conflicts.isEmpty();
        }
    }

    /** A lock script's answer: the attempt, the locks it newly granted, the primary's replicas (-1: not asked). */
    private record Answer(Attempt attempt, List<String> fresh, int replicas) { }

    private final RedissonClient redisson;
    private final Scripts scripts;
    private final Duration commandTimeout;
    private final String lockKeyPrefix;
    private final String channel;
    private final String leaseMillis;
    private final String tokenMemoryMillis;
    /** {@code null} when grants do not wait for replicas. */
    private final ReplicaSync replicaSync;
    /** {@code ARGV[5]} of the lock scripts: "1" when the quarantine after a possible data loss is on. */
    private final String quarantine;
    private final String markerKey;
    private final boolean cluster;
    /** When this node last logged the start of a quarantine it met (System.nanoTime), for one warning per quarantine. */
    private final AtomicLong quarantineLoggedUntil;
    private final Ticker ticker;

    RedisLockStore(RedissonClient redisson, LockConfig config) {
        this.redisson = redisson;
        this.cluster = redisson.getConfig().isClusterConfig();
        this.commandTimeout = commandTimeout(config.lease());
        this.scripts = new Scripts(redisson.getScript(OptionalOptions.defaults().codec(StringCodec.INSTANCE)
                .timeout(commandTimeout).retryAttempts(0)), cluster);
        this.lockKeyPrefix = config.keyPrefix() + ":lock:";
        this.channel = config.keyPrefix() + ":released";
        this.leaseMillis = Long.toString(config.lease().toMillis());
        this.tokenMemoryMillis = Long.toString(config.tokenMemory().toMillis());
        this.replicaSync = config.replicaSync().isZero() ? null : new ReplicaSync(config.replicaSync(), cluster, config.ticker());
        this.quarantine = config.dataLossQuarantine() ? "1" : "0";
        this.markerKey = config.keyPrefix() + ":epoch";
        this.ticker = config.ticker();
        this.quarantineLoggedUntil = new AtomicLong(ticker.read());
    }

    /** For a Redis this application started empty just now: no quarantine to wait out (see {@link LockConfig#newRedis()}). */
    CompletionStage<Long> markInService() {
        return scripts.eval(MARK_IN_SERVICE, ReturnType.LONG, List.<Object>of(markerKey));
    }

    /** The pub/sub channel that carries {@code <token>:<released at µs>:<name>} for every release somebody waits for. */
    String channel() {
        return channel;
    }

    String key(String lock) {
        return lockKeyPrefix + lock;
    }

    /**
     * The quarantine marker that a grant of the lock {@code lockKey} checks: {@code <prefix>:epoch}
     * for the one primary. In a Cluster a script may only touch keys of its own slot, and each
     * slot has its own primary, so each slot has its own marker, {@code <prefix>:epoch:{<n>}},
     * with a hash tag {@code n} chosen so that the marker is in the slot of the lock.
     */
    String markerKey(String lockKey) {
        return cluster ? markerKey + ":{" + ClusterSlots.Tags.tag(ClusterSlots.slot(lockKey)) + "}" : markerKey;
    }

    /**
     * Why {@code locks} cannot be taken or released in one request, if so: in a Redis Cluster a
     * script only touches keys of one hash slot, so a multi-lock over several slots is refused
     * before anything is sent (it would fail in Redis with CROSSSLOT).
     */
    Optional<String> slotProblem(List<String> locks) {
        if (!cluster || locks.size() < 2) {
            return Optional.empty();
        }
        int first = ClusterSlots.slot(key(locks.get(0)));
        for (String lock : locks) {
            if (ClusterSlots.slot(key(lock)) != first) {
                return Optional.of("in a Redis Cluster the locks of one request must share a hash slot: give them a common "
                        + "{hash tag}, as in '{doc-42}:text' and '{doc-42}:images' ('" + locks.get(0) + "' and '" + lock + "' do not)");
            }
        }
        return Optional.empty();
    }

    /**
     * Takes {@code lock} for {@code owner}. With replica sync on, a grant is answered only once a
     * replica confirmed it (see {@link ReplicaSync}); otherwise it is released again, unless the
     * session held it before ({@code alreadyHeld}), and the stage fails with
     * {@link BackendUnavailableException} ({@link #undone(Throwable)} is then true).
     */
    CompletionStage<Attempt> lock(String owner, String holder, String lock, Set<String> alreadyHeld, String attemptId) {
        return grant(LOCK, owner, holder, List.of(lock), alreadyHeld, attemptId, r -> {
            int replicas = (int) asLong(r.get(r.size() - 1));
            if (asLong(r.get(0)) == 1) {
                return new Answer(new Attempt(List.of(asLong(r.get(1))), List.of()),
                        asLong(r.get(2)) == 1 ? List.of(lock) : List.of(), replicas);
            }
            return new Answer(new Attempt(List.of(), List.of(conflict(lock, r.get(1), r.get(2), r.get(3)))), List.of(), replicas);
        });
    }

    /** All of {@code locks} or none, with the same replica sync as {@link #lock}. */
    CompletionStage<Attempt> lockAll(String owner, String holder, List<String> locks, Set<String> alreadyHeld, String attemptId) {
        return grant(LOCK_ALL, owner, holder, locks, alreadyHeld, attemptId, r -> {
            int last = r.size() - 1;
            int replicas = (int) asLong(r.get(last));
            if (asLong(r.get(0)) == 1) {
                List<Long> tokens = new ArrayList<>(locks.size());
                List<String> fresh = new ArrayList<>();
                for (int i = 1; i < last; i += 2) {
                    if (asLong(r.get(i + 1)) == 1) {
                        fresh.add(locks.get(tokens.size()));
                    }
                    tokens.add(asLong(r.get(i)));
                }
                return new Answer(new Attempt(tokens, List.of()), fresh, replicas);
            }
            List<Conflict> conflicts = new ArrayList<>();
            for (int i = 1; i + 3 < last; i += 4) {
                String lock = locks.get((int) asLong(r.get(i)) - 1);
                conflicts.add(conflict(lock, r.get(i + 1), r.get(i + 2), r.get(i + 3)));
            }
            return new Answer(new Attempt(List.of(), conflicts), List.of(), replicas);
        });
    }

    /** A lock held by another session, or, with no holder, free but in the quarantine after a possible data loss. */
    private Conflict conflict(String lock, Object holder, Object token, Object pttl) {
        long pttlMillis = asLong(pttl);
        if (holder == null) {
            logQuarantine(pttlMillis);
            return new Conflict(lock, LockResult.Waiting.RECOVERING, asLong(token), pttlMillis);
        }
        return new Conflict(lock, asString(holder), asLong(token), pttlMillis);
    }

    private void logQuarantine(long pttlMillis) {
        long now = ticker.read();
        long loggedUntil = quarantineLoggedUntil.get();
        if (now - loggedUntil >= 0 && quarantineLoggedUntil.compareAndSet(loggedUntil, now + TimeUnit.MILLISECONDS.toNanos(pttlMillis))) {
            LOG.log(Level.WARNING, "Redis may have lost locks (it restarted, failed over, or was emptied): no lock is granted "
                    + "for {0} ms, until every session that held one before has been told it was lost", Long.toString(pttlMillis));
        }
    }

    /**
     * Runs a lock script and, with replica sync on, makes sure a replica has what it granted.
     *
     * <p>Only grants wait for replicas; releases and renewals do not, and need not:
     * <ul>
     *   <li>A grant lost in a failover is a lock that the promoted replica thinks is free: the
     *       next session gets it at once while the first still holds it. Nothing else can cover
     *       for that, so the grant waits for a replica.</li>
     *   <li>A lost release makes the promoted replica think the lock is still held by a session
     *       that let it go. Nobody renews it, so it frees itself within the lease: a lock free
     *       later than it should be, never two holders.</li>
     *   <li>A lost renewal leaves the promoted replica with the expiry of the last renewal (or the
     *       grant, which was confirmed) that reached it: the lease there ends earlier than this
     *       node believes, by as much as the replica lagged. What protects the holder is that its
     *       node tells it {@code LOST} at two thirds of the lease, measured from the send time of
     *       its last acknowledged renewal: the promoted replica lets the lock go no earlier than a
     *       lease after the last renewal it received, so as long as the replica lagged less than a
     *       third of the lease (renewals go out every sixth of it), the holder is told before
     *       anyone else can take the lock, and the renewals that reach the new primary put its
     *       expiry right again. A replica that lags more is caught by Redis's own
     *       {@code min-replicas-max-lag} (with {@code min-replicas-to-write}), if it is set.</li>
     * </ul>
     * Waiting on releases and renewals (Redisson 4.7 does, for its locks) would add a replica
     * round trip to every unlock and every renewal batch for none of these cases.
     */
    private CompletionStage<Attempt> grant(LuaScript s, String owner, String holder, List<String> locks,
                                           Set<String> alreadyHeld, String attemptId, Function<List<Object>, Answer> parse) {
        List<Object> keys = keys(locks);
        keys.add(markerKey((String) keys.get(0)));
        String held = heldFlags(locks, alreadyHeld);
        if (replicaSync == null) {
            return scripts.<List<Object>>eval(s, ReturnType.LIST, keys, owner, holder, leaseMillis, "0", quarantine, held, attemptId)
                    .thenApply(r -> parse.apply(r).attempt());
        }
        String key = (String) keys.get(0);
        ReplicaSync.Known known = replicaSync.known(key);
        boolean hasReplicas = known != null && known.replicas() > 0;
        // A lock attempt on locks the session holds already refreshes them, like a renewal: no WAIT.
        if (hasReplicas && !alreadyHeld.containsAll(locks)) {
            // One round trip: the script and WAIT, pipelined on one connection.
            return evalSynced(s, keys, owner, holder, leaseMillis, "1", quarantine, held, attemptId).thenCompose(synced -> {
                Answer a = parse.apply(synced.answer());
                replicaSync.learn(key, a.replicas());
                if (!needsConfirmation(a, locks, alreadyHeld) || synced.replicas() > 0 || a.replicas() == 0) {
                    return CompletableFuture.completedFuture(a.attempt());
                }
                return notConfirmed(owner, locks, alreadyHeld, attemptId);
            });
        }
        // No WAIT. The script reports the primary's replicas if it has some or what we know is old.
        String ask = hasReplicas || replicaSync.stale(known) ? "1" : "0";
        return scripts.<List<Object>>eval(s, ReturnType.LIST, keys, owner, holder, leaseMillis, ask, quarantine, held, attemptId).thenCompose(r -> {
            Answer a = parse.apply(r);
            replicaSync.learn(key, a.replicas());
            if (!needsConfirmation(a, locks, alreadyHeld) || a.replicas() <= 0) {
                return CompletableFuture.completedFuture(a.attempt());
            }
            // A new grant went out without WAIT (the primary's replicas were unknown, or new):
            // confirm it now, with a write of the new owner on the same key followed by WAIT.
            return confirm(owner, locks.get(0), a.attempt().tokens().get(0)).thenCompose(ok -> ok
                    ? CompletableFuture.completedFuture(a.attempt())
                    : notConfirmed(owner, locks, alreadyHeld, attemptId));
        });
    }

    /**
     * {@code ARGV[6]} of the lock scripts: one character per lock, 1 if this session holds it
     * now. Only such a lock is refreshed with its token; one that Redis still has as this
     * session's although the session let it go (a release lost in a failover, a lock given up
     * as {@code LOST}) is granted anew, with a new token, so tokens grow with every grant.
     */
    private static String heldFlags(List<String> locks, Set<String> alreadyHeld) {
        StringBuilder flags = new StringBuilder(locks.size());
        for (String lock : locks) {
            flags.append(alreadyHeld.contains(lock) ? '1' : '0');
        }
        return flags.toString();
    }

    /** A grant needs a replica unless it only refreshed locks that the session already held. */
    private static boolean needsConfirmation(Answer a, List<String> locks, Set<String> alreadyHeld) {
        return a.attempt().granted() && !(a.fresh().isEmpty() && alreadyHeld.containsAll(locks));
    }

    /**
     * No replica confirmed the grant in time: release what the session did not hold before (it
     * is still the owner, so it can), wait for that, then fail the request. Waiting matters:
     * the session's next request must not overtake the release.
     */
    private <T> CompletionStage<T> notConfirmed(String owner, List<String> locks, Set<String> alreadyHeld, String attemptId) {
        List<Release> undo = new ArrayList<>();
        for (String lock : locks) {
            if (!alreadyHeld.contains(lock)) {
                undo.add(Release.ofAttempt(lock, attemptId));
            }
        }
        return release(owner, undo).handle((v, e) -> {
            if (e != null) {
                LOG.log(Level.DEBUG, "Could not release an unconfirmed grant of {0}; its lease frees it: {1}", undo, e.getMessage());
            }
            throw new BackendUnavailableException("Redis replicas did not confirm the lock", new NotReplicated());
        });
    }

    /** True if {@code e} is the failure of a grant that no replica confirmed, already released again. */
    static boolean undone(Throwable e) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        return cause instanceof BackendUnavailableException && cause.getCause() instanceof NotReplicated;
    }

    /** The cause of the failure of a grant that no replica confirmed; carries no details of its own. */
    private static final class NotReplicated extends RuntimeException {
        NotReplicated() {
            super("no replica acknowledged the grant within the replica sync timeout", null, false, false);
        }
    }

    /** The answer of a script run together with WAIT, and how many replicas acknowledged it. */
    private record Synced(List<Object> answer, int replicas) { }

    /** The script followed by {@code WAIT 1 <timeout>} on the same connection, as one pipelined batch. */
    private CompletionStage<Synced> evalSynced(LuaScript s, List<Object> keys, Object... args) {
        return scripts.loadingOnNoScript(() -> {
            RBatch batch = redisson.createBatch(replicaSync.batchOptions(commandTimeout));
            RScriptAsync batchScript = batch.getScript(StringCodec.INSTANCE);
            RFuture<List<Object>> answer = batchScript.evalShaAsync(Mode.READ_WRITE, s.sha, ReturnType.LIST, keys, args);
            return batch.executeAsync().thenApply(r -> new Synced(answer.toCompletableFuture().join(), r.getSyncedSlaves()));
        }, keys, s);
    }


    /**
     * Confirms a grant that was sent without WAIT: renews {@code lock} (a write by its owner on
     * the grant's primary, after the grant) and WAITs for it. True if the owner still held it
     * and a replica acknowledged; the grant came before, so the replica has it too.
     */
    private CompletionStage<Boolean> confirm(String owner, String lock, long token) {
        return scripts.loadingOnNoScript(() -> {
            RBatch batch = redisson.createBatch(replicaSync.batchOptions(commandTimeout));
            RFuture<Long> renewed = batch.getScript(StringCodec.INSTANCE)
                    .evalAsync(Mode.READ_WRITE, RENEW.text, ReturnType.LONG, List.of(key(lock)), owner, leaseMillis, Long.toString(token));
            return batch.executeAsync().thenApply(r -> renewed.toCompletableFuture().join() == 1L && r.getSyncedSlaves() > 0);
        }, List.of(key(lock)), RENEW);
    }

    /**
     * One grant to release: by its token, or, for a grant whose answer never came, by the id of
     * the attempt that may have made it.
     */
    record Release(String lock, String token, String attempt) {
        static Release ofToken(String lock, long token) {
            return new Release(lock, Long.toString(token), "");
        }

        static Release ofAttempt(String lock, String attemptId) {
            return new Release(lock, "", attemptId);
        }
    }

    /** True if released, false if that grant did not hold the lock (nothing changed). */
    CompletionStage<Boolean> unlock(String owner, Release grant) {
        return scripts.<Long>eval(UNLOCK, ReturnType.LONG, List.of(key(grant.lock())), owner, tokenMemoryMillis, channel, grant.lock(),
                        grant.token(), grant.attempt())
                .thenApply(r -> r == 1L);
    }

    /** True if all released, false if any was not held by the grant named (nothing changed). */
    CompletionStage<Boolean> unlockAll(String owner, List<String> locks, List<Long> tokens) {
        int n = locks.size();
        Object[] args = new Object[3 + 2 * n];
        args[0] = owner;
        args[1] = tokenMemoryMillis;
        args[2] = channel;
        for (int i = 0; i < n; i++) {
            args[3 + i] = locks.get(i);
            args[3 + n + i] = Long.toString(tokens.get(i));
        }
        return scripts.<Long>eval(UNLOCK_ALL, ReturnType.LONG, keys(locks), args).thenApply(r -> r == 1L);
    }

    CompletionStage<LockState> peek(String lock) {
        String key = key(lock);
        return scripts.<List<Object>>eval(PEEK, ReturnType.LIST, List.of(key, markerKey(key)), quarantine)
                .thenApply(r -> {
                    String token = asString(r.get(1));
                    return new LockState(asString(r.get(0)), token.isEmpty() ? 0 : Long.parseLong(token), asLong(r.get(2)),
                            asLong(r.get(3)) == 1, asLong(r.get(4)));
                });
    }

    /**
     * Renews many locks in one pipelined round trip per Redis node (Redisson splits a batch
     * by node in a cluster). Each stage answers whether the lock was still this owner's.
     */
    List<CompletionStage<Boolean>> renew(List<String> owners, List<String> locks, List<Long> tokens) {
        RBatch batch = redisson.createBatch(batchOptions());
        List<CompletionStage<Boolean>> results = new ArrayList<>(locks.size());
        // Slots whose primary answered NOSCRIPT: the script is loaded there, and the next tick's renewals go through.
        Set<Integer> loading = ConcurrentHashMap.newKeySet();
        for (int i = 0; i < locks.size(); i++) {
            String key = key(locks.get(i));
            RFuture<Long> renewed = batch.getScript(StringCodec.INSTANCE)
                    .evalAsync(Mode.READ_WRITE, RENEW.text, ReturnType.LONG, List.of(key), owners.get(i), leaseMillis,
                            Long.toString(tokens.get(i)));
            results.add(renewed.handle((r, e) -> {
                if (e != null) {
                    if (Scripts.isNoScript(e) && loading.add(cluster ? ClusterSlots.slot(key) : 0)) {
                        scripts.load(List.of(key), RENEW); // see Scripts.loadingOnNoScript
                    }
                    throw backendFailure(e);
                }
                return r == 1L;
            }));
        }
        batch.executeAsync();
        return results;
    }

    /**
     * Releases many grants of one owner in one pipelined round trip per node, not
     * all-or-nothing: for closing sessions and undoing grants.
     */
    CompletionStage<Void> release(String owner, List<Release> grants) {
        if (grants.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        List<String> locks = new ArrayList<>(grants.size());
        grants.forEach(g -> locks.add(g.lock()));
        return scripts.loadingOnNoScript(() -> {
            RBatch batch = redisson.createBatch(batchOptions());
            for (Release g : grants) {
                batch.getScript(StringCodec.INSTANCE).evalAsync(Mode.READ_WRITE, UNLOCK.text, ReturnType.LONG,
                        List.of(key(g.lock())), owner, tokenMemoryMillis, channel, g.lock(), g.token(), g.attempt());
            }
            return batch.executeAsync().thenApply(r -> (Void) null);
        }, keys(locks), UNLOCK);
    }

    /**
     * How long the service waits for Redis to answer one command (or pipelined batch): a sixth
     * of the lease, at most 3 s (Redisson's default). No command is resent. Redisson may spend
     * that long on each of getting a connection, writing, and waiting for the answer, so a
     * command ends within half the lease, and a renewal that fails is sent again at the next
     * tick: several tries before a lock is given up at two thirds of the lease.
     */
    static Duration commandTimeout(Duration lease) {
        Duration sixth = lease.dividedBy(6);
        return sixth.compareTo(MAX_COMMAND_TIMEOUT) < 0 ? sixth : MAX_COMMAND_TIMEOUT;
    }

    private static final Duration MAX_COMMAND_TIMEOUT = Duration.ofSeconds(3);

    private BatchOptions batchOptions() {
        return BatchOptions.defaults().responseTimeout(commandTimeout.toMillis(), TimeUnit.MILLISECONDS).retryAttempts(0);
    }

    private List<Object> keys(List<String> locks) {
        List<Object> keys = new ArrayList<>(locks.size());
        for (String lock : locks) {
            keys.add(key(lock));
        }
        return keys;
    }


    static BackendUnavailableException backendFailure(Throwable e) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof BackendUnavailableException b) {
            return b;
        }
        return new BackendUnavailableException("Redis did not answer: " + cause.getMessage(), cause);
    }

    private static long asLong(Object o) {
        return o instanceof Long l ? l : Long.parseLong(String.valueOf(o));
    }

    private static String asString(Object o) {
        return o == null ? "" : String.valueOf(o);
    }
}
