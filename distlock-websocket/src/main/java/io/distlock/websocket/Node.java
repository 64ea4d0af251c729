package io.distlock.websocket;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.distlock.core.LockService;

/**
 * What every connection of one endpoint config shares: the node's lock service, the options,
 * what every config of the same service shares ({@link Shared}), and the threads that ping.
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
 * Both belong to this config and let their threads end when idle, so an endpoint with no
 * connections holds no thread and needs no shutdown (JSR-356 never tells an endpoint config
 * that it was removed). Tests may pass their own executors, which then stay theirs.
 */
final class Node {

    /**
     * What every endpoint config of one lock service shares: its open connections (for
     * {@link DistLockEndpoints#closeAll}) and its telemetry (for {@link EndpointMetrics}).
     * Holds no reference to the service.
     */
    static final class Shared {
        final Set<Connection> connections = ConcurrentHashMap.newKeySet();
        volatile EndpointTelemetry telemetry = EndpointTelemetry.NONE;
    }

    /** How long an idle timer or sender thread lingers before it ends. */
    private static final long IDLE_SECONDS = 60;
    private static final AtomicInteger THREADS = new AtomicInteger();

    final LockService service;
    final EndpointOptions options;
    final Set<Connection> connections;
    private final Shared shared;
    private final ScheduledExecutorService timer;
    private final Executor sender;
    /** Open connections of this config, for {@link EndpointOptions#maxConnections()}. */
    private final AtomicInteger open = new AtomicInteger();

    Node(LockService service, EndpointOptions options, Shared shared) {
        this(service, options, shared, newTimer(), newSender());
    }

    Node(LockService service, EndpointOptions options, Shared shared, ScheduledExecutorService timer, Executor sender) {
        this.service = service;
        this.options = options;
        this.shared = shared;
        this.connections = shared.connections;
        this.timer = timer;
        this.sender = sender;
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

    EndpointTelemetry telemetry() {
        return shared.telemetry;
    }

    /** Schedules ticks; a task run here must never block. */
    ScheduledExecutorService timer() {
        return timer;
    }

    /** Runs container calls that may block: pings and closes. */
    Executor sender() {
        return sender;
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
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + THREADS.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }
}
