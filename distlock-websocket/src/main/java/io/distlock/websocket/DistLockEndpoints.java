package io.distlock.websocket;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
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
 * One distlock endpoint of a JSR-356 container: its {@link ServerEndpointConfig}, its open
 * connections, its ping threads and its meters. Make one per path with {@link #create}, register
 * its {@link #config()}, and close it on shutdown:
 *
 * <pre>{@code
 * LockService locks = LockService.connect("redis://127.0.0.1:6379", LockConfig.defaults());
 * DistLockEndpoints endpoint = DistLockEndpoints.create(locks, EndpointOptions.defaults());
 * serverContainer.addEndpoint(endpoint.config());
 * ...
 * endpoint.close(); // connections closed with 1001, locks released, threads stopped
 * locks.close();
 * }</pre>
 *
 * Nothing is shared between two endpoints, whether they serve one lock service or two: each
 * counts, limits, meters and closes only its own connections. Thread-safe.
 */
public final class DistLockEndpoints implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(DistLockEndpoints.class.getName());
    /** How long {@link #closeAll()} holds the releases back while it hands the close frames to the container. */
    static final Duration TELL_FIRST = Duration.ofMillis(250);

    private final Node node;
    private final ServerEndpointConfig config;
    /** Whether {@link #close()} stops the executors: not those a test passed in. */
    private final boolean ownsExecutors;

    private DistLockEndpoints(Node node, boolean ownsExecutors) {
        this.node = node;
        this.ownsExecutors = ownsExecutors;
        this.config = ServerEndpointConfig.Builder.create(DistLockEndpoint.class, node.options.path())
                .configurator(new EndpointConfigurator(node))
                .build();
    }

    /**
     * An endpoint whose connections each get their own session of {@code service}. Several
     * endpoints (e.g. on different paths) may serve one service.
     */
    public static DistLockEndpoints create(LockService service, EndpointOptions options) {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(options, "options");
        return new DistLockEndpoints(new Node(service, options), true);
    }

    /**
     * As {@link #create(LockService, EndpointOptions)}, with the executors the endpoint pings
     * with given (see {@link Node}); they stay the caller's to shut down. For tests.
     */
    static DistLockEndpoints create(LockService service, EndpointOptions options, ScheduledExecutorService timer, Executor sender) {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(options, "options");
        return new DistLockEndpoints(new Node(service, options, Objects.requireNonNull(timer, "timer"),
                Objects.requireNonNull(sender, "sender")), false);
    }

    /**
     * The config to give {@code ServerContainer.addEndpoint}, in Tyrus, Jetty 12 (ee10) and
     * Tomcat 10.1+; always the same one.
     */
    public ServerEndpointConfig config() {
        return config;
    }

    public EndpointOptions options() {
        return node.options;
    }

    /** The number of this endpoint's open connections. */
    public int openConnections() {
        return node.connections.size();
    }

    /**
     * Closes every open connection of this endpoint with 1001 (going away) and closes their
     * lock sessions, releasing their locks; waits for the closes, then for the releases up to
     * the service's lease. The connections are muted first and their close frames handed to the
     * container before any lock is released (for up to {@link #TELL_FIRST}; a close may block in
     * Tomcat, 50 ms per client that does not read): no client of this endpoint is sent a grant
     * that another's close freed, and a client that reads is told before its locks are freed
     * (see docs/safety.md). Connections opened afterwards are served as usual. Callers take
     * turns: a second call waits for the first.
     */
    public synchronized void closeAll() {
        List<Connection> open = List.copyOf(node.connections);
        CompletableFuture<Void> told = new CompletableFuture<>();
        node.holdReleasesUntil(told);
        told.completeOnTimeout(null, TELL_FIRST.toMillis(), TimeUnit.MILLISECONDS);
        try {
            open.forEach(Connection::mute);
            open.forEach(c -> c.sendClose(CloseCodes.GOING_AWAY, "server shutting down"));
        } finally {
            node.holdReleasesUntil(CompletableFuture.completedFuture(null));
            told.complete(null);
        }
        List<CompletableFuture<Void>> releases = new ArrayList<>();
        for (Connection c : open) {
            releases.add(c.release().toCompletableFuture()); // the container may not have reported every close yet
        }
        try {
            CompletableFuture.allOf(releases.toArray(CompletableFuture[]::new))
                    .get(node.service.config().lease().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.log(Level.WARNING, "Not every session released its locks in time; they free themselves when their leases run out");
        }
    }

    /**
     * For a clean shutdown, before {@link LockService#close()} and before stopping the
     * container: {@link #closeAll()}, then stops this endpoint's threads. Handshakes that
     * arrive afterwards (JSR-356 cannot remove a registered endpoint) are refused with HTTP
     * 503. Idempotent.
     */
    @Override
    public void close() {
        node.markClosed(); // first: a connection that opens from now on closes itself
        closeAll();
        if (ownsExecutors) {
            node.shutdown();
        }
    }

    /**
     * Whether {@link #close()} has begun: from then on handshakes are refused with HTTP 503. For
     * a health check that must say the node is going before its port closes.
     */
    public boolean isClosed() {
        return node.isClosed();
    }

    /**
     * The HTTP status this endpoint would refuse {@code handshake} with before the upgrade, or
     * 0 if it passes: 503 when the endpoint is closed or has its maximum of connections, 403
     * for a foreign {@code Origin} or when the authenticator refuses. Refusals are counted as
     * refused handshakes.
     *
     * <p>For servlet containers whose WebSocket implementation cannot send a status from the
     * handshake (Tomcat answers every refusal with 500): a servlet filter in front of the
     * endpoint's path calls this for upgrade requests and sends the status itself, as
     * distlock-spring-boot-starter's {@code DistLockHandshakeFilter} does. The endpoint checks
     * again at the upgrade, so the authenticator runs twice for a handshake that passes here.
     * The per-address limit (429) is not checked here.
     */
    public int refusalStatus(HandshakeInfo handshake) {
        Objects.requireNonNull(handshake, "handshake");
        return ((EndpointConfigurator) config.getConfigurator()).refusal(handshake);
    }

    /** Where the endpoint's counts go, instead of where they went (for tests). */
    void telemetry(EndpointTelemetry telemetry) {
        node.telemetry(Objects.requireNonNull(telemetry, "telemetry"));
    }

    /** Where the endpoint's counts go too, for {@code registry}: {@link EndpointMetrics} adds one per registry. */
    void telemetry(Object registry, EndpointTelemetry telemetry) {
        node.telemetry(Objects.requireNonNull(registry, "registry"), Objects.requireNonNull(telemetry, "telemetry"));
    }

    Node node() {
        return node;
    }

    @Override
    public String toString() {
        return "DistLockEndpoints{path=" + node.options.path() + ", connections=" + openConnections()
                + (isClosed() ? ", closed" : "") + "}";
    }
}
