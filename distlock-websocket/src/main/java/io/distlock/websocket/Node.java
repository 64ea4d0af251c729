package io.distlock.websocket;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.distlock.core.LockService;
import io.distlock.core.LockSession;
import io.distlock.core.Ticker;

/**
 * What every connection of one endpoint ({@link DistLockEndpoints}) shares: the node's lock
 * service, the options, the open connections, the telemetry, the clock, and the threads that
 * ping. Nothing here is static: two endpoints share nothing.
 *
 * <p>Two executors, so that no connection can hold up another's liveness checks:
 * <ul>
 * <li>the <em>timer</em> only schedules: its ticks read clocks and hand work on, and never
 *     call the container;</li>
 * <li>the <em>sender</em> makes the container calls that may block (a ping: Jetty 12's
 *     {@code sendPing} waits until the frame is written, so it never returns while the
 *     client does not read; a close, which may block in Tomcat). Its threads are made on
 *     demand, and each connection has at most one ping in flight, so a stuck client holds
 *     one thread of its own and nobody else's.</li>
 * </ul>
 * Both let their threads end when idle, so an endpoint with no connections holds no thread;
 * {@link DistLockEndpoints#close()} stops them. Tests may pass their own executors, which then
 * stay theirs.
 */
final class Node {

    /** How long an idle timer or sender thread lingers before it ends. */
    private static final long IDLE_SECONDS = 60;
    /** The key in {@link #detachedFrom} of clients whose address the container did not tell (only the node's cap counts them). */
    private static final String UNKNOWN_ADDRESS = "";

    final LockService service;
    final EndpointOptions options;
    /** The application's authorizer or authenticator threw: a refusal, logged as {@link RepeatedWarning}. */
    final RepeatedWarning authorizerThrew = new RepeatedWarning(System.getLogger(RequestHandler.class.getName()),
            "The authorizer threw; refusing the lock");
    final RepeatedWarning authenticatorThrew = new RepeatedWarning(System.getLogger(EndpointConfigurator.class.getName()),
            "The authenticator threw; refusing the connection");
    /** A session was closed without reaching Redis: all of them at once when a node stops while Redis is frozen. */
    final RepeatedWarning closedWithoutRedis = new RepeatedWarning(System.getLogger(Connection.class.getName()),
            "A session was closed without reaching Redis; its locks free themselves when their leases run out");
    /** Open connections, for {@link DistLockEndpoints#closeAll()} and the connections gauge. */
    final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService timer;
    private final Executor sender;
    private final Ticker ticker;
    private final AskLimiter asks;
    /** Open connections, for {@link EndpointOptions#maxConnections()}. */
    private final AtomicInteger open = new AtomicInteger();
    /**
     * Open connections per client address ({@link ClientAddress#key}), for
     * {@link EndpointOptions#maxConnectionsPerAddress()}; an address leaves the map with its
     * last connection, so the map is as large as the number of addresses connected.
     */
    private final ConcurrentMap<String, Integer> openFrom = new ConcurrentHashMap<>();
    /**
     * Sessions detached from connections of each client address and not yet ended or resumed, for
     * {@link #mayDetach}; an address leaves the map when its last one is found ended.
     */
    private final Map<String, List<LockSession>> detachedFrom = new HashMap<>(); // guarded by itself
    /** The sessions in {@link #detachedFrom}, ended ones not yet dropped included; guarded by it. */
    private int detachedTotal;
    private volatile EndpointTelemetry telemetry = EndpointTelemetry.NONE;
    /** What counts, for every registry an {@link EndpointMetrics} was bound to (by identity); guarded by this. */
    private final Map<Object, EndpointTelemetry> telemetries = new IdentityHashMap<>();
    // Named after EndpointTelemetry, not the binder: naming its class would load it, and Micrometer is optional.
    private final RepeatedWarning meterThrew = new RepeatedWarning(System.getLogger(EndpointTelemetry.class.getName()),
            "A meter threw; counting goes on without it");
    /** Set by {@link DistLockEndpoints#close()}: no connection is served any more. */
    private volatile boolean closed;
    private volatile CompletionStage<Void> releasesHeldUntil = CompletableFuture.completedFuture(null);

    /** With executors of its own, which {@link #shutdown()} stops. */
    Node(LockService service, EndpointOptions options) {
        this(service, options, newTimer(), newSender());
    }

    Node(LockService service, EndpointOptions options, ScheduledExecutorService timer, Executor sender) {
        this.service = service;
        this.options = options;
        this.timer = timer;
        this.sender = sender;
        this.ticker = options.ticker();
        this.asks = new AskLimiter(options.askInterval().toNanos());
    }

    /** Counts a connection that opened; returns how many are open now. */
    int opened() {
        return open.incrementAndGet();
    }

    void closed() {
        open.decrementAndGet();
    }

    int openConnections() {
        return open.get();
    }

    /** Counts a connection from {@code client} that opened; returns how many from there are open now. */
    int openedFrom(String client) {
        return openFrom.merge(client, 1, Integer::sum);
    }

    /** Uncounts a connection from {@code client} counted by {@link #openedFrom}. */
    void closedFrom(String client) {
        openFrom.computeIfPresent(client, (k, n) -> n > 1 ? n - 1 : null);
    }

    /**
     * Whether {@code session}, whose connection from {@code client} (null if not known) dropped,
     * may be kept detached for its grace: an address keeps at most
     * {@link EndpointOptions#maxConnectionsPerAddress()} detached sessions, as many as it may have
     * connections, and the node at most {@link EndpointOptions#maxConnections()}, so that many
     * addresses cannot hoard them either. Without this, a client that connects
     * with a grace, takes locks and drops the connection, again and again, kept any number of
     * sessions and their locks on the node and in Redis for the grace, none of them counted.
     * Counted from here until the session has ended (its grace over, closed, or resumed: the handle
     * of the dropped connection is then closed), checked at its grace's end and then every second.
     */
    boolean mayDetach(String client, LockSession session) {
        String key = client == null ? UNKNOWN_ADDRESS : client;
        synchronized (detachedFrom) {
            List<LockSession> sessions = detachedFrom.get(key);
            if (client != null && sessions != null && prune(sessions) >= options.maxConnectionsPerAddress()) {
                return false;
            }
            if (detachedTotal >= options.maxConnections()) {
                // At the node's cap (as many as it may have connections): count again, without the ended.
                detachedFrom.values().removeIf(list -> prune(list) == 0);
                if (detachedTotal >= options.maxConnections()) {
                    return false;
                }
            }
            detachedFrom.computeIfAbsent(key, k -> new ArrayList<>(1)).add(session);
            detachedTotal++;
        }
        forgetWhenEnded(key, session, session.grace().toMillis() + 1000);
        return true;
    }

    private void forgetWhenEnded(String key, LockSession session, long afterMillis) {
        try {
            timer.schedule(() -> {
                if (!session.isClosed()) {
                    forgetWhenEnded(key, session, 1000);
                    return;
                }
                synchronized (detachedFrom) {
                    List<LockSession> sessions = detachedFrom.get(key);
                    if (sessions != null && prune(sessions) == 0) {
                        detachedFrom.remove(key);
                    }
                }
            }, afterMillis, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // the endpoint is closed: nothing is counted any more
        }
    }

    /** Sessions detached from connections of {@code client} that have not ended yet. */
    int detachedFrom(String client) {
        synchronized (detachedFrom) {
            List<LockSession> sessions = detachedFrom.get(client);
            return sessions == null ? 0 : prune(sessions);
        }
    }

    /** Drops the ended sessions of {@code sessions}, one address's; returns how many are left. Under {@link #detachedFrom}. */
    private int prune(List<LockSession> sessions) {
        int before = sessions.size();
        sessions.removeIf(LockSession::isClosed);
        detachedTotal -= before - sessions.size();
        return sessions.size();
    }

    /** Open connections from {@code client}. */
    int openConnectionsFrom(String client) {
        return openFrom.getOrDefault(client, 0);
    }

    EndpointTelemetry telemetry() {
        return telemetry;
    }

    synchronized void telemetry(EndpointTelemetry telemetry) {
        this.telemetry = telemetry;
    }

    /**
     * Counts with {@code added} too, for {@code registry}; a second binding to the same registry
     * (by the same binder or another) replaces the first: its meters are the same ones, and
     * counting twice would double them.
     */
    synchronized void telemetry(Object registry, EndpointTelemetry added) {
        telemetries.put(registry, added);
        telemetry = EndpointTelemetry.all(List.copyOf(telemetries.values()), meterThrew);
    }

    /** Now, in nanoseconds of {@link EndpointOptions#ticker()}: for pings, silence and rates. */
    long nanos() {
        return ticker.read();
    }

    boolean isClosed() {
        return closed;
    }

    void markClosed() {
        closed = true;
    }

    /**
     * Sessions of connections that end from now on are released only once {@code gate} completes
     * ({@link DistLockEndpoints#closeAll()} tells every client before it frees any lock).
     */
    void holdReleasesUntil(CompletableFuture<Void> gate) {
        releasesHeldUntil = gate;
    }

    /** When the sessions of connections that end now may be released: at once but during {@link #holdReleasesUntil}. */
    CompletionStage<Void> releasesAllowed() {
        return releasesHeldUntil;
    }

    /** Schedules ticks; a task run here must never block. */
    ScheduledExecutorService timer() {
        return timer;
    }

    /** The pace of {@code ask}s, per session and lock, for every connection of this node. */
    AskLimiter asks() {
        return asks;
    }

    /** Runs container calls that may block: pings and closes. */
    Executor sender() {
        return sender;
    }

    /** Stops the timer and the sender, if they are {@code ExecutorService}s (ours are). */
    void shutdown() {
        timer.shutdownNow();
        if (sender instanceof ExecutorService service) {
            service.shutdownNow();
        }
    }

    private static ScheduledExecutorService newTimer() {
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, daemon("distlock-websocket-timer-"));
        timer.setRemoveOnCancelPolicy(true); // closed connections' tasks must not pile up
        timer.setKeepAliveTime(IDLE_SECONDS, TimeUnit.SECONDS);
        timer.allowCoreThreadTimeOut(true); // the thread stays while any tick is scheduled
        return timer;
    }

    private static Executor newSender() {
        return new ThreadPoolExecutor(0, Integer.MAX_VALUE, IDLE_SECONDS, TimeUnit.SECONDS,
                new SynchronousQueue<>(), daemon("distlock-websocket-send-"));
    }

    private static ThreadFactory daemon(String prefix) {
        AtomicInteger threads = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }
}
