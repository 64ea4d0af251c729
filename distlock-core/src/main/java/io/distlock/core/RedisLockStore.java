package io.distlock.core;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;

import org.redisson.api.BatchOptions;
import org.redisson.api.RBatch;
import org.redisson.api.RFuture;
import org.redisson.api.RScript.Mode;
import org.redisson.api.RScriptAsync;
import org.redisson.api.RScript.ReturnType;
import org.redisson.api.RedissonClient;
import org.redisson.api.options.KeysScanOptions;
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
 * While held exclusive the key expires after the lease; once released it keeps only {@code token}
 * and expires after the token memory; while held shared, after the larger of the two from
 * each shared grant and renewal, so that it outlives the holders (see {@code queue.lua}). A
 * release that somebody waits for is published on {@code <prefix>:released} as
 * {@code <token>:<release time, µs of the Redis clock>:<name>}.
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
    private static final LuaScript START = LuaScript.load("start");
    private static final LuaScript NODE_BEAT = LuaScript.load("node-beat");

    // The scripts that grant or release share the helpers of queue.lua (and what it uses); each
    // file says its keys, arguments and answer.
    private static final LuaScript LOCK = withQueue("lock");
    private static final LuaScript LOCK_ALL = withQueue("lock-all");
    private static final LuaScript UNLOCK = withQueue("unlock");
    private static final LuaScript UNLOCK_ALL = withQueue("unlock-all");
    private static final LuaScript KEEP_PLACE = withQueue("keep-place");
    private static final LuaScript LEAVE = withQueue("leave");
    private static final LuaScript PEEK = withQueue("peek");
    private static final LuaScript STATE = withQueue("state");
    /** Renew: see {@code renew.lua}. */
    private static final LuaScript RENEW = LuaScript.load("stale", "stolen", "renew");

    private static LuaScript withQueue(String script) {
        return LuaScript.load("replicas", "quarantine", "stale", "stolen", "queue", script);
    }

    /**
     * What a lock looks like in Redis: {@code owner} is empty when nobody holds it. While a
     * quarantine after a possible data loss runs, a lock nobody holds is not {@link #free()}
     * ({@code quarantined}), and {@code pttlMillis} is what is left of the quarantine.
     */
    record Peeked(String owner, long token, long pttlMillis, boolean quarantined, long redisMicros) {
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

    /**
     * A lock attempt that joined (or kept its place in) the lock's queue; {@code placeAttempt} names
     * the place Redis has: the one the session passed, if Redis still had it, otherwise this attempt's.
     */
    record Queued(int position, String holder, String placeAttempt) { }

    /**
     * The answer of a lock attempt: tokens if granted, otherwise the conflicts, or the place in
     * the queue, or {@code queueFull}. A granted single lock also says the {@code mode} Redis
     * granted it in (null for a multi-lock, granted in the mode asked): a grant the session had
     * already (its queued request's, granted by a hand-over) keeps its own mode, which need not be
     * the one asked. {@code endedBy}: by lock the session held when it asked, who stole that grant,
     * for each whose grant the lock's last steal ended.
     */
    record Attempt(List<Long> tokens, List<Conflict> conflicts, Queued queued, boolean queueFull, LockMode mode,
                   Map<String, String> endedBy) {
        Attempt(List<Long> tokens, List<Conflict> conflicts, Map<String, String> endedBy) {
            this(tokens, conflicts, null, false, null, endedBy);
        }

        boolean granted() {
            return conflicts.isEmpty() && queued == null && !queueFull;
        }
    }

    /**
     * A grant of a queued request, as {@code queue.lua} tells the grantee's node on its channel
     * ({@link #grantedChannel()}): {@code <owner>:<attempt that queued>:<token>:<mode>:<name>}
     * (the name may contain colons). The attempt names the place that was granted.
     */
    record Granted(String owner, String placeAttempt, String lock, long token, LockMode mode) {

        /** @throws IllegalArgumentException if {@code message} is not a grant message */
        static Granted parse(String message) {
            String[] f = message.split(":", 5);
            if (f.length < 5) {
                throw new IllegalArgumentException("not a grant message: " + message);
            }
            return new Granted(f[0], f[1], f[4], Long.parseLong(f[2]), RedisLockStore.mode(f[3]));
        }
    }

    /** Where a queued request stands, as {@link #keepPlace} and {@link #leave} find it. */
    sealed interface Place permits Place.InQueue, Place.Holds, Place.Gone {
        /** Still queued, at {@code position} (1 for next). */
        record InQueue(int position) implements Place { }

        /** Granted: the session holds the lock with this token and mode. */
        record Holds(long token, LockMode mode) implements Place { }

        /** Neither queued nor holding: left the queue, or Redis lost the request. */
        record Gone() implements Place { }
    }

    /** A lock script's answer: the attempt, the locks it newly granted, the primary's replicas (-1: not asked). */
    private record Answer(Attempt attempt, List<String> fresh, int replicas) { }

    private final RedissonClient redisson;
    private final Scripts scripts;
    private final Duration commandTimeout;
    private final String lockKeyPrefix;
    private final String channel;
    private final String grantedPrefix;
    private final String grantedChannel;
    private final String keepTokenMillis;
    private final String maxQueueLength;
    private final String nodeId;
    private final String leaseMillis;
    private final String tokenMemoryMillis;
    /** {@code null} when grants do not wait for replicas. */
    private final ReplicaSync replicaSync;
    /**
     * {@code ARGV[4]} of the scripts that grant or release: "q" and how long it lasts in ms if the
     * quarantine after a possible data loss is on ({@link #quarantineLength}), "w" if changes are
     * published for watchers.
     */
    private volatile String flags;
    private final boolean quarantine;
    private final boolean watching;
    private final String markerKey;
    private final String prefix;
    private final boolean cluster;
    /** When this node last logged the start of a quarantine it met (System.nanoTime), for one warning per quarantine. */
    private final AtomicLong quarantineLoggedUntil;
    private final Ticker ticker;

    /** @param nodeId this node's id: grants of its sessions' queued requests come on {@link #grantedChannel()} */
    RedisLockStore(RedissonClient redisson, LockConfig config, String nodeId) {
        this.redisson = redisson;
        this.cluster = redisson.getConfig().isClusterConfig();
        this.commandTimeout = commandTimeout(config.lease());
        this.scripts = new Scripts(redisson.getScript(OptionalOptions.defaults().codec(StringCodec.INSTANCE)
                .timeout(commandTimeout).retryAttempts(0)), cluster);
        this.lockKeyPrefix = config.keyPrefix() + ":lock:";
        this.channel = config.keyPrefix() + ":released";
        this.grantedPrefix = config.keyPrefix() + ":granted:";
        this.grantedChannel = grantedPrefix + nodeId;
        this.nodeId = nodeId;
        this.keepTokenMillis = Long.toString(Math.max(config.tokenMemory().toMillis(), config.lease().toMillis()));
        this.maxQueueLength = Integer.toString(config.maxQueueLength());
        this.leaseMillis = Long.toString(config.lease().toMillis());
        this.tokenMemoryMillis = Long.toString(config.tokenMemory().toMillis());
        this.replicaSync = config.replicaSync().isZero() ? null : new ReplicaSync(config.replicaSync(), cluster, config.ticker());
        this.quarantine = config.dataLossQuarantine();
        this.watching = config.watching();
        quarantineLength(config.lease().toMillis());
        this.markerKey = config.keyPrefix() + ":epoch";
        this.prefix = config.keyPrefix();
        this.ticker = config.ticker();
        this.quarantineLoggedUntil = new AtomicLong(ticker.read());
    }

    /** For a Redis this application started empty just now: no quarantine to wait out (see {@link LockConfig#newRedis()}). */
    CompletionStage<Long> markInService() {
        return scripts.eval(MARK_IN_SERVICE, ReturnType.LONG, List.<Object>of(markerKey));
    }

    /**
     * What a node learns of Redis when it starts (start.lua): the first command of the grant
     * scripts Redis refuses this node's user, with Redis's words ({@code ""}: none), and Redis's
     * {@code maxmemory} (bytes, 0: none) and {@code maxmemory-policy}, as {@code INFO memory} says.
     */
    record StartCheck(String refused, long maxmemory, String policy) {
        /** Whether Redis may evict a lock's key (they all have an expiry): a limit, and a policy other than noeviction. */
        boolean mayEvictLocks() {
            return maxmemory > 0 && !policy.equals("noeviction");
        }
    }

    CompletionStage<StartCheck> startCheck() {
        return scripts.<List<Object>>eval(START, ReturnType.LIST, List.<Object>of(markerKey),
                        quarantine ? "q" : "", replicaSync == null ? "" : "r")
                .thenApply(r -> new StartCheck(asString(r.get(0)), Long.parseLong(asString(r.get(1))), asString(r.get(2))));
    }

    /** How long a quarantine this node's grants start lasts, in ms (see {@link NodeLeases}). */
    void quarantineLength(long millis) {
        flags = (quarantine ? "q" + millis : "") + (watching ? "w" : "");
    }

    /**
     * Records this node with its lease for one lease ({@code leaving}: removes it) and answers
     * the leases of the other live nodes of the prefix, one per node ({@code node-beat.lua}).
     */
    CompletionStage<List<Long>> beat(boolean leaving) {
        return scripts.<List<Object>>eval(NODE_BEAT, ReturnType.LIST, List.<Object>of(prefix + ":nodes"), nodeId,
                        leaving ? "" : leaseMillis)
                .thenApply(r -> r.stream().map(RedisLockStore::asLong).toList());
    }

    /** {@code EXISTS} of the beat's key (so the beat's shard in a Cluster), without the beat: whether Redis answers. */
    CompletionStage<Void> probe() {
        return redisson.getKeys().countExistsAsync(prefix + ":nodes").thenApply(r -> null);
    }

    /** The pub/sub channel that carries {@code <token>:<released at µs>:<name>} for every release somebody waits for. */
    String channel() {
        return channel;
    }

    /** The pub/sub channel on which this node is told the grants of its sessions' queued requests ({@link Granted}). */
    String grantedChannel() {
        return grantedChannel;
    }

    String key(String lock) {
        return lockKeyPrefix + lock;
    }

    /** How many keys one {@code SCAN} of {@link #lockNamesStartingWith} asks a primary to look at. */
    private static final int SCAN_CHUNK = 1_000;

    /**
     * The names of the locks that have a lock hash and start with {@code namePrefix}: held, queued
     * for, or released within the token memory (the hash keeps the last token). A {@code SCAN}
     * with {@code MATCH <prefix>:lock:<namePrefix>*} of every primary in turn (in a Cluster, of
     * each master), {@value #SCAN_CHUNK} keys a step, until the cursor comes back to 0; may name a
     * lock twice. <b>Blocks</b> on each step: not on Redisson's threads. (Redisson's asynchronous
     * key iterator ends at the first step that matches nothing, which a large key space makes the
     * rule.) For the watches by prefix after a resubscription ({@link Watches}); rare, since it
     * looks at every key.
     */
    Iterable<String> lockNamesStartingWith(String namePrefix) {
        Iterable<String> keys = redisson.getKeys().getKeys(KeysScanOptions.defaults()
                .pattern(globEscaped(lockKeyPrefix + namePrefix) + "*").chunkSize(SCAN_CHUNK));
        return () -> {
            Iterator<String> it = keys.iterator();
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public String next() {
                    return it.next().substring(lockKeyPrefix.length());
                }
            };
        };
    }

    /** {@code text} as a Redis glob pattern that matches only itself. */
    static String globEscaped(String text) {
        StringBuilder out = new StringBuilder(text.length() + 8);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
                out.append('\\');
            }
            out.append(c);
        }
        return out.toString();
    }

    /**
     * The four keys of a lock (see {@code queue.lua}): the lock hash, its queue, its queued
     * requests, its shared holders. The last three are in the lock's hash slot: in a Cluster
     * through a hash tag of that slot, {@code <prefix>:queue:{<n>}:<name>}.
     */
    private List<Object> lockKeys(String lock) {
        String key = key(lock);
        String tag = cluster ? "{" + ClusterSlots.Tags.tag(ClusterSlots.slot(key)) + "}:" : "";
        return List.of(key, prefix + ":queue:" + tag + lock, prefix + ":queued:" + tag + lock, prefix + ":shared:" + tag + lock);
    }

    /** The keys of the locks, four each, then the quarantine marker of the first one's slot. */
    private List<Object> scriptKeys(List<String> locks) {
        List<Object> keys = new ArrayList<>(4 * locks.size() + 1);
        for (String lock : locks) {
            keys.addAll(lockKeys(lock));
        }
        keys.add(markerKey((String) keys.get(0)));
        return keys;
    }

    /** The common head of the arguments of every script that grants or releases (see {@code queue.lua}), then {@code more}. */
    private Object[] args(String owner, Object... more) {
        Object[] args = new Object[7 + more.length];
        args[0] = owner;
        args[1] = leaseMillis;
        args[2] = tokenMemoryMillis;
        args[3] = flags;
        args[4] = prefix;
        args[5] = grantedPrefix;
        args[6] = keepTokenMillis;
        System.arraycopy(more, 0, args, 7, more.length);
        return args;
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
     * Takes {@code lock} for {@code owner} in {@code mode}, or, if it cannot be granted now and
     * {@code queue} is set, queues for it. {@code placeAttempt} names the place the session
     * believes it has in the lock's queue ({@code ""} for none): another place of the session is
     * dropped, and a grant to that place is the answer. With replica sync on, a grant is answered only once a
     * replica confirmed it (see {@link ReplicaSync}); otherwise it is released again, unless the
     * session held it before ({@code alreadyHeld}), and the stage fails with
     * {@link BackendUnavailableException} ({@link #undone(Throwable)} is then true).
     */
    CompletionStage<Attempt> lock(String owner, String holder, String lock, Optional<Long> heldToken, String attemptId,
                                  LockMode mode, boolean queue, String placeAttempt, boolean steal, boolean ask) {
        List<String> locks = List.of(lock);
        Set<String> alreadyHeld = heldToken.isPresent() ? Set.of(lock) : Set.of();
        return grant(LOCK, locks, alreadyHeld, attemptId, owner, replicas -> args(owner, holder, replicas, heldFlags(locks, alreadyHeld),
                attemptId, code(mode), queue ? "1" : "0", nodeId, maxQueueLength, lock, placeAttempt, steal ? "1" : "0",
                ask ? holder : "", heldToken.map(String::valueOf).orElse("")), r -> {
            int kind = (int) asLong(r.get(0));
            int replicas = (int) asLong(r.get(kind == 3 ? 1 : 4));
            int thief = kind == 3 ? 2 : 5; // after the replicas
            Map<String, String> endedBy = r.size() > thief ? Map.of(lock, Holder.parse((String) r.get(thief)).name()) : Map.of();
            return switch (kind) {
                case 1 -> new Answer(new Attempt(List.of(asLong(r.get(1))), List.of(), null, false, mode(asString(r.get(3))), endedBy),
                        asLong(r.get(2)) == 1 ? locks : List.of(), replicas);
                case 2 -> new Answer(new Attempt(List.of(), List.of(),
                        new Queued((int) asLong(r.get(1)), holder(r.get(2), 0), asString(r.get(3))), false, null, endedBy), List.of(), replicas);
                case 3 -> new Answer(new Attempt(List.of(), List.of(), null, true, null, endedBy), List.of(), replicas);
                default -> new Answer(new Attempt(List.of(), List.of(conflict(lock, r.get(1), r.get(2), r.get(3))), null, false, null,
                        endedBy), List.of(), replicas);
            };
        });
    }

    /**
     * All of {@code locks} in {@code mode} or none, with the same replica sync as {@link #lock}; never
     * queues. {@code heldTokens}: the tokens of those the session holds. {@code placeAttempts} names
     * the place the session believes it has in a lock's queue (by the attempt that queued), whose
     * grant is not one the session let go.
     */
    CompletionStage<Attempt> lockAll(String owner, String holder, List<String> locks, Map<String, Long> heldTokens, String attemptId,
                                     LockMode mode, Map<String, String> placeAttempts) {
        Set<String> alreadyHeld = heldTokens.keySet();
        return grant(LOCK_ALL, locks, alreadyHeld, attemptId, owner, ask -> {
            int n = locks.size();
            Object[] more = new Object[5 + 3 * n];
            more[0] = holder;
            more[1] = ask;
            more[2] = heldFlags(locks, alreadyHeld);
            more[3] = attemptId;
            more[4] = code(mode);
            for (int i = 0; i < n; i++) {
                more[5 + i] = locks.get(i);
                more[5 + n + i] = placeAttempts.getOrDefault(locks.get(i), "");
                Long token = heldTokens.get(locks.get(i));
                more[5 + 2 * n + i] = token == null ? "" : String.valueOf(token);
            }
            return args(owner, more);
        }, r -> {
            int replicas = (int) asLong(r.get(r.size() - 1));
            int last = r.size() - 1 - locks.size(); // where the thieves start, one per lock
            Map<String, String> endedBy = new HashMap<>();
            for (int i = 0; i < locks.size(); i++) {
                if (r.get(last + i) != null) {
                    endedBy.put(locks.get(i), Holder.parse(asString(r.get(last + i))).name());
                }
            }
            if (asLong(r.get(0)) == 1) {
                List<Long> tokens = new ArrayList<>(locks.size());
                List<String> fresh = new ArrayList<>();
                for (int i = 1; i < last; i += 2) {
                    if (asLong(r.get(i + 1)) == 1) {
                        fresh.add(locks.get(tokens.size()));
                    }
                    tokens.add(asLong(r.get(i)));
                }
                return new Answer(new Attempt(tokens, List.of(), endedBy), fresh, replicas);
            }
            List<Conflict> conflicts = new ArrayList<>();
            for (int i = 1; i + 3 < last; i += 4) {
                String lock = locks.get((int) asLong(r.get(i)) - 1);
                conflicts.add(conflict(lock, r.get(i + 1), r.get(i + 2), r.get(i + 3)));
            }
            return new Answer(new Attempt(List.of(), conflicts, endedBy), List.of(), replicas);
        });
    }

    private static String code(LockMode mode) {
        return mode == LockMode.SHARED ? "s" : "x";
    }

    private static LockMode mode(String code) {
        return switch (code) {
            case "x" -> LockMode.EXCLUSIVE;
            case "s" -> LockMode.SHARED;
            default -> throw new IllegalArgumentException("not a lock mode: " + code);
        };
    }

    /** A holder's name, or {@link LockResult.Waiting#RECOVERING} for none (a quarantine of {@code pttlMillis} runs). */
    private String holder(Object holder, long pttlMillis) {
        if (holder == null) {
            logQuarantine(pttlMillis);
            return LockResult.Waiting.RECOVERING;
        }
        return Holder.parse(asString(holder)).name();
    }

    /**
     * How the scripts name a session in a lock: its name, and its info after a newline (a name has
     * no control characters).
     */
    static String holder(String name, String info) {
        return info == null ? name : name + "\n" + info;
    }

    /**
     * A holder as the scripts keep it: {@code <since, ms>;<name>[\n<info>]} (see {@code queue.lua}).
     *
     * @param since when it was granted or queued, ms of the Redis clock
     */
    record Holder(String name, String info, long since) {

        static Holder parse(String stamped) {
            int semicolon = stamped.indexOf(';');
            long since = 0;
            String rest = stamped;
            if (semicolon > 0) {
                try {
                    since = Long.parseLong(stamped, 0, semicolon, 10);
                    rest = stamped.substring(semicolon + 1);
                } catch (NumberFormatException e) {
                    // not stamped: a holder written before stamps existed
                }
            }
            int newline = rest.indexOf('\n');
            return newline < 0 ? new Holder(rest, null, since) : new Holder(rest.substring(0, newline), rest.substring(newline + 1), since);
        }
    }

    /** A lock held by another session, or, with no holder, free but in the quarantine after a possible data loss. */
    private Conflict conflict(String lock, Object holder, Object token, Object pttl) {
        long pttlMillis = asLong(pttl);
        return new Conflict(lock, holder(holder, pttlMillis), asLong(token), pttlMillis);
    }

    private void logQuarantine(long pttlMillis) {
        long now = ticker.read();
        long loggedUntil = quarantineLoggedUntil.get();
        if (now - loggedUntil >= 0 && quarantineLoggedUntil.compareAndSet(loggedUntil, now + TimeUnit.MILLISECONDS.toNanos(pttlMillis))) {
            // A brand-new Redis is named first: it is what most operators see, once, and it looks exactly like a loss.
            LOG.log(Level.WARNING, "Redis may have lost locks: it is new, or it restarted, failed over or was emptied since "
                    + "the last grant (these look alike): no lock is granted for {0} ms, until every session that held one "
                    + "before has been told it was lost (expected on a new Redis; see docs/safety.md, After Redis lost its data)",
                    Long.toString(pttlMillis));
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
    private CompletionStage<Attempt> grant(LuaScript s, List<String> locks, Set<String> alreadyHeld, String attemptId, String owner,
                                           Function<String, Object[]> args, Function<List<Object>, Answer> parse) {
        List<Object> keys = scriptKeys(locks);
        if (replicaSync == null) {
            return scripts.<List<Object>>eval(s, ReturnType.LIST, keys, args.apply("0")).thenApply(r -> parse.apply(r).attempt());
        }
        String key = (String) keys.get(0);
        ReplicaSync.Known known = replicaSync.known(key);
        boolean hasReplicas = known != null && known.replicas() > 0;
        // A lock attempt on locks the session holds already refreshes them, like a renewal: no WAIT.
        if (hasReplicas && !alreadyHeld.containsAll(locks)) {
            // One round trip: the script and WAIT, pipelined on one connection.
            return evalSynced(s, keys, args.apply("1")).thenCompose(synced -> {
                Answer a = parse.apply(synced.answer());
                replicaSync.learn(key, a.replicas());
                if (!needsConfirmation(a, locks, alreadyHeld) || synced.replicas() > 0 || a.replicas() == 0) {
                    return CompletableFuture.completedFuture(a.attempt());
                }
                return notConfirmed(owner, locks, attemptId);
            });
        }
        // No WAIT. The script reports the primary's replicas if it has some or what we know is old.
        String ask = hasReplicas || replicaSync.stale(known) ? "1" : "0";
        return scripts.<List<Object>>eval(s, ReturnType.LIST, keys, args.apply(ask)).thenCompose(r -> {
            Answer a = parse.apply(r);
            replicaSync.learn(key, a.replicas());
            if (!needsConfirmation(a, locks, alreadyHeld) || a.replicas() <= 0) {
                return CompletableFuture.completedFuture(a.attempt());
            }
            // A new grant went out without WAIT (the primary's replicas were unknown, or new):
            // confirm it now, with a write of the new owner on the same key followed by WAIT. On a
            // new grant's key: an mlock's first name may be one the session held already, which a
            // primary promoted meanwhile has, while the new grants (one script, so all or none) it lacks.
            String confirmed = a.fresh().isEmpty() ? locks.get(0) : a.fresh().get(0);
            return confirm(owner, confirmed, a.attempt().tokens().get(locks.indexOf(confirmed)), attemptId).thenCompose(ok -> ok
                    ? CompletableFuture.completedFuture(a.attempt())
                    : notConfirmed(owner, locks, attemptId));
        });
    }

    /**
     * The held flags of the lock scripts: one character per lock, 1 if this session holds it
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
     * No replica confirmed the grant in time: release what this attempt granted (it is still the
     * owner, so it can), wait for that, then fail the request. Waiting matters: the session's next
     * request must not overtake the release. By the attempt: a lock the session held is only
     * refreshed, and keeps the attempt that granted it, unless Redis had lost it and granted it
     * anew (then that grant goes too; the session hears LOST at its next renewal).
     */
    private <T> CompletionStage<T> notConfirmed(String owner, List<String> locks, String attemptId) {
        List<Release> undo = new ArrayList<>();
        for (String lock : locks) {
            undo.add(Release.ofAttempt(lock, attemptId));
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
    private CompletionStage<Boolean> confirm(String owner, String lock, long token, String attemptId) {
        return scripts.loadingOnNoScript(() -> {
            RBatch batch = redisson.createBatch(replicaSync.batchOptions(commandTimeout));
            RFuture<List<Object>> renewed = batch.getScript(StringCodec.INSTANCE)
                    .evalShaAsync(Mode.READ_WRITE, RENEW.sha, ReturnType.LIST, renewKeys(lock), owner, leaseMillis, Long.toString(token),
                            keepTokenMillis, attemptId); // made by this attempt or its place's, never past it: see renew.lua
            return batch.executeAsync().thenApply(r -> Renewal.of(renewed.toCompletableFuture().join()).held() && r.getSyncedSlaves() > 0);
        }, List.of(key(lock)), RENEW);
    }

    /**
     * One grant to release: by its token, or, for a grant whose answer never came, by the id of
     * the attempt that may have made it. By token, {@code attemptsUpTo} is how many attempts the
     * caller's node has made for the session: a grant an adoption's proof renamed past them is the
     * adopter's now (see {@code stale.lua}'s renamedPast), and a release the old node sent late
     * leaves it alone. By attempt, the id names the grant exactly, and a renamed one no longer.
     */
    record Release(String lock, String token, String attempt, String attemptsUpTo) {
        static Release ofToken(String lock, long token, long attemptsUpTo) {
            return new Release(lock, Long.toString(token), "", Long.toString(attemptsUpTo));
        }

        static Release ofAttempt(String lock, String attemptId) {
            return new Release(lock, "", attemptId, "");
        }
    }

    /**
     * Released, or that grant did not hold the lock (nothing changed; and who stole it, if a steal
     * ended it). A lock with a queue goes to its head; grants to this node's sessions come back in
     * the answer and go to {@code localGrants} (before the stage completes), the others' on their
     * nodes' channels.
     */
    CompletionStage<Unlocked> unlock(String owner, Release grant, Consumer<Granted> localGrants) {
        return scripts.<List<Object>>eval(UNLOCK, ReturnType.LIST, scriptKeys(List.of(grant.lock())),
                        args(owner, grant.lock(), grant.token(), grant.attempt(), nodeId, grant.attemptsUpTo()))
                .thenApply(r -> {
                    if (asLong(r.get(0)) != 1L) {
                        return r.size() > 1 ? new Unlocked(false, Holder.parse((String) r.get(1)).name()) : Unlocked.NOT_HELD;
                    }
                    for (int i = 1; i < r.size(); i++) {
                        localGrants.accept(Granted.parse((String) r.get(i)));
                    }
                    return Unlocked.RELEASED;
                });
    }

    /** What an unlock found: released, or not held by the grant named, then stolen by {@code stolenBy} if a steal ended it. */
    record Unlocked(boolean released, String stolenBy) {
        static final Unlocked RELEASED = new Unlocked(true, null);
        static final Unlocked NOT_HELD = new Unlocked(false, null);
    }

    private Object[] unlockArgs(String owner, Release grant) {
        return args(owner, grant.lock(), grant.token(), grant.attempt(), "", grant.attemptsUpTo());
    }

    /**
     * All released, or any was not held by the grant named (nothing changed); {@code attemptsUpTo}
     * as for a {@link Release} by token.
     */
    CompletionStage<Unlocked> unlockAll(String owner, List<String> locks, List<Long> tokens, long attemptsUpTo) {
        int n = locks.size();
        Object[] more = new Object[2 * n + 1];
        for (int i = 0; i < n; i++) {
            more[i] = locks.get(i);
            more[n + i] = Long.toString(tokens.get(i));
        }
        more[2 * n] = Long.toString(attemptsUpTo);
        return scripts.<Long>eval(UNLOCK_ALL, ReturnType.LONG, scriptKeys(locks), args(owner, more))
                .thenApply(r -> r == 1L ? Unlocked.RELEASED : Unlocked.NOT_HELD);
    }

    /** Who holds {@code lock} and who queues for it, read in one step (see {@code state.lua}). */
    CompletionStage<Observed> state(String lock) {
        return scripts.<List<Object>>eval(STATE, ReturnType.LIST, lockKeys(lock)).thenApply(RedisLockStore::observed);
    }

    /** Parses {@code state.lua}'s answer here rather than in Redis, whose one thread serves everybody. */
    private static Observed observed(List<Object> r) {
        long now = asLong(r.get(0));
        long nextExpiry = Long.MAX_VALUE;
        List<LockState.Entry> holders = new ArrayList<>();
        if (r.get(1) != null) {
            holders.add(entry(asString(r.get(2)), LockMode.EXCLUSIVE));
            long pttl = asLong(r.get(3));
            if (pttl >= 0) {
                nextExpiry = pttl;
            }
        }
        record Shared(long token, LockState.Entry entry) { }
        List<Shared> shared = new ArrayList<>();
        int at = 4;
        int fieldsAndValues = (int) asLong(r.get(at++));
        for (int i = 0; i < fieldsAndValues; i += 2, at += 2) {
            String[] f = asString(r.get(at + 1)).split("\\|", 4); // token|expires|attempt|holder
            long left = Long.parseLong(f[1]) - now;
            if (left > 0) {
                shared.add(new Shared(Long.parseLong(f[0]), entry(f[3], LockMode.SHARED)));
                nextExpiry = Math.min(nextExpiry, left);
            }
        }
        shared.sort(java.util.Comparator.comparingLong(Shared::token)); // earliest grant first
        shared.forEach(grant -> holders.add(grant.entry()));
        int queued = (int) asLong(r.get(at++));
        List<LockState.Entry> queue = new ArrayList<>(queued);
        for (int i = 0; i < queued; i++) {
            Object value = r.get(at + queued + i);
            if (value == null) {
                continue; // a place whose request is gone: dead
            }
            String[] f = asString(value).split("\\|", 5); // mode|expires|attempt|node|holder
            long left = Long.parseLong(f[1]) - now;
            if (left > 0) {
                queue.add(entry(f[4], mode(f[0])));
                nextExpiry = Math.min(nextExpiry, left);
            }
        }
        return new Observed(new LockState(holders, queue), nextExpiry);
    }

    private static LockState.Entry entry(String stamped, LockMode mode) {
        Holder h = Holder.parse(stamped);
        return new LockState.Entry(h.name(), h.info(), mode, h.since());
    }

    /**
     * A lock's state, and in how many ms its earliest holder or queued request expires unless it is
     * renewed ({@link Long#MAX_VALUE}: none).
     */
    record Observed(LockState state, long expiresInMillis) { }

    /** The channel on which every change of a lock's holders or queue is published: the lock's name. */
    String changesChannel() {
        return prefix + ":changed";
    }

    /** The channel that tells a steal to the holders it ended: {@code <owner>\n<token>\n<name>\n<stealer>}. */
    String stolenChannel() {
        return prefix + ":stolen";
    }

    /** The channel that tells an ask to a holder: {@code <owner>\n<name>\n<asker>}. */
    String askedChannel() {
        return prefix + ":asked";
    }

    /** Looks at a lock, handing it to its queue first if nobody holds it (see {@code peek.lua}). */
    CompletionStage<Peeked> peek(String lock) {
        return scripts.<List<Object>>eval(PEEK, ReturnType.LIST, scriptKeys(List.of(lock)), args("", lock))
                .thenApply(r -> {
                    String token = asString(r.get(1));
                    return new Peeked(asString(r.get(0)), token.isEmpty() ? 0 : Long.parseLong(token), asLong(r.get(2)),
                            asLong(r.get(3)) == 1, asLong(r.get(4)));
                });
    }

    /**
     * Leaves the place of {@code lock}'s queue that attempt {@code placeAttempt} took. A grant that
     * place got already is kept, and answered as {@link Place.Holds}.
     */
    CompletionStage<Place> leave(String owner, String lock, String placeAttempt) {
        return scripts.<List<Object>>eval(LEAVE, ReturnType.LIST, scriptKeys(List.of(lock)), args(owner, lock, placeAttempt, "0"))
                .thenApply(RedisLockStore::place);
    }

    /**
     * Leaves the queue of {@code place.lock()}, releasing the grant the request got already, named
     * by the attempt that queued it. Answers {@link Place.Gone} once nothing is left.
     */
    CompletionStage<Place> leave(String owner, Release place) {
        return scripts.<List<Object>>eval(LEAVE, ReturnType.LIST, scriptKeys(List.of(place.lock())), leaveArgs(owner, place))
                .thenApply(RedisLockStore::place);
    }

    private Object[] leaveArgs(String owner, Release place) {
        return args(owner, place.lock(), place.attempt(), "1");
    }

    private static Place place(List<Object> r) {
        return switch ((int) asLong(r.get(0))) {
            case 1 -> new Place.InQueue((int) (r.size() > 1 ? asLong(r.get(1)) : 0));
            case 2 -> new Place.Holds(asLong(r.get(1)), mode(asString(r.get(2))));
            default -> new Place.Gone();
        };
    }

    /**
     * What a renewal found: the grant still holds its lock, or not; and if not because the lock's
     * last steal ended it, the thief's name ({@code stolenBy}, else null), for a holder whose
     * notice of the steal comes later than this answer, or never (a pub/sub gap).
     */
    record Renewal(boolean held, String stolenBy) {
        static final Renewal HELD = new Renewal(true, null);
        static final Renewal TAKEN = new Renewal(false, null);

        /** From {@code renew.lua}'s answer: {1}, {0}, or {0, stamped thief}. */
        static Renewal of(List<Object> answer) {
            if (Long.valueOf(1).equals(answer.get(0))) {
                return HELD;
            }
            return answer.size() > 1 ? new Renewal(false, Holder.parse((String) answer.get(1)).name()) : TAKEN;
        }
    }

    /**
     * Renews many grants, in one pipelined round trip per Redis node (Redisson splits a batch by
     * node in a cluster). Each stage answers what the renewal found. {@code attemptsUpTo}: how
     * many attempts the caller's node has made for each owner, as for a {@link Release} by token: a
     * grant an adoption renamed past them is not renewed (answered as no longer held), so the old
     * node's late renewal cannot set the adopter's grant to its own lease.
     */
    List<CompletionStage<Renewal>> renew(List<String> owners, List<Long> attemptsUpTo, List<String> locks, List<Long> tokens) {
        return renew(owners, attemptsUpTo, locks, tokens, null);
    }

    /**
     * {@link #renew(List, List, List, List)} for an adoption's proof: each grant renewed is known from
     * now on by the attempt id in {@code knownAs}, one of the adopting node's, so that a lock request
     * the old node sent before it (and Redis sees late) is older than the grant and changes nothing.
     */
    List<CompletionStage<Renewal>> renew(List<String> owners, List<Long> attemptsUpTo, List<String> locks, List<Long> tokens,
                                         List<String> knownAs) {
        List<List<Object>> keys = new ArrayList<>(locks.size());
        List<Object[]> args = new ArrayList<>(locks.size());
        for (int i = 0; i < locks.size(); i++) {
            keys.add(renewKeys(locks.get(i)));
            Object[] common = {owners.get(i), leaseMillis, Long.toString(tokens.get(i)), keepTokenMillis,
                    Long.toString(attemptsUpTo.get(i))};
            args.add(knownAs == null ? common : append(common, knownAs.get(i)));
        }
        return batch(RENEW, ReturnType.LIST, keys, args, Renewal::of);
    }

    private static Object[] append(Object[] args, Object last) {
        Object[] all = Arrays.copyOf(args, args.length + 1);
        all[args.length] = last;
        return all;
    }

    private List<Object> renewKeys(String lock) {
        List<Object> keys = lockKeys(lock);
        return List.of(keys.get(0), keys.get(3));
    }

    /**
     * Keeps the places of many queued requests (each named by the attempt that queued) for
     * another lease, in one pipelined round trip per node, and answers where each stands (a lock
     * found free is handed over on the way).
     */
    List<CompletionStage<Place>> keepPlaces(List<String> owners, List<String> locks, List<String> placeAttempts) {
        return keepPlaces(owners, locks, placeAttempts, null, null);
    }

    /**
     * {@link #keepPlaces(List, List, List)} for an adoption's proof: each place kept (or its grant,
     * if it was granted) is known from now on by the attempt id in {@code knownAs}, one of the
     * adopting node's (see {@link #renew(List, List, List, List, List)}); the old node's late keep-place
     * then finds no place to keep. A place is also found by its id in {@code renamedBefore} ("" for
     * none): the one an earlier adoption's proof gave it, if the record still names the place by
     * the id in {@code placeAttempts}.
     */
    List<CompletionStage<Place>> keepPlaces(List<String> owners, List<String> locks, List<String> placeAttempts,
                                            List<String> knownAs, List<String> renamedBefore) {
        List<List<Object>> keys = new ArrayList<>(locks.size());
        List<Object[]> args = new ArrayList<>(locks.size());
        for (int i = 0; i < locks.size(); i++) {
            keys.add(scriptKeys(List.of(locks.get(i))));
            Object[] common = args(owners.get(i), locks.get(i), placeAttempts.get(i), nodeId);
            args.add(knownAs == null ? common : append(append(common, knownAs.get(i)), renamedBefore.get(i)));
        }
        return batch(KEEP_PLACE, ReturnType.LIST, keys, args, RedisLockStore::place);
    }

    /**
     * Runs {@code s} once per entry in one pipelined batch. An entry that fails with NOSCRIPT (it
     * did not run: Redis lost its scripts) runs once more alone, loading the script; every failure
     * becomes a {@link BackendUnavailableException}. EVALSHA, never EVAL, in a batch: see
     * {@link Scripts#loadingOnNoScript}.
     */
    private <R, T> List<CompletionStage<T>> batch(LuaScript s, ReturnType type, List<List<Object>> keys, List<Object[]> args,
                                                  Function<R, T> answer) {
        RBatch batch = redisson.createBatch(batchOptions());
        List<CompletionStage<T>> results = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            List<Object> entryKeys = keys.get(i);
            Object[] entryArgs = args.get(i);
            RFuture<R> done = batch.getScript(StringCodec.INSTANCE).evalShaAsync(Mode.READ_WRITE, s.sha, type, entryKeys, entryArgs);
            results.add(done.handle((r, e) -> e == null ? CompletableFuture.completedStage(r)
                            : Scripts.isNoScript(e) ? scripts.<R>eval(s, type, entryKeys, entryArgs)
                            : CompletableFuture.<R>failedStage(backendFailure(e)))
                    .thenCompose(Function.identity())
                    .thenApply(answer));
        }
        batch.executeAsync();
        return results;
    }

    /**
     * Releases many grants of one owner and leaves the queues of {@code queued} (named by the
     * attempts that queued), releasing what was granted from them meanwhile, in one pipelined
     * round trip per node, not all-or-nothing: for closing sessions and undoing grants.
     */
    CompletionStage<Void> release(String owner, List<Release> grants, List<Release> queued) {
        if (grants.isEmpty() && queued.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        List<Object> anyKeys = new ArrayList<>();
        grants.forEach(g -> anyKeys.add(key(g.lock())));
        queued.forEach(q -> anyKeys.add(key(q.lock())));
        return scripts.loadingOnNoScript(() -> {
            RBatch batch = redisson.createBatch(batchOptions());
            for (Release g : grants) {
                batch.getScript(StringCodec.INSTANCE).evalShaAsync(Mode.READ_WRITE, UNLOCK.sha, ReturnType.LIST,
                        scriptKeys(List.of(g.lock())), unlockArgs(owner, g));
            }
            for (Release q : queued) {
                batch.getScript(StringCodec.INSTANCE).evalShaAsync(Mode.READ_WRITE, LEAVE.sha, ReturnType.LIST,
                        scriptKeys(List.of(q.lock())), leaveArgs(owner, q));
            }
            return batch.executeAsync().thenApply(r -> (Void) null);
        }, anyKeys, UNLOCK, LEAVE);
    }

    CompletionStage<Void> release(String owner, List<Release> grants) {
        return release(owner, grants, List.of());
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
