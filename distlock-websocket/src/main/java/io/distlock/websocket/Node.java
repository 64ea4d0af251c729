package io.distlock.websocket;

import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;

import io.distlock.core.LockService;

/**
 * What every connection of one endpoint config shares: the node's lock service, the options,
 * the set of open connections (shared by every config of the same service, for
 * {@link DistLockEndpoints#closeAll}), and the timer that pings.
 */
final class Node {

    /**
     * Pings and liveness checks of every connection in the JVM: tiny tasks, so two daemon
     * threads serve any number of connections and nothing needs shutting down.
     */
    private static final ScheduledExecutorService TIMER = newTimer();

    final LockService service;
    final EndpointOptions options;
    final Set<Connection> connections;

    Node(LockService service, EndpointOptions options, Set<Connection> connections) {
        this.service = service;
        this.options = options;
        this.connections = connections;
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
