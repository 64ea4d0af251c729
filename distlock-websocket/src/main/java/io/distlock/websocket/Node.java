package io.distlock.websocket;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;

import io.distlock.core.LockService;

/**
 * What every connection of one endpoint config shares: the node's lock service, the options,
 * what every config of the same service shares ({@link Shared}), and the timer that pings.
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

    /**
     * Pings and liveness checks of every connection in the JVM: tiny tasks, so two daemon
     * threads serve any number of connections and nothing needs shutting down.
     */
    private static final ScheduledExecutorService TIMER = newTimer();

    final LockService service;
    final EndpointOptions options;
    final Set<Connection> connections;
    private final Shared shared;

    Node(LockService service, EndpointOptions options, Shared shared) {
        this.service = service;
        this.options = options;
        this.shared = shared;
        this.connections = shared.connections;
    }

    EndpointTelemetry telemetry() {
        return shared.telemetry;
    }

    ScheduledExecutorService timer() {
        return TIMER;
    }

    private static ScheduledExecutorService newTimer() {
        AtomicInteger count = new AtomicInteger();
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(2, runnable -> {
            Thread thread = new Thread(runnable, "distlock-websocket-timer-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        timer.setRemoveOnCancelPolicy(true); // closed connections' tasks must not pile up
        return timer;
    }
}
