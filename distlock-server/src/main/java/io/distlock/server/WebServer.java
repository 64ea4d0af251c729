package io.distlock.server;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;

import jakarta.websocket.DeploymentException;
import jakarta.websocket.server.ServerEndpointConfig;

import io.distlock.websocket.EndpointOptions;

import org.glassfish.grizzly.http.HttpServerFilter;
import org.glassfish.grizzly.http.server.HttpHandler;
import org.glassfish.grizzly.http.server.HttpServer;
import org.glassfish.grizzly.http.server.NetworkListener;
import org.glassfish.grizzly.http.server.ServerConfiguration;
import org.glassfish.grizzly.threadpool.ThreadPoolConfig;
import org.glassfish.tyrus.container.grizzly.server.GrizzlyServerFilter;
import org.glassfish.tyrus.container.grizzly.server.WebSocketAddOn;
import org.glassfish.tyrus.core.TyrusWebSocketEngine;
import org.glassfish.tyrus.server.TyrusServerContainer;
import org.glassfish.tyrus.spi.WebSocketEngine;

/**
 * One port, two jobs: a Grizzly HTTP server for the page and the static files, and Tyrus on
 * the same listener for WebSocket upgrades.
 *
 * <p>Tyrus's own Grizzly container always listens on {@code 0.0.0.0} and serves static files
 * only from a directory; this class builds the same stack by hand (a {@link TyrusServerContainer},
 * Tyrus's public {@link WebSocketAddOn} on a Grizzly listener) so it can bind the configured
 * host and serve the page, its files under {@code /demo/} ({@link #serveDemoFiles}) and {@code /distlock/distlock.js} from the classpath
 * ({@link ClasspathFiles}: gzipped when the browser accepts it, revalidated by {@code ETag}).
 *
 * <p>Lifecycle: {@link #create} builds the server without listening, {@link #deploy} and
 * {@link #addHttpHandler} add the endpoint and the pages, and only then {@link #start} opens
 * the port: a client that connects as soon as the port opens (a node's neighbour, a load
 * balancer's health check) must not get a 404 from a server still starting.
 * {@link #close()} stops everything. Not thread-safe; used by {@link DistLockServer} from one
 * thread.
 */
final class WebServer implements AutoCloseable {

    /** Where a webjar (the distlock-js jar) puts the JavaScript client. */
    static final String CLIENT_RESOURCES = "/META-INF/resources/distlock/";
    /** The demo page's script and style sheet, served at {@code /demo/}; the page itself is {@link IndexPage}. */
    static final String DEMO_RESOURCES = "/io/distlock/server/static/demo/";
    private static final String CONTEXT_PATH = "/";

    private final HttpServer http;
    private final NetworkListener listener;
    private final Container container;
    private final ConnectionGuard guard;
    private final String host;
    private final int requestedPort;
    private boolean deployed;
    private boolean closed;

    private WebServer(HttpServer http, NetworkListener listener, Container container, ConnectionGuard guard, String host,
                      int requestedPort) {
        this.http = http;
        this.listener = listener;
        this.container = container;
        this.guard = guard;
        this.host = host;
        this.requestedPort = requestedPort;
    }

    /**
     * A server for {@code host:port} (port 0: any free port) that serves the static files and
     * request heads of at most {@code maxRequestHeadBytes} ({@link RefusalFilter.HeadTooLarge}), its
     * connections watched by {@code guard} (which it closes with itself); it listens from
     * {@link #start()}. {@code pingInterval} is the endpoint's: the pongs that answer its pings
     * are allowed besides the pings and pongs {@link FrameHeaderGuard} allows a client.
     */
    static WebServer create(String host, int port, int maxRequestHeadBytes, Duration pingInterval, ConnectionGuard guard) {
        HttpServer http = new HttpServer();
        NetworkListener listener = new NetworkListener("distlock", host, port);
        // WebSocket frames are handled on the selector threads that read them: the endpoint
        // never blocks (Redis calls and sends are asynchronous), and the hop to a worker thread
        // for every frame cost CPU and latency (docs/benchmarks.md). HTTP requests (the page,
        // static files, /metrics) still run on a small worker pool: Grizzly's default request
        // executor hands them over when they arrive on a selector thread. The guard's strategy
        // does this (and stops accepting for a while when the process is out of files).
        // Grizzly's keep-alive idle timeout would close upgraded WebSockets too, which are idle
        // for HTTP: the guard replaces that filter with its HTTP deadline, which spares them.
        listener.getTransport().setWorkerThreadPoolConfig(
                ThreadPoolConfig.defaultConfig().setPoolName("distlock-http").setCorePoolSize(1).setMaxPoolSize(8));
        listener.getKeepAlive().setIdleTimeoutInSeconds(-1);
        listener.setMaxHttpHeaderSize(maxRequestHeadBytes);
        http.addListener(listener);

        ServerConfiguration config = http.getServerConfiguration();
        config.setName("distlock");
        config.setHttpServerName("distlock");
        config.setHttpServerVersion("");
        config.setDefaultErrorPageGenerator((request, status, reason, description, exception) -> {
            Html.denyFraming(request.getResponse()); // an HTML page too: called before its headers are sent
            return "<!doctype html><title>" + status + " " + Html.escape(reason) + "</title><h1>" + status + " "
                    + Html.escape(reason) + "</h1>\n";
        });
        // gzipped when accepted, with an ETag so a browser's copy is revalidated with a 304 (ClasspathFiles)
        config.addHttpHandler(new ClasspathFiles(WebServer.class.getClassLoader(), CLIENT_RESOURCES, "/distlock/"), "/distlock");

        Container container = new Container();
        listener.registerAddOn(new WebSocketAddOn(container, CONTEXT_PATH));
        listener.registerAddOn((networkListener, chain) -> {
            int tyrus = chain.indexOfType(GrizzlyServerFilter.class);
            if (tyrus >= 0) {
                chain.add(tyrus, new RefusalFilter()); // below Tyrus: sees what reaches it and what it writes
            }
            int codec = chain.indexOfType(HttpServerFilter.class);
            ((HttpServerFilter) chain.get(codec)).getMonitoringConfig().addProbes(new RefusalFilter.HeadTooLarge(maxRequestHeadBytes));
        });
        guard.install(listener); // after Tyrus's add-on: it places a filter next to Tyrus's
        // After the guard's: upgraded connections keep the guard's filters below the HTTP codec,
        // and leave the codec and the upgrade's request behind (~9 KB per idle WebSocket).
        // The endpoint's frame limit: the server keeps the default.
        UpgradedChain.install(listener, EndpointOptions.defaults().maxFrameBytes(), pingInterval, EndpointOptions.defaults().ticker());
        return new WebServer(http, listener, container, guard, host, port);
    }

    /**
     * Fails now if {@code host} does not resolve (the command line exits 1, as a restart may cure it) or
     * {@code host:port} cannot be bound (a port in use), so that the command line says so before
     * it starts Redis. The port is free again when this returns: another
     * process may still take it before {@link #start()}, which then fails the same way.
     *
     * <p>The probe is bound, never listening: a {@code ServerSocket} probe would open the
     * port for the moment of the check, and a client knocking then (one started together with
     * the node, a load balancer's health check) would be accepted and reset when the probe
     * closes, before the node can serve. A listener on the port still makes the bind fail.
     *
     * @throws StartupException if the host does not resolve, the port is in use or the address
     *                          cannot be bound
     */
    static void checkPortFree(String host, int port) {
        InetSocketAddress address = new InetSocketAddress(host, port); // looks the name up
        if (address.isUnresolved()) {
            // Exit 1, not a bad option's 2: Java cannot tell a name nobody knows from a resolver that does not
            // answer yet (a node started before its DNS), and a restart cures the second.
            throw new StartupException("--host " + host + " does not resolve to an address (give a name or address"
                    + " of this machine, or 0.0.0.0 for every interface)");
        }
        if (port == 0) {
            return;
        }
        try (Socket probe = new Socket()) {
            probe.setReuseAddress(true); // as Grizzly binds: connections in TIME_WAIT do not count
            probe.bind(address);
        } catch (IOException | RuntimeException e) {
            throw bindFailure(host, port, e);
        }
    }

    /**
     * Opens the port: from now on requests are served, by what was deployed and added before.
     *
     * @throws StartupException if the port is in use or the address cannot be bound
     */
    void start() {
        try {
            http.start();
        } catch (IOException | RuntimeException e) {
            http.shutdownNow();
            throw bindFailure(host, requestedPort, e);
        }
    }

    ConnectionGuard guard() {
        return guard;
    }

    /** The port listened on (the free one chosen when 0 was asked for), once {@link #start() started}. */
    int port() {
        return listener.getPort();
    }

    /** Serves the demo page's script and style sheet under {@code /demo/} ({@link #DEMO_RESOURCES}), before {@link #start()}. */
    void serveDemoFiles() {
        addHttpHandler(new ClasspathFiles(WebServer.class.getClassLoader(), DEMO_RESOURCES, "/demo/"), "/demo");
    }

    /**
     * Deploys an endpoint, before {@link #start()}.
     *
     * @throws StartupException if Tyrus refuses the configuration
     */
    void deploy(ServerEndpointConfig config) {
        try {
            container.addEndpoint(config);
            if (!deployed) {
                // Registers what was added with Tyrus's engine; the port is not used (Grizzly listens).
                container.start(CONTEXT_PATH, requestedPort);
                container.doneDeployment();
                deployed = true;
            }
        } catch (DeploymentException | IOException e) {
            throw new StartupException("cannot deploy the WebSocket endpoint at " + config.getPath() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Serves {@code handler} at {@code paths} too (the page, {@code /metrics}, {@code /health}, the
     * demo's store); {@code /a/b/*} for everything under {@code /a/b/}.
     */
    void addHttpHandler(HttpHandler handler, String... paths) {
        http.getServerConfiguration().addHttpHandler(handler, paths);
    }

    /** Stops listening and drops every connection still open. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // Upgraded connections were closed by the caller; plain HTTP requests are short.
        // (Grizzly's graceful shutdown would wait 2 s and log warnings for nothing.)
        try {
            http.shutdownNow();
        } finally {
            try {
                if (deployed) {
                    container.stop();
                }
            } finally {
                guard.close();
            }
        }
    }

    private static StartupException bindFailure(String host, int port, Throwable e) {
        String where = ServerOptions.hostForUrl(host) + ":" + port;
        // BindException is also thrown for a port that needs privileges and an address not on this machine
        String message = String.valueOf(e.getMessage());
        if (message.contains("in use")) {
            return new StartupException("port " + port + " is already in use on " + host
                    + " (another server is listening there; choose another with --port)", e);
        }
        if (e instanceof BindException && message.contains("Permission denied")) {
            return new StartupException("cannot listen on " + where + ": permission denied (a port below 1024 needs root or "
                    + "CAP_NET_BIND_SERVICE; choose another with --port)", e);
        }
        if (e instanceof BindException && message.contains("Cannot assign requested address")) {
            return new StartupException("cannot listen on " + where + ": " + host
                    + " is not an address of this machine (choose one of its addresses with --host, or 0.0.0.0 for all)", e);
        }
        return new StartupException("cannot listen on " + where + ": " + message, e);
    }

    /**
     * The smallest Tyrus server container: the engine that matches upgrade requests to
     * endpoints. Grizzly does the I/O through {@link WebSocketAddOn}.
     */
    private static final class Container extends TyrusServerContainer {
        private static final long IDLE_TIMEOUT_MILLIS = 60_000;
        private final WebSocketEngine engine;
        private final ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "distlock-tyrus-timer");
            thread.setDaemon(true);
            return thread;
        });

        Container() {
            super((Set<Class<?>>) null);
            this.engine = TyrusWebSocketEngine.builder(this).build();
            // Tyrus restarts a session's idle timer on every frame in and out. With no idle
            // timeout (0, its default) that schedules a task due at once, waking a timer
            // thread twice per request; a long timeout on a timer that drops cancelled tasks
            // costs no wake-up. Longer than the endpoint's liveness (two 15 s ping intervals);
            // pongs restart it.
            setDefaultMaxSessionIdleTimeout(IDLE_TIMEOUT_MILLIS);
            timers.setRemoveOnCancelPolicy(true);
        }

        @Override
        public ScheduledExecutorService getScheduledExecutorService() {
            return timers;
        }

        @Override
        public void stop() {
            super.stop();
            timers.shutdownNow();
        }

        @Override
        public void register(Class<?> endpointClass) throws DeploymentException {
            engine.register(endpointClass, CONTEXT_PATH);
        }

        @Override
        public void register(ServerEndpointConfig config) throws DeploymentException {
            engine.register(config, CONTEXT_PATH);
        }

        @Override
        public WebSocketEngine getWebSocketEngine() {
            return engine;
        }

        @Override
        public Map<String, Object> getProperties() {
            return Map.of();
        }
    }
}
