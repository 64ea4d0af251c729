package io.distlock.core;

import java.lang.System.Logger.Level;
import java.net.URI;
import java.net.URISyntaxException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.redisson.api.RTopic;
import org.redisson.api.RedissonClient;
import org.redisson.api.listener.BaseStatusListener;
import org.redisson.client.RedisAuthRequiredException;
import org.redisson.client.RedisTimeoutException;
import org.redisson.client.RedisWrongPasswordException;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.Config;

/**
 * One server node's view of the distributed locks: opens {@link LockSession}s, keeps their
 * locks' leases alive, and tells waiting sessions when locks are released anywhere.
 *
 * <p>Create one per node (per JVM) and share it; it is thread-safe. Nodes find each other
 * only through Redis: every node with the same Redis and {@link LockConfig#keyPrefix()}
 * serves the same locks. {@link #close()} closes every session (releasing its locks) and
 * stops the node; a node that dies without closing loses its locks when their leases run out.
 */
public final class LockService implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(LockService.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    private final RedissonClient redisson;
    private final boolean ownsRedisson;
    private final LockConfig config;
    private final RedisLockStore store;
    private final SessionRegistry registry;
    private final Waiters waiters;
    /** Null when the config brought a scheduler of its own. */
    private final ScheduledThreadPoolExecutor ownedScheduler;
    private final Scheduler scheduler;
    private final LeaseRenewal renewal;
    private final long tickMillis;
    private Future<?> nextTick; // guarded by this
    private final Executor callbackExecutor;
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();

    /**
     * Adoptions whose answer never came (a Redis stall, a node busy with a storm of resumes), by
     * session id: the script may have run, spending the secret the client sent and writing the one
     * this node chose, which the client never got. The client's retry, with the secret it has,
     * takes the session on this node by sending the same adoption again (which the script answers
     * the same); without this it was refused SESSION_EXPIRED, a live session lost. Kept at most a
     * lease: as long as such a record lives unless this node writes it.
     */
    private final Map<String, UnsureAdoption> unsure = new ConcurrentHashMap<>();

    private record UnsureAdoption(byte[] spentHash, SessionRegistry.Entry read, String secret, byte[] hash, long atNanos) {
        @Override
        public String toString() {
            return "UnsureAdoption[read=" + read + "]"; // never the secret
        }
    }
    /**
     * Every listener this node added, by topic: releases, this node's grants ({@code <prefix>:granted:<node id>})
     * and adoptions ({@code <prefix>:adopted:<node id>}), steals and asks told to every node. Removed at close:
     * the client may be the application's, and outlive the service.
     */
    private final List<Map.Entry<RTopic, Integer>> listeners = new ArrayList<>();
    private final Watches watches;
    private final String nodeId;
    private volatile boolean closed;
    /** The last tick's beat, which close's leave must follow (the two may go on different connections); guarded by this. */
    private CompletableFuture<Void> lastBeat = CompletableFuture.completedFuture(null);
    /** What counts, for every registry {@link LockServiceMetrics} was bound to (by identity): each one's meters move. */
    private final Map<Object, Telemetry> telemetries = new IdentityHashMap<>(); // guarded by itself
    private volatile Telemetry telemetry = Telemetry.NONE;
    private final CountedWarning unclaimedEnds = new CountedWarning(System.getLogger(Session.class.getName()),
            "Could not claim the end of session ''{0}''; not releasing its locks, their leases free them: {1}",
            "Could not claim the end of {0} sessions so far; not releasing their locks, their leases free them (this one: "
                    + "session ''{1}'': {2})");
    /**
     * At INFO, as the line per session it replaces: after Redis lost its data every resumable session finds its record
     * gone within a renewal. Starts over after a quiet minute, not when a write finds a record: sessions opened since
     * the loss write theirs, and each would start the count over.
     */
    private final CountedWarning recordsLost;
    // Named after Telemetry, not the binder: naming its class would load it, and Micrometer is optional.
    private final CountedWarning meterThrew = new CountedWarning(System.getLogger(Telemetry.class.getName()),
            "A meter threw; counting goes on without it: {0}", "A meter threw {0} times so far (this time: {1})");
    /** The other nodes' leases, for the quarantine's length; null when the quarantine is off. */
    private final NodeLeases nodeLeases;
    /** Whether Redis answers the tick's beat (or probe): logged when that changes, and a gauge. */
    private final RedisReach reach;

    private LockService(RedissonClient redisson, boolean ownsRedisson, LockConfig config) {
        this.redisson = Objects.requireNonNull(redisson, "redisson");
        this.ownsRedisson = ownsRedisson;
        this.config = Objects.requireNonNull(config, "config");
        this.recordsLost = new CountedWarning(System.getLogger(Session.class.getName()), Level.INFO, config.ticker(),
                Duration.ofMinutes(1),
                "The registry record of session ''{0}'' is gone (Redis lost it, or it expired); it cannot be resumed, and ends when "
                        + "its connection does",
                "The registry records of {0} sessions are gone so far (Redis lost them, or they expired); they cannot be resumed, "
                        + "and end when their connections do (this one: session ''{1}'')");
        this.nodeId = newId();
        this.store = new RedisLockStore(redisson, config, nodeId);
        this.registry = new SessionRegistry(redisson, config, nodeId);
        checkRedis(store, config);
        this.nodeLeases = config.dataLossQuarantine()
                ? new NodeLeases(config.lease().toMillis(), config.ticker(), config.keyPrefix()) : null;
        this.reach = new RedisReach(config.ticker(), RedisReach.describe(redisson.getConfig()),
                RedisLockStore.commandTimeout(config.lease()).toMillis());
        // Before the first grant, which may start a quarantine; never fails, waits a lease at most.
        beat().toCompletableFuture().completeOnTimeout(null, config.lease().toMillis(), TimeUnit.MILLISECONDS).join();
        if (config.newRedis()) {
            markInService(store, config);
        }
        if (config.scheduler() == null) {
            this.ownedScheduler = new ScheduledThreadPoolExecutor(1, daemonThreads("distlock-scheduler"));
            ownedScheduler.setRemoveOnCancelPolicy(true);
            this.scheduler = ownedScheduler::schedule;
        } else {
            this.ownedScheduler = null;
            this.scheduler = config.scheduler();
        }
        // Null: on the thread that completes the work (Redisson's, mostly), as Redisson and
        // Lettuce run their own callbacks. A hop to a pool here cost two thread wake-ups per
        // operation: half of a lock+unlock's time in the core (docs/benchmarks.md).
        this.callbackExecutor = config.callbackExecutor() == null ? Runnable::run : config.callbackExecutor();
        long leaseMillis = config.lease().toMillis();
        this.waiters = new Waiters(store, scheduler, config.ticker(), leaseMillis);
        RTopic releases = redisson.getTopic(store.channel(), StringCodec.INSTANCE);
        RTopic grants = redisson.getTopic(store.grantedChannel(), StringCodec.INSTANCE);
        RTopic adoptions = redisson.getTopic(registry.adoptedChannel(), StringCodec.INSTANCE);
        RTopic steals = redisson.getTopic(store.stolenChannel(), StringCodec.INSTANCE);
        RTopic asks = redisson.getTopic(store.askedChannel(), StringCodec.INSTANCE);
        try {
            // Grants missed while unsubscribed are found by the next keep-place of lease renewal.
            listeners.add(Map.entry(grants, grants.addListener(String.class, (channel, message) -> onGranted(message))));
            // An adoption missed while unsubscribed is found by the next registry refresh of the renewal tick.
            listeners.add(Map.entry(adoptions, adoptions.addListener(String.class, (channel, message) -> onAdopted(message))));
            listeners.add(Map.entry(releases, releases.addListener(String.class, (channel, message) -> onReleased(message))));
            // Missed while unsubscribed: a stolen grant is found by the next renewal (LOST taken); an ask is lost.
            listeners.add(Map.entry(steals, steals.addListener(String.class, (channel, message) -> onStolen(message))));
            listeners.add(Map.entry(asks, asks.addListener(String.class, (channel, message) -> onAsked(message))));
            listeners.add(Map.entry(releases, releases.addListener(new BaseStatusListener() {
                @Override
                public void onSubscribe(String channel) {
                    // Also called after every reconnect: releases published meanwhile are lost.
                    waiters.recheckAll();
                }
            })));
        } catch (RuntimeException e) {
            // Those added so far would stay on the client (the application's, maybe), calling a service that never started.
            removeListeners();
            shutdownThreads();
            throw RedisLockStore.backendFailure(e);
        }
        this.watches = new Watches(store, redisson.getTopic(store.changesChannel(), StringCodec.INSTANCE), scheduler,
                callbackExecutor, config);
        this.tickMillis = Math.max(50, leaseMillis / 6);
        this.renewal = new LeaseRenewal(store, sessions.values(), leaseMillis, tickMillis, config.ticker(), this::telemetry);
        scheduleTick();
    }

    /**
     * One look at Redis before the node serves. A user whose ACL refuses a command the grant
     * scripts run would start and then fail every lock: the start fails instead, saying which.
     * And a warning if Redis may evict lock keys under its memory limit: an evicted key is a lock
     * nobody holds for Redis while its holder still does. Not a refusal: the limit may never be
     * reached, and whether to run so is the operator's call. A check that fails otherwise (no
     * answer within a lease) holds the start up no longer: the first lock will say more.
     */
    private static void checkRedis(RedisLockStore store, LockConfig config) {
        RedisLockStore.StartCheck check;
        try {
            check = store.startCheck().toCompletableFuture().orTimeout(config.lease().toMillis(), TimeUnit.MILLISECONDS).join();
        } catch (CompletionException | CancellationException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            Throwable refusal = aclRefusal(cause); // of scripts, or of the key the check names
            if (refusal != null) {
                throw new BackendUnavailableException(connectFailure(refusal), refusal);
            }
            LOG.log(Level.DEBUG, "Could not check Redis at start: {0}", cause.getMessage());
            return;
        }
        if (!check.refused().isEmpty()) {
            throw new BackendUnavailableException("Redis refuses this node's user something distlock needs (" + check.refused()
                    + "); see the ACL rights distlock needs in docs/operations.md", null);
        }
        if (check.mayEvictLocks()) {
            LOG.log(Level.WARNING, "Redis has maxmemory " + check.maxmemory() + " with maxmemory-policy " + check.policy()
                    + ": when it is full it may evict the key of a held lock, and another session can then take that lock "
                    + "while its holder still has it. Set maxmemory-policy noeviction (a full Redis then refuses new locks, "
                    + "BACKEND_UNAVAILABLE), or no maxmemory. See docs/safety.md");
        }
    }

    /** The next renewal tick, a sixth of the lease after this one ended (a fixed delay, never two at once). */
    private synchronized void scheduleTick() {
        if (closed) {
            return;
        }
        try {
            nextTick = scheduler.schedule(() -> {
                try {
                    renewal.tick();
                    refreshRegistry();
                    synchronized (this) { // a beat after close's leave would record this node again
                        if (!closed) {
                            lastBeat = beat().toCompletableFuture();
                        }
                    }
                } finally {
                    scheduleTick(); // whatever failed: without ticks, no renewal and no LOST
                }
            }, tickMillis, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.log(Level.DEBUG, "The scheduler is shutting down: no more renewal ticks");
        }
    }

    /**
     * A node on the application's own Redisson client, which stays the application's: closing
     * the service does not shut it down.
     *
     * <p>The client's {@code timeout} and {@code retryAttempts} do not apply to the service's
     * own commands: each goes out with a response timeout of a sixth of the lease (at most
     * 3 s) and is never resent, so no setting of the client can stretch a command past the
     * lease or let a late copy of a release arrive after a newer grant. See
     * {@code docs/safety.md}, "A late release frees nothing newer".
     *
     * @throws BackendUnavailableException if Redis cannot be reached
     */
    public static LockService create(RedissonClient redisson, LockConfig config) {
        return new LockService(redisson, false, config);
    }

    /**
     * The Redisson configuration {@link #connect} uses for one Redis server ({@code redis://} or
     * {@code rediss://host:port}); a start for an application that builds its own client. Thread
     * pools sized for a lock node (Redisson's defaults are sized for big machines); two Redis
     * connections per Netty thread, all opened at start (8 on two cores; Redisson's default is 64,
     * 24 opened at start): Redisson pipelines commands on a connection, and a few busy connections
     * cost Redis and this JVM fewer reads and writes per command than many idle ones (at 64
     * sessions on two cores, a fifth to a third more lock+unlock pairs/s and a quarter less CPU
     * per pair in the node, measured); and Redisson's reference feature off: distlock sends
     * strings only, and the feature looks for an annotation on every script argument's class
     * (about 7 µs of CPU per lock+unlock pair, measured).
     */
    public static Config redissonConfig(String redisUrl) {
        Objects.requireNonNull(redisUrl, "redisUrl");
        refuseDatabase(redisUrl);
        Config config = new Config();
        int cores = Runtime.getRuntime().availableProcessors();
        int nettyThreads = Math.max(4, 2 * cores);
        config.setNettyThreads(nettyThreads);
        config.setThreads(Math.max(2, cores));
        config.setReferenceEnabled(false);
        config.useSingleServer().setAddress(redisUrl)
                .setConnectionPoolSize(2 * nettyThreads)
                .setConnectionMinimumIdleSize(2 * nettyThreads);
        return config;
    }

    /**
     * Refuses a URL that names a database other than 0 ({@code redis://host:6379/5}) or has a
     * query: Redisson ignores both, so two applications told apart by their database would share
     * one key space (and Redis's channels are shared by every database anyway); an option other
     * than the database ({@code ?timeout=5}) is a Redisson setting, which belongs in a Redisson
     * {@code Config}. {@code /0} names
     * the database distlock works in, and is how Spring Boot's {@code spring.data.redis.url} is
     * often written: accepted. So is a URL without a port. A URL Java cannot parse is left to
     * Redisson, which says what is wrong with it.
     */
    private static void refuseDatabase(String redisUrl) {
        URI uri;
        try {
            uri = new URI(redisUrl);
        } catch (URISyntaxException e) {
            return;
        }
        String path = uri.getRawPath();
        if (uri.getHost() == null || path != null && path.indexOf('@') >= 0) {
            return; // not a host as parsed (a '/' in a password that is not percent-encoded): Redisson's parser says
        }
        if (uri.getPort() < 0) {
            // Redisson's parser refuses a URL without a port, but not one with a user or password, which then failed to
            // connect to port -1.
            throw new IllegalArgumentException("Redis URL has no port: write it, redis://host:6379 for Redis's default");
        }
        // Not the URL itself in these messages: it may hold a password. The path is after the host, so it holds none.
        String query = uri.getRawQuery();
        if (query != null) {
            // ?db=5 is the database again; any other option (?timeout=5) is a Redisson setting the URL cannot carry.
            boolean database = Arrays.stream(query.split("&"))
                    .map(option -> option.split("=", 2)[0].toLowerCase(Locale.ROOT))
                    .anyMatch(name -> name.equals("db") || name.equals("database"));
            throw new IllegalArgumentException("Redis URL must not have options (?...), which Redisson would ignore: " + (database
                    ? "distlock keeps its keys in database 0; tell applications on one Redis apart by their key prefix"
                    : "give Redisson settings (timeouts, pool sizes...) in a Redisson Config instead (a RedissonClient of your own; distlock-server's --redis-config file)"));
        }
        if (path == null || path.isEmpty() || path.equals("/") || path.matches("/0+")) {
            return;
        }
        String named = path.matches("/[0-9]{1,9}") ? "database " + Integer.parseInt(path.substring(1)) + " (" + path + ")"
                : "a path other than a database number";
        throw new IllegalArgumentException("Redis URL names " + named + ", which Redisson would ignore: distlock keeps its keys"
                + " in database 0 (no path, or /0); tell applications on one Redis apart by their key prefix");
    }

    /**
     * How long {@link #connect} (and {@link #connectRedisson}) waits at most for Redis to answer
     * at start. A refused connection, a refused login or an untrusted certificate fail sooner, after
     * Redisson's few attempts (a few seconds); a Redis that accepts connections and answers nothing
     * (a paused process, a plain port given {@code rediss://}) failed only after Redisson's five
     * attempts had each timed out, 23 to 58 s of silence. Past the deadline Redisson's attempts
     * go on in the background until they end (then it shuts itself down); a client they make
     * after all is shut down.
     */
    public static final Duration CONNECT_DEADLINE = Duration.ofSeconds(15);

    /**
     * A Redisson client for one Redis server, configured by {@link #redissonConfig}, as
     * {@link #connect} makes its own: it gives up after {@link #CONNECT_DEADLINE} and then says
     * what it saw ({@code Redis accepted the connection but did not answer AUTH within 15 s: ...}).
     * Redisson's own settings, which its later reconnects use, are unchanged.
     *
     * @throws IllegalArgumentException if {@link #redissonConfig} refuses the URL
     * @throws RuntimeException         if Redis cannot be reached: Redisson's exception, or a
     *                                  {@link BackendUnavailableException}; {@link #connectFailure} words either
     */
    public static RedissonClient connectRedisson(String redisUrl) {
        return FirstConnect.create(redissonConfig(redisUrl), redisUrl, CONNECT_DEADLINE);
    }

    /**
     * A node with a Redisson client of its own for one Redis server, {@code redis://host:port}
     * or {@code rediss://host:port}; the client is shut down with the service. For Sentinel or
     * Cluster, configure a Redisson client and use {@link #create(RedissonClient, LockConfig)}.
     * Waits at most {@link #CONNECT_DEADLINE} for Redis.
     *
     * @throws BackendUnavailableException if Redis cannot be reached
     */
    public static LockService connect(String redisUrl, LockConfig config) {
        Objects.requireNonNull(redisUrl, "redisUrl");
        Config redissonConfig = redissonConfig(redisUrl);
        RedissonClient client;
        try {
            client = FirstConnect.create(redissonConfig, redisUrl, CONNECT_DEADLINE);
        } catch (RuntimeException e) {
            throw new BackendUnavailableException("Cannot connect to Redis at " + hostAndPort(redisUrl) + ": " + connectFailure(e),
                    connectFailureCause(e));
        }
        try {
            return new LockService(client, true, config);
        } catch (RuntimeException e) {
            client.shutdown();
            throw e;
        }
    }

    /**
     * Why a Redisson client could not connect to Redis, in one line for a log or a start-up error.
     * In words for what the user can fix: Redis wants a password and the URL gives none, Redis
     * refused the user name or password, the ACL user may not run a command, Redis's TLS
     * certificate is not trusted or not issued for the host connected to, Redis accepted the
     * connection but answers nothing (paused, or a plain port given {@code rediss://} or the
     * reverse). Otherwise the most
     * specific message among {@code failure}'s causes ({@code Connection refused: host/address:port}).
     * Redisson's top-level "Unable to connect to Redis server" is said for all of these, and
     * would send the user looking for a network problem. Never the password: Redisson masks it
     * in its messages, and no URL is quoted here; a URL Redisson cannot parse (a {@code %} in the
     * password that starts no {@code %XX}, an {@code @ / #} in it) is said to be one, with how
     * to write it, and the parser's message is not quoted: it holds a piece of the user name or
     * password.
     */
    public static String connectFailure(Throwable failure) {
        Objects.requireNonNull(failure, "failure");
        Throwable unparsable = urlParseFailure(failure);
        if (unparsable != null) {
            String redissons = String.valueOf(unparsable.getMessage());
            // Redisson's own words where they are fixed text (no part of the URL in them).
            String said = redissons.startsWith("Redis url ") ? " (" + redissons + ")" : "";
            return "the URL cannot be parsed" + said + ": it must be redis://host:port, redis://:password@host:port"
                    + " or redis://user:password@host:port (rediss:// for TLS), and a user name or password is"
                    + " percent-encoded: write % as %25, + as %2B, and @ / # : as %40 %2F %23 %3A";
        }
        String specific = null;
        int depth = 0;
        for (Throwable t = failure; t != null && depth < 50; t = t.getCause() == t ? null : t.getCause(), depth++) {
            if (t instanceof RedisAuthRequiredException) {
                return "Redis requires a password and the URL gives none (NOAUTH): give it in the URL, "
                        + "redis://:password@host:port, or redis://user:password@host:port for an ACL user";
            }
            if (t instanceof RedisWrongPasswordException) {
                return "Redis refused the user name or password in the URL (WRONGPASS): authentication failed; "
                        + "check them, and that the ACL user exists and is enabled";
            }
            if (String.valueOf(t.getMessage()).contains("called without any password configured")) {
                return "Redis has no password set, but the URL gives one: leave it out (redis://host:port), "
                        + "or set one on Redis (requirepass, or an ACL user)";
            }
            if (isAclRefusal(t)) {
                return "Redis's ACL does not allow the user something distlock needs (" + redisError(t.getMessage())
                        + "); see the ACL in docs/operations.md";
            }
            if (t instanceof io.netty.handler.ssl.SslHandshakeTimeoutException) {
                return silentRedis("the TLS handshake", " (" + t.getMessage() + ")", true);
            }
            if (t instanceof javax.net.ssl.SSLException) {
                return "TLS handshake with Redis failed: " + tlsProblem(t);
            }
            if (t instanceof RedisTimeoutException) {
                String message = String.valueOf(t.getMessage());
                for (String command : List.of("AUTH", "PING")) {
                    if (message.contains("command: (" + command + ")")) {
                        return silentRedis(command, " in time", message.contains("addr=rediss://"));
                    }
                }
            }
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                specific = t.getMessage();
            }
            if (t instanceof java.net.ConnectException) {
                break;
            }
        }
        String message = specific == null ? failure.getClass().getSimpleName() : specific;
        return message.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
    }

    /**
     * {@code Redis accepted the connection but did not answer AUTH within 15 s: ...}, with what it
     * may be: for TLS, most likely a plain Redis port, which reads the handshake as the start of
     * a command and waits for its end; for a plain URL, a paused or overloaded Redis, or a port
     * that takes TLS (which waits for a handshake).
     */
    static String silentRedis(String what, String when, boolean tls) {
        String silent = "Redis accepted the connection but did not answer " + what + when;
        return tls ? silent + ": is this port TLS? A plain Redis port answers nothing to a TLS handshake: use redis://."
                + " Or is Redis paused or overloaded?"
                : silent + ": is it paused, overloaded, or not Redis? (a port that takes TLS answers nothing to a redis:// URL:"
                + " use rediss://)";
    }

    /**
     * The cause for an exception that reports {@code failure} with {@link #connectFailure}:
     * {@code failure} itself, or null where Redisson could not parse the URL, since the parser's
     * messages (printed with any stack trace) quote a piece of the user name or password
     * ({@code URLDecoder: Illegal hex characters in escape (%) pattern - Error at index 0 in: "t-"}).
     */
    public static Throwable connectFailureCause(Throwable failure) {
        Objects.requireNonNull(failure, "failure");
        return urlParseFailure(failure) == null ? failure : null;
    }

    /**
     * The first of {@code failure}'s causes that Redisson's URL parser threw (an
     * {@link IllegalArgumentException} from {@code org.redisson.misc.RedisURI}, the URL
     * decoding of its user info included), or null.
     */
    private static Throwable urlParseFailure(Throwable failure) {
        int depth = 0;
        for (Throwable t = failure; t != null && depth < 50; t = t.getCause() == t ? null : t.getCause(), depth++) {
            if (t instanceof IllegalArgumentException) {
                for (StackTraceElement frame : t.getStackTrace()) {
                    if ("org.redisson.misc.RedisURI".equals(frame.getClassName())) {
                        return t;
                    }
                }
            }
        }
        return null;
    }

    /** The first of {@code failure}'s causes that is Redis's ACL refusal ({@code NOPERM}), or null. */
    private static Throwable aclRefusal(Throwable failure) {
        int depth = 0;
        for (Throwable t = failure; t != null && depth < 50; t = t.getCause() == t ? null : t.getCause(), depth++) {
            if (isAclRefusal(t)) {
                return t;
            }
        }
        return null;
    }

    private static boolean isAclRefusal(Throwable t) {
        return t.getMessage() != null && t.getMessage().startsWith("NOPERM");
    }

    /** A Redis error reply as Redisson reports it, without the channel and command it appends. */
    private static String redisError(String message) {
        int channel = message.indexOf(". channel: [");
        return (channel < 0 ? message : message.substring(0, channel)).replaceAll("[.\\s]+$", "");
    }

    private static String tlsProblem(Throwable ssl) {
        for (Throwable t = ssl; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof java.security.cert.CertPathBuilderException
                    || t instanceof java.security.cert.CertPathValidatorException) {
                return "Redis's certificate is not trusted by this JVM (" + ssl.getMessage() + "). Give the JVM a trust "
                        + "store that holds the certificate authority that issued it: -Djavax.net.ssl.trustStore=FILE "
                        + "(and -Djavax.net.ssl.trustStorePassword), see docs/operations.md";
            }
            if (t instanceof java.security.cert.CertificateException && String.valueOf(t.getMessage()).startsWith("No ")) {
                return "Redis's certificate is not issued for the host in the URL (" + t.getMessage()
                        + "): use a host name or address the certificate names";
            }
        }
        return String.valueOf(ssl.getMessage());
    }

    /** Where a Redis URL points, without what else it says (a password must not reach a log). */
    static String hostAndPort(String redisUrl) {
        try {
            java.net.URI uri = java.net.URI.create(redisUrl);
            return uri.getHost() == null ? "that URL" : uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort());
        } catch (IllegalArgumentException e) {
            return "that URL";
        }
    }

    /**
     * Opens a session. Check the name first with {@link #checkSessionName(String)}.
     *
     * @param name     a label shown to others as the holder of the session's locks
     * @param listener receives the session's pushes; {@link LockListener#NONE} ignores them
     * @throws IllegalArgumentException if the name breaks the rules
     * @throws IllegalStateException    if the service is closed, or {@link #close()} runs meanwhile
     */
    public LockSession openSession(String name, LockListener listener) {
        Objects.requireNonNull(listener, "listener");
        checkSessionName(name).ifPresent(problem -> {
            throw new IllegalArgumentException(problem);
        });
        if (closed) {
            throw new IllegalStateException("the lock service is closed");
        }
        Session session = new Session(this, store, waiters, config, name, newId(), listener,
                new SerialExecutor(callbackExecutor));
        track(session);
        return session;
    }

    /**
     * Opens a session as {@code options} say. With a {@link SessionOptions#grace()} above zero the
     * session can outlive its connection ({@link LockSession#detach()}) and be resumed on any node
     * ({@link #resume}); it is written to the session registry in Redis.
     *
     * @throws IllegalArgumentException if the name breaks the rules or the grace is above {@link LockConfig#maxGrace()}
     * @throws IllegalStateException    if the service is closed
     */
    public LockSession openSession(String name, LockListener listener, SessionOptions options) {
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(options, "options");
        checkSessionName(name).ifPresent(problem -> {
            throw new IllegalArgumentException(problem);
        });
        if (options.grace().compareTo(config.maxGrace()) > 0) {
            throw new IllegalArgumentException("grace must be at most " + config.maxGrace().toMillis() + " ms, was "
                    + LockConfig.Builder.millis(options.grace()));
        }
        if (closed) {
            throw new IllegalStateException("the lock service is closed");
        }
        if (options.grace().isZero()) {
            Session session = new Session(this, store, waiters, config, name, newId(), listener, new SerialExecutor(callbackExecutor),
                    options, null, 0);
            track(session);
            return session;
        }
        String secret = newSecret();
        Session session = new Session(this, store, waiters, config, name, newId(), listener, new SerialExecutor(callbackExecutor),
                options, SessionRegistry.hash(secret), 0);
        track(session);
        session.createRecord();
        return new Attachment(session, 0, secret);
    }

    /**
     * Resumes a session opened with a grace, on this node, whichever node had it: after its
     * connection dropped (within the grace) or while another connection still has it (that one's
     * listener is told {@link LockListener#resumedElsewhere()}). The session keeps its locks and
     * tokens; {@link ResumeResult.Resumed#locks()} says which it still holds, and a node that took it
     * over from another first proves each with Redis. Unknown session, wrong secret, or grace over:
     * {@link Refusal#SESSION_EXPIRED}, alike. The secret is compared in constant time, and replaced.
     * Completes exceptionally with {@link BackendUnavailableException} if Redis cannot be reached. If
     * this service closes while the resume is out, the session is left detached for another node, as
     * {@link #close()} leaves the others: the answer's handle is stale, and its new secret resumes it
     * elsewhere.
     *
     * @throws IllegalStateException if the service is closed
     */
    public CompletionStage<ResumeResult> resume(String sessionId, String secret, LockListener listener) {
        Objects.requireNonNull(listener, "listener");
        if (closed) {
            throw new IllegalStateException("the lock service is closed");
        }
        if (sessionId == null || secret == null || !sessionId.matches("[A-Za-z0-9_-]{1,64}") || secret.length() > 256) {
            return CompletableFuture.completedFuture(expired());
        }
        byte[] hash = SessionRegistry.hash(secret);
        String next = newSecret();
        byte[] nextHash = SessionRegistry.hash(next);
        CompletableFuture<ResumeResult> result = new CompletableFuture<>();
        registry.read(sessionId).thenCompose(entry -> {
            UnsureAdoption again = entry == null ? null : unsureAdoption(sessionId);
            if (again != null && MessageDigest.isEqual(hash, again.spentHash()) && MessageDigest.isEqual(again.hash(), entry.secretHash())
                    && entry.node().equals(nodeId) && unsure.remove(sessionId, again)) {
                // A retry of an adoption whose answer never came, and which ran: the record is this node's, with the secret
                // chosen then. A session still here from before (resumed on its own node) is behind the record: replaced.
                Session stale = sessions.get(sessionId);
                if (stale != null) {
                    stale.movedAway(true);
                }
                return adoptHere(sessionId, again.read(), listener, again.secret(), again.hash(), hash);
            }
            if (entry != null && !MessageDigest.isEqual(hash, entry.secretHash()) && entry.pendingHash() != null
                    && MessageDigest.isEqual(hash, entry.pendingHash())) {
                // The secret an adoption just spent, whose answer has not been given (it may never be): try again.
                return CompletableFuture.<ResumeResult>failedFuture(resumeInProgress());
            }
            if (entry == null || !MessageDigest.isEqual(hash, entry.secretHash())) {
                return CompletableFuture.completedFuture(expired());
            }
            Session local = sessions.get(sessionId);
            if (local == null && entry.node().equals(nodeId)) {
                // This node owns the record but not the session: it ended here (a record written
                // again just after its end lingers for a lease), or another resume is adopting it now.
                return CompletableFuture.completedFuture(expired());
            }
            if (local != null) {
                if (entry.node().equals(nodeId) && entry.gen().equals(Long.toString(local.gen()))) {
                    return local.resumeHere(entry, listener, next, nextHash);
                }
                local.movedAway(true); // another node adopted it and this node missed the message
            }
            return adoptHere(sessionId, entry, listener, next, nextHash, hash);
        }).whenComplete((r, e) -> {
            if (e != null) {
                result.completeExceptionally(RedisLockStore.backendFailure(e));
            } else {
                result.complete(r); // the caller's callbacks run now: an endpoint that cannot send the answer says so here
                if (r instanceof ResumeResult.Resumed resumed && resumed.session() instanceof Attachment attachment) {
                    attachment.toSession().resumeAnswered(attachment.epoch());
                }
            }
        });
        return result;
    }

    /**
     * Takes over a session another node owns (or owned before it died): one atomic step on the
     * registry, then each listed place and lock is proven with Redis before the answer, so the
     * answer lists only what the session still has.
     */
    private CompletionStage<ResumeResult> adoptHere(String id, SessionRegistry.Entry read, LockListener listener, String secret,
                                                   byte[] hash, byte[] spentHash) {
        return registry.adopt(id, read, hash, true).whenComplete((adopted, e) -> {
            if (e != null) {
                rememberUnsure(id, spentHash, read, secret, hash);
            }
        }).thenCompose(adopted -> {
            if (adopted == null) {
                // The record changed since it was read: another node's adoption may have landed in between (its
                // answer still out, the secret it spent kept as pending), which a retry must not take for an end.
                return registry.read(id).thenApply(now -> {
                    if (now != null && now.pendingHash() != null && MessageDigest.isEqual(spentHash, now.pendingHash())) {
                        throw resumeInProgress();
                    }
                    return expired();
                });
            }
            SessionOptions options = new SessionOptions(Duration.ofMillis(adopted.graceMillis()),
                    adopted.info().isEmpty() ? null : adopted.info());
            Session session = new Session(this, store, waiters, config, adopted.name(), id, listener,
                    new SerialExecutor(callbackExecutor), options, hash, adopted.gen());
            session.attemptsFrom(adopted.attempts());
            session.secretSpent(spentHash);
            session.recordAdopted();
            return prove(session, adopted).thenCompose(v -> {
                Session previous = sessions.put(id, session);
                if (previous != null && previous != session) {
                    previous.movedAway(true);
                }
                if (closed) {
                    // The service closed while the adoption was out, and its close did not see this session: nobody
                    // here would renew its locks. Left for another node, as close() leaves the others; the answer still
                    // goes, with the new secret (the only one that resumes it now), and a stale handle.
                    sessions.remove(id, session);
                    return session.leaveForAnotherNode(); // its record write lists the renamed places too
                }
                // Through the session's one writer: a write of its own here could be reordered with a write the
                // session starts meanwhile (a LOCKED's), and leave the record without that lock until the next change.
                return session.recordProof();
            }).thenApply(v -> (ResumeResult) new ResumeResult.Resumed(new Attachment(session, 0, secret), session.heldNow(),
                    session.places().keySet(), secret));
        });
    }

    /** An adoption of session {@code id} whose answer never came, here or in {@link Session#resumeHere}: see {@link #unsure}. */
    void rememberUnsure(String id, byte[] spentHash, SessionRegistry.Entry read, String secret, byte[] hash) {
        long now = config.ticker().read();
        unsure.values().removeIf(u -> expired(u, now)); // their records are gone
        unsure.put(id, new UnsureAdoption(spentHash, read, secret, hash, now));
    }

    /** The unsure adoption of session {@code id} still within a lease, or null. */
    private UnsureAdoption unsureAdoption(String id) {
        UnsureAdoption attempt = unsure.get(id);
        if (attempt != null && expired(attempt, config.ticker().read())) {
            unsure.remove(id, attempt);
            return null;
        }
        return attempt;
    }

    private boolean expired(UnsureAdoption attempt, long nowNanos) {
        return nowNanos - attempt.atNanos() > config.lease().toNanos();
    }

    /**
     * Keeps each adopted place (which also tells its grants to this node from now on), then renews
     * each lock held. Each place and grant proven is renamed to a new attempt id of this node's
     * range (past the gap, see {@link Session#attemptsFrom}): a lock request the old node sent
     * before the adoption and Redis sees after it (a node cut from Redis whose link outlived the
     * cut) is then older than what the adopter took over, and changes nothing ({@code stale.lua}).
     * With the old ids it was taken for a request of a session that had let the grant go, which
     * it let go. One that Redis sees before the proof leaves the proof nothing to find.
     * <p>
     * The ids are given in the record's order, places first, and a place found granted keeps its
     * place's id: so the i-th listed place's id is the i-th of the range. An adopter whose record
     * write after its proof failed (its answer goes all the same) and that died before its next
     * write left a record that still names the places by the ids it replaced (the record says so:
     * {@code session-adopt.lua}'s 'proved'); the next proof then also finds each place by the id
     * that adopter gave it ({@link #renamedByTheLastProof}).
     */
    private CompletionStage<Void> prove(Session session, SessionRegistry.Adopted adopted) {
        List<String> placeLocks = new ArrayList<>(adopted.places().keySet());
        List<String> placeAttempts = placeLocks.stream().map(adopted.places()::get).toList();
        List<String> renamedBefore = renamedByTheLastProof(placeLocks.size(), adopted.lastProof());
        List<String> placesKnownAs = placeLocks.stream().map(l -> session.nextAttemptId()).toList();
        long keptAt = config.ticker().read();
        List<CompletionStage<RedisLockStore.Place>> kept = placeLocks.isEmpty() ? List.of()
                : store.keepPlaces(java.util.Collections.nCopies(placeLocks.size(), session.id()), placeLocks, placeAttempts,
                        placesKnownAs, renamedBefore);
        Map<String, ResumeResult.Held> toRenew = new java.util.LinkedHashMap<>(adopted.locks());
        Map<String, String> placeGrantsKnownAs = new HashMap<>();
        return CompletableFuture.allOf(kept.stream().map(f -> f.toCompletableFuture().exceptionally(e -> null))
                .toArray(CompletableFuture[]::new)).thenCompose(v -> {
                    for (int i = 0; i < placeLocks.size(); i++) {
                        // No answer, or an error: unproven, so not listed, as a lock below. Thrown here, after the
                        // adoption ran, it failed the whole resume and the session was lost.
                        RedisLockStore.Place where = kept.get(i).toCompletableFuture().exceptionally(e -> null).join();
                        String lock = placeLocks.get(i);
                        if (where instanceof RedisLockStore.Place.InQueue) {
                            session.restorePlace(lock, placesKnownAs.get(i), keptAt,
                                    adopted.timeoutsLeft().getOrDefault(lock, -1L));
                        } else if (where instanceof RedisLockStore.Place.Holds holds) {
                            toRenew.put(lock, new ResumeResult.Held(holds.token(), holds.mode()));
                            placeGrantsKnownAs.put(lock, placesKnownAs.get(i)); // renamed so by the keep-place
                        }
                    }
                    List<String> locks = new ArrayList<>(toRenew.keySet());
                    long renewedAt = config.ticker().read();
                    List<String> knownAs = locks.stream()
                            .map(l -> placeGrantsKnownAs.containsKey(l) ? placeGrantsKnownAs.get(l) : session.nextAttemptId()).toList();
                    // The count after those ids: a proof that ran twice must find its own renaming not past it.
                    List<Long> attemptsUpTo = java.util.Collections.nCopies(locks.size(), session.attemptCount());
                    List<CompletionStage<RedisLockStore.Renewal>> renewed = locks.isEmpty() ? List.of()
                            : store.renew(java.util.Collections.nCopies(locks.size(), session.id()), attemptsUpTo, locks,
                                    locks.stream().map(l -> toRenew.get(l).token()).toList(), knownAs);
                    return CompletableFuture.allOf(renewed.stream().map(f -> f.toCompletableFuture().exceptionally(e -> null))
                            .toArray(CompletableFuture[]::new)).thenRun(() -> {
                                for (int i = 0; i < locks.size(); i++) {
                                    // Not proven (no longer ours, or no answer): not listed, so the client learns it is lost.
                                    RedisLockStore.Renewal renewal = renewed.get(i).toCompletableFuture().exceptionally(e -> null).join();
                                    if (renewal != null && renewal.held()) {
                                        ResumeResult.Held h = toRenew.get(locks.get(i));
                                        session.restoreGrant(locks.get(i), h.token(), h.mode(), renewedAt);
                                    }
                                }
                                session.armRestoredTimeouts();
                            });
                });
    }

    /**
     * For each of {@code places} listed places, the id the last adoption's proof gave it, if the
     * record does not list those renamings yet ({@code lastProof}, where that proof's range started;
     * -1 if it does): that proof gave the i-th listed place the i-th id of its range. Else "".
     */
    static List<String> renamedByTheLastProof(int places, long lastProof) {
        List<String> renamed = new ArrayList<>(places);
        for (int i = 0; i < places; i++) {
            renamed.add(lastProof < 0 ? "" : Long.toString(lastProof + i + 1));
        }
        return renamed;
    }

    static Refused expired() {
        return new Refused(Refusal.SESSION_EXPIRED, "the session cannot be resumed: unknown, wrong secret, or its grace is over");
    }

    /**
     * The failure of a resume sent with the secret that a resume still out (adopted, its answer not given)
     * spent: retryable ({@code BACKEND_UNAVAILABLE}), not {@code SESSION_EXPIRED}. If that answer never
     * reaches its client, the secret resumes the session again; if it does, the client has the new one.
     */
    static BackendUnavailableException resumeInProgress() {
        return new BackendUnavailableException("a resume of this session is in progress; try again", null);
    }

    /**
     * Adds a session opened here to the sessions the service renews and closes. Refused with
     * {@link IllegalStateException} if the service closed meanwhile: {@link #close()} marks it
     * closed before it looks at the sessions, so a session added after that look is caught here
     * (one added before is closed by both, which is idempotent), never left open, unrenewed, on a
     * closed service.
     */
    private void track(Session session) {
        sessions.put(session.id(), session);
        if (closed) {
            sessions.remove(session.id(), session);
            session.closeAsync();
            throw new IllegalStateException("the lock service is closed");
        }
    }

    /**
     * Tells Redis this node is alive with its lease, and learns the other nodes' leases, which a
     * quarantine this node starts must outlast (see {@link NodeLeases}). Never fails: a beat
     * that does not come through is made at the next tick.
     */
    private CompletionStage<Void> beat() {
        if (nodeLeases == null) {
            return probe();
        }
        long sentAt = config.ticker().read();
        CompletionStage<List<Long>> beat;
        try {
            beat = store.beat(false);
        } catch (RuntimeException e) {
            beat = CompletableFuture.failedFuture(e);
        }
        return beat.handle((others, e) -> {
            // What the quarantine needs first; the report of Redis's reach after it.
            if (e != null) {
                nodeLeases.beatFailed(e);
                redisFailed(e, sentAt);
            } else {
                nodeLeases.seen(others);
                store.quarantineLength(nodeLeases.quarantineMillis());
                reach.answered(sentAt);
            }
            return null;
        });
    }

    /**
     * Without the quarantine there is no beat: the tick asks Redis one plain {@code EXISTS}
     * instead, so that the node finds out whether Redis answers ({@link RedisReach}) from one
     * command a tick. Not from its renewals: a tick sends several batches, which in a Cluster
     * go to several shards, and one shard down would say "down" and "answers again" every tick.
     */
    private CompletionStage<Void> probe() {
        long sentAt = config.ticker().read();
        CompletionStage<Void> probe;
        try {
            probe = store.probe();
        } catch (RuntimeException e) {
            probe = CompletableFuture.failedFuture(e);
        }
        return probe.handle((v, e) -> {
            if (e != null) {
                redisFailed(e, sentAt);
            } else {
                reach.answered(sentAt);
            }
            return null;
        });
    }

    private void redisFailed(Throwable failure, long sentAt) {
        reach.failed(failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure, sentAt);
    }

    /** Whether Redis answered the last renewal tick's command (see {@link RedisReach}); for {@link LockServiceMetrics}. */
    boolean redisUp() {
        return reach.up();
    }

    /**
     * Removes this node's record of its lease once {@code beatOut} (never failing) is answered;
     * the leave is waited for a tick at most (a sixth of the lease), close's whole wait for a lease
     * at most: without it, the record goes a lease after the last beat.
     */
    private CompletableFuture<?> leave(CompletableFuture<Void> beatOut) {
        if (nodeLeases == null) {
            return CompletableFuture.completedFuture(null);
        }
        // The beat out ends within its command timeout (a tick at most); the leave gets a tick of its own.
        return beatOut.thenCompose(v -> store.beat(true).toCompletableFuture().completeOnTimeout(null, tickMillis, TimeUnit.MILLISECONDS))
                .exceptionally(e -> null);
    }

    /** Keeps the registry records of this node's resumable sessions current; lets go of any another node adopted. */
    private void refreshRegistry() {
        try {
            for (Session s : sessions.values()) {
                if (s.grace().isZero() || s.isClosed()) {
                    continue;
                }
                s.refreshRecord(); // one write at a time per session: an older state never lands after a newer one
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Could not refresh the session registry; trying again at the next tick", e);
        }
    }

    private void onAdopted(String message) {
        int colon = message.lastIndexOf(':');
        if (colon < 1) {
            LOG.log(Level.WARNING, "Ignored a malformed adoption message");
            return;
        }
        Session session = sessions.get(message.substring(0, colon));
        long gen;
        try {
            gen = Long.parseLong(message.substring(colon + 1));
        } catch (NumberFormatException e) {
            return;
        }
        if (session != null && session.gen() < gen) {
            session.movedAway(true);
        }
    }

    SessionRegistry registry() {
        return registry;
    }

    /** Sessions of this node with a connection (or opened without grace). */
    int attachedSessions() {
        int n = 0;
        for (Session s : sessions.values()) {
            n += s.isDetached() ? 0 : 1;
        }
        return n;
    }

    /** Sessions of this node whose connection dropped, kept for their grace. */
    int detachedSessions() {
        int n = 0;
        for (Session s : sessions.values()) {
            n += s.isDetached() ? 1 : 0;
        }
        return n;
    }

    /** What is wrong with a session name (empty, too long, control characters), or empty if it is fine. */
    public Optional<String> checkSessionName(String name) {
        return Names.problem("session name", name, config.maxSessionNameLength());
    }

    /** What is wrong with a lock name (empty, too long, control characters), or empty if it is fine. */
    public Optional<String> checkLockName(String name) {
        return Names.problem("lock name", name, config.maxLockNameLength());
    }

    /** What is wrong with a prefix of lock names (the rules of lock names), or empty if it is fine. */
    public Optional<String> checkLockPrefix(String prefix) {
        return Names.problem("prefix", prefix, config.maxLockNameLength());
    }

    public LockConfig config() {
        return config;
    }

    /**
     * Who holds each of {@code locks} and who queues for it, read from Redis, each lock in one
     * step (several locks are read side by side, not at one instant). Completes exceptionally
     * with {@link IllegalArgumentException} for an unacceptable name or more than
     * {@link LockConfig#maxLocksPerRequest()} names, with {@link BackendUnavailableException} if
     * Redis cannot be reached.
     */
    public CompletionStage<Map<String, LockState>> query(Collection<String> locks) {
        // Not List.copyOf: it throws NullPointerException for a null name, which is refused below like any bad name.
        List<String> names = java.util.Collections.unmodifiableList(new ArrayList<>(new java.util.LinkedHashSet<>(locks)));
        if (names.size() > config.maxLocksPerRequest()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(
                    "at most " + config.maxLocksPerRequest() + " locks in one query"));
        }
        for (String lock : names) {
            Optional<String> bad = Names.problem("lock name", lock, config.maxLockNameLength());
            if (bad.isPresent()) {
                return CompletableFuture.failedFuture(new IllegalArgumentException(bad.get()));
            }
        }
        List<CompletableFuture<RedisLockStore.Observed>> reads = names.stream()
                .map(lock -> store.state(lock).toCompletableFuture()).toList();
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).handle((v, e) -> {
            if (e != null) {
                throw RedisLockStore.backendFailure(e);
            }
            Map<String, LockState> states = new java.util.LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) {
                states.put(names.get(i), reads.get(i).join().state());
            }
            return java.util.Collections.unmodifiableMap(states);
        });
    }

    /**
     * A watch of locks for {@code watcher}, empty at first: add locks by name or prefix with
     * {@link LockWatch#watch} and {@link LockWatch#watchPrefix}; close it when done.
     *
     * @throws IllegalStateException if the service is closed, or watching is off ({@link LockConfig#watching()})
     */
    public LockWatch watch(LockWatcher watcher) {
        if (closed) {
            throw new IllegalStateException("the lock service is closed");
        }
        if (!config.watching()) {
            throw new IllegalStateException("watching is off: LockConfig.watching(false)");
        }
        return watches.open(watcher);
    }

    /** The sessions open on this node. */
    public int sessionCount() {
        return sessions.size();
    }

    /**
     * Closes every session, releasing its locks (waiting up to the lease for Redis), and stops
     * this node. A session opened with a grace is not closed but left detached in the registry:
     * its client can resume it on another node while its leases last, and if nobody does, its
     * locks free themselves within a lease; its handle here is stale, as after
     * {@link LockSession#detach()}. Shuts the Redisson client down if the service
     * created it. Idempotent. Do not call it from a session's callback: that session's close is
     * answered only after the callback returns, so this waits out the whole lease for it.
     */
    @Override
    public void close() {
        CompletableFuture<Void> beatOut;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            reach.stop();
            beatOut = lastBeat;
        }
        // Sessions with a grace are left for another node (a rolling restart keeps their locks);
        // the others end here, and their locks are released at once.
        CompletableFuture<?>[] closing = sessions.values().stream()
                .map(s -> (s.grace().isZero() ? s.closeAsync() : s.leaveForAnotherNode()).toCompletableFuture())
                .toArray(CompletableFuture[]::new);
        // Waited for even on an interrupted thread (at most the lease): a close that stopped at the interrupt would
        // shut the client down under the releases, and every lock would stay held for a lease. The interrupt is
        // taken now and set again at the end: a get() of a future already done does not look at it, and Redisson's
        // shutdown clears it (it was lost whenever the releases were done before the wait began).
        boolean interrupted = Thread.interrupted();
        Ticker ticker = config.ticker();
        long deadline = ticker.read() + config.lease().toNanos();
        CompletableFuture<?> leaving = leave(beatOut);
        CompletableFuture<Void> released = CompletableFuture.allOf(CompletableFuture.allOf(closing), leaving);
        while (true) {
            try {
                released.get(Math.max(0, deadline - ticker.read()), TimeUnit.NANOSECONDS);
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
                LOG.log(Level.WARNING, "Not every session could release its locks; they free themselves when their leases run out: {0}",
                        String.valueOf(e.getMessage()));
                break;
            }
        }
        watches.closeAll();
        removeListeners();
        shutdownThreads();
        if (ownsRedisson) {
            redisson.shutdown();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    Scheduler scheduler() {
        return scheduler;
    }

    /** Sessions whose end-claim Redis did not answer: one line for many (a node shut down with Redis frozen closes all at once). */
    CountedWarning unclaimedEnds() {
        return unclaimedEnds;
    }

    /** Sessions whose registry record a write found gone: one line for many (Redis lost them all at once). */
    CountedWarning recordsLost() {
        return recordsLost;
    }

    Telemetry telemetry() {
        return telemetry;
    }

    /**
     * Counts with {@code added} too, for {@code registry}; a second binding to the same registry
     * replaces the first (its meters are the same ones: counting twice would double them).
     */
    void telemetry(Object registry, Telemetry added) {
        synchronized (telemetries) {
            telemetries.put(Objects.requireNonNull(registry, "registry"), Objects.requireNonNull(added, "added"));
            telemetry = Telemetry.all(List.copyOf(telemetries.values()), meterThrew);
        }
    }

    /** The locks held by this node's sessions now. */
    int heldLocks() {
        int held = 0;
        for (Session s : sessions.values()) {
            held += s.grants().size();
        }
        return held;
    }

    /** The places of this node's sessions in lock queues now. */
    int queuedPlaces() {
        int places = 0;
        for (Session s : sessions.values()) {
            places += s.places().size();
        }
        return places;
    }

    /** The (session, lock) waits of this node's sessions now. */
    int waits() {
        int waits = 0;
        for (Session s : sessions.values()) {
            waits += s.waitedLocks().size();
        }
        return waits;
    }

    /** The session closed: stop tracking it. */
    void forget(Session session) {
        sessions.remove(session.id(), session);
    }

    /** The number of locks this node's sessions currently wait for (for tests and metrics). */
    int waitedLocks() {
        return waiters.waitedLocks();
    }

    private void onReleased(String message) {
        RedisLockStore.Released released;
        try {
            released = RedisLockStore.Released.parse(message);
        } catch (IllegalArgumentException e) {
            LOG.log(Level.WARNING, "Ignored a malformed release message: {0}", message);
            return;
        }
        waiters.released(released.lock(), released.token(), released.releasedAtMicros());
    }

    /** {@code <owner>\n<token>\n<lock>\n<stealer>}: a steal ended that grant. */
    private void onStolen(String message) {
        String[] f = message.split("\n", 4);
        Session session = f.length == 4 ? sessions.get(f[0]) : null;
        if (session != null) {
            try {
                session.stolen(f[2], Long.parseLong(f[1]), RedisLockStore.Holder.parse(f[3]).name());
            } catch (NumberFormatException e) {
                LOG.log(Level.WARNING, "Ignored a malformed steal message: {0}", message);
            }
        }
    }

    /** {@code <owner>\n<lock>\n<asker>}: someone queues for that session's lock and asks for it. */
    private void onAsked(String message) {
        String[] f = message.split("\n", 3);
        Session session = f.length == 3 ? sessions.get(f[0]) : null;
        if (session != null) {
            RedisLockStore.Holder asker = RedisLockStore.Holder.parse(f[2]);
            session.asked(f[1], asker.name(), asker.info());
        }
    }

    private void onGranted(String message) {
        RedisLockStore.Granted granted;
        try {
            granted = RedisLockStore.Granted.parse(message);
        } catch (IllegalArgumentException e) {
            LOG.log(Level.WARNING, "Ignored a malformed grant message: {0}", message);
            return;
        }
        granted(granted);
    }

    /** A grant to a queued request of one of this node's sessions, from its channel or from the answer of an unlock. */
    void granted(RedisLockStore.Granted granted) {
        Session session = sessions.get(granted.owner());
        if (session != null) {
            session.grantFound(granted.lock(), granted.placeAttempt(), granted.token(), granted.mode());
        }
    }

    /** Removes this node's listeners from the client's topics; not waited for: an unreachable Redis would hold close() up. */
    private void removeListeners() {
        listeners.forEach(l -> l.getKey().removeListenerAsync(l.getValue()).toCompletableFuture().exceptionally(e -> {
            LOG.log(Level.DEBUG, "Could not unsubscribe: {0}", e.getMessage());
            return null;
        }));
    }

    private void shutdownThreads() {
        synchronized (this) {
            if (nextTick != null) {
                nextTick.cancel(false);
            }
        }
        if (ownedScheduler != null) {
            ownedScheduler.shutdownNow();
        }
    }

    /** A resume secret: 144 random bits. */
    private static String newSecret() {
        byte[] bytes = new byte[18];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private static String newId() {
        byte[] bytes = new byte[15];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    private static void markInService(RedisLockStore store, LockConfig config) {
        try {
            store.markInService().toCompletableFuture().get(config.lease().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackendUnavailableException("interrupted while marking Redis as in service", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new BackendUnavailableException("cannot mark Redis as in service: " + e.getMessage(), e);
        }
    }
}
