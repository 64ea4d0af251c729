package io.distlock.websocket;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.distlock.core.LockService;
import jakarta.websocket.CloseReason.CloseCodes;
import jakarta.websocket.server.ServerEndpointConfig;

/**
 * Makes the distlock endpoint for a JSR-356 container, and closes its connections on
 * shutdown.
 *
 * <pre>{@code
 * LockService locks = LockService.connect("redis://127.0.0.1:6379", LockConfig.defaults());
 * serverContainer.addEndpoint(DistLockEndpoints.config(locks, EndpointOptions.defaults()));
 * ...
 * DistLockEndpoints.closeAll(locks); // connections closed with 1001, locks released
 * locks.close();
 * }</pre>
 *
 * Thread-safe.
 */
public final class DistLockEndpoints {

    private static final System.Logger LOG = System.getLogger(DistLockEndpoints.class.getName());

    /**
     * What the endpoints of each service share: open connections, telemetry. Weak keys: a
     * service nobody uses any more is not kept alive by this map (the value holds no
     * reference to it, and neither does an empty set of connections).
     */
    private static final Map<LockService, Node.Shared> SHARED = Collections.synchronizedMap(new WeakHashMap<>());

    private DistLockEndpoints() { }

    /**
     * A {@link ServerEndpointConfig} for {@code ServerContainer.addEndpoint}, in Tyrus, Jetty 12
     * (ee10) and Tomcat 10.1+. Each connection gets its own session of {@code service}.
     * Several configs (e.g. on different paths) may share one service.
     */
    public static ServerEndpointConfig config(LockService service, EndpointOptions options) {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(options, "options");
        return config(new Node(service, options, shared(service)));
    }

    /**
     * As {@link #config(LockService, EndpointOptions)}, with the executors the endpoint pings
     * with given (see {@link Node}); the caller shuts them down. For tests.
     */
    static ServerEndpointConfig config(LockService service, EndpointOptions options, ScheduledExecutorService timer, Executor sender) {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(options, "options");
        return config(new Node(service, options, shared(service), Objects.requireNonNull(timer, "timer"),
                Objects.requireNonNull(sender, "sender")));
    }

    private static ServerEndpointConfig config(Node node) {
        return ServerEndpointConfig.Builder.create(DistLockEndpoint.class, node.options.path())
                .configurator(new EndpointConfigurator(node))
                .build();
    }

    /**
     * Closes every open connection of the endpoints made from {@code service}'s configs with
     * 1001 (going away) and closes their lock sessions, releasing their locks; waits for the
     * releases up to the service's lease. For a clean shutdown: call it before
     * {@link LockService#close()} and before stopping the container. Connections opened
     * afterwards are served as usual.
     */
    public static void closeAll(LockService service) {
        Objects.requireNonNull(service, "service");
        List<CompletableFuture<Void>> releases = new ArrayList<>();
        for (Connection c : List.copyOf(connections(service))) {
            releases.add(c.close(CloseCodes.GOING_AWAY, "server shutting down").toCompletableFuture());
        }
        try {
            CompletableFuture.allOf(releases.toArray(CompletableFuture[]::new))
                    .get(service.config().lease().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.log(Level.WARNING, "Not every session released its locks in time; they free themselves when their leases run out");
        }
    }

    /** The number of open connections of the endpoints made from {@code service}'s configs. */
    public static int openConnections(LockService service) {
        Objects.requireNonNull(service, "service");
        return connections(service).size();
    }

    private static Set<Connection> connections(LockService service) {
        return shared(service).connections;
    }

    static Node.Shared shared(LockService service) {
        return SHARED.computeIfAbsent(service, s -> new Node.Shared());
    }
}
