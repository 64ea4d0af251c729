package io.distlock.core;

import java.lang.System.Logger.Level;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.redisson.Redisson;
import org.redisson.api.RTopic;
import org.redisson.api.RedissonClient;
import org.redisson.api.listener.BaseStatusListener;
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
    private final Waiters waiters;
    /** Null when the config brought a scheduler of its own. */
    private final ScheduledThreadPoolExecutor ownedScheduler;
    private final Scheduler scheduler;
    private final LeaseRenewal renewal;
    private final long tickMillis;
    private Future<?> nextTick; // guarded by this
    private final Executor callbackExecutor;
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final RTopic releases;
    /** This node's grants of queued requests: {@code <prefix>:granted:<node id>}. */
    private final RTopic grants;
    private final String nodeId;
    private final List<Integer> listenerIds = new ArrayList<>();
    private int grantListenerId;
    private volatile boolean closed;
    private volatile Telemetry telemetry = Telemetry.NONE;

    private LockService(RedissonClient redisson, boolean ownsRedisson, LockConfig config) {
        this.redisson = Objects.requireNonNull(redisson, "redisson");
        this.ownsRedisson = ownsRedisson;
        this.config = Objects.requireNonNull(config, "config");
        this.nodeId = newId();
        this.store = new RedisLockStore(redisson, config, nodeId);
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
        this.releases = redisson.getTopic(store.channel(), StringCodec.INSTANCE);
        this.grants = redisson.getTopic(store.grantedChannel(), StringCodec.INSTANCE);
        try {
            // Grants missed while unsubscribed are found by the next keep-place of lease renewal.
            grantListenerId = grants.addListener(String.class, (channel, message) -> onGranted(message));
            listenerIds.add(releases.addListener(String.class, (channel, message) -> onReleased(message)));
            listenerIds.add(releases.addListener(new BaseStatusListener() {
                @Override
                public void onSubscribe(String channel) {
                    // Also called after every reconnect: releases published meanwhile are lost.
                    waiters.recheckAll();
                }
            }));
        } catch (RuntimeException e) {
            shutdownThreads();
            throw RedisLockStore.backendFailure(e);
        }
        this.renewal = new LeaseRenewal(store, sessions.values(), leaseMillis, config.ticker(), this::telemetry);
        this.tickMillis = Math.max(50, leaseMillis / 6);
        scheduleTick();
    }

    /** The next renewal tick, a sixth of the lease after this one ended (a fixed delay, never two at once). */
    private synchronized void scheduleTick() {
        if (closed) {
            return;
        }
        try {
            nextTick = scheduler.schedule(() -> {
                renewal.tick();
                scheduleTick();
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
     * A node with a Redisson client of its own for one Redis server, {@code redis://host:port}
     * or {@code rediss://host:port}; the client is shut down with the service. For Sentinel or
     * Cluster, configure a Redisson client and use {@link #create(RedissonClient, LockConfig)}.
     *
     * @throws BackendUnavailableException if Redis cannot be reached
     */
    public static LockService connect(String redisUrl, LockConfig config) {
        Objects.requireNonNull(redisUrl, "redisUrl");
        Config redissonConfig = new Config();
        // Redisson sizes its thread pools for big machines; a lock node needs few threads.
        int cores = Runtime.getRuntime().availableProcessors();
        redissonConfig.setNettyThreads(Math.max(4, 2 * cores));
        redissonConfig.setThreads(Math.max(2, cores));
        redissonConfig.useSingleServer().setAddress(redisUrl);
        RedissonClient client;
        try {
            client = Redisson.create(redissonConfig);
        } catch (RuntimeException e) {
            throw new BackendUnavailableException("Cannot connect to Redis at " + redisUrl + ": " + e.getMessage(), e);
        }
        try {
            return new LockService(client, true, config);
        } catch (RuntimeException e) {
            client.shutdown();
            throw e;
        }
    }

    /**
     * Opens a session. Check the name first with {@link #checkSessionName(String)}.
     *
     * @param name     a label shown to others as the holder of the session's locks
     * @param listener receives the session's pushes; {@link LockListener#NONE} ignores them
     * @throws IllegalArgumentException if the name breaks the rules
     * @throws IllegalStateException    if the service is closed
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
        sessions.put(session.id(), session);
        return session;
    }

    /** What is wrong with a session name (empty, too long, control characters), or empty if it is fine. */
    public Optional<String> checkSessionName(String name) {
        return Names.problem("session", name, config.maxSessionNameLength());
    }

    public LockConfig config() {
        return config;
    }

    /** The sessions open on this node. */
    public int sessionCount() {
        return sessions.size();
    }

    /**
     * Closes every session, releasing its locks (waiting up to the lease for Redis), and stops
     * this node. Shuts the Redisson client down if the service created it. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        CompletableFuture<?>[] closing = sessions.values().stream()
                .map(s -> s.closeAsync().toCompletableFuture())
                .toArray(CompletableFuture[]::new);
        try {
            CompletableFuture.allOf(closing).get(config.lease().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            LOG.log(Level.WARNING, "Not every session could release its locks; they free themselves when their leases run out: {0}",
                    String.valueOf(e.getMessage()));
        }
        // Not waited for: an unreachable Redis would hold close() up for Redisson's whole retry budget.
        List<CompletableFuture<Void>> unsubscribing = new ArrayList<>();
        listenerIds.forEach(id -> unsubscribing.add(releases.removeListenerAsync(id).toCompletableFuture()));
        unsubscribing.add(grants.removeListenerAsync(grantListenerId).toCompletableFuture());
        unsubscribing.forEach(f -> f.exceptionally(e -> {
            LOG.log(Level.DEBUG, "Could not unsubscribe: {0}", e.getMessage());
            return null;
        }));
        shutdownThreads();
        if (ownsRedisson) {
            redisson.shutdown();
        }
    }

    Scheduler scheduler() {
        return scheduler;
    }

    Telemetry telemetry() {
        return telemetry;
    }

    void telemetry(Telemetry telemetry) {
        this.telemetry = telemetry;
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
