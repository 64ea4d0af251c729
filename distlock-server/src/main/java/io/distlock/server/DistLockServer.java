package io.distlock.server;

import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;

import io.distlock.core.BackendUnavailableException;
import io.distlock.core.LockConfig;
import io.distlock.core.LockMode;
import io.distlock.core.LockService;
import io.distlock.core.Ticker;
import io.distlock.websocket.Authorizer;
import io.distlock.websocket.ClientAddress;
import io.distlock.websocket.DistLockEndpoints;
import io.distlock.websocket.EndpointOptions;

import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * The runnable distlock server: the WebSocket endpoint, a page and the JavaScript client, all
 * on one port, on Tyrus with its Grizzly container; locks in Redis, an embedded
 * {@code redis-server} unless one is given. {@code /metrics} serves the meters in the
 * Prometheus text format, {@code /health} answers 200 while Redis answers and 503 otherwise, and
 * 503 from the moment the node begins to stop.
 * The page is the demo board; {@code /demo/docs} is its fenced store ({@link DemoDocsHandler}); both are off
 * with {@link ServerOptions#demo()} false ({@code --no-demo}).
 *
 * <p>From the command line: {@code java -jar distlock-server.jar --help}. From Java (tests,
 * demos): {@link #start(ServerOptions)} returns the running server; {@link #close()} stops it.
 *
 * <p>Stopping ({@link #close()}, or SIGTERM/Ctrl-C for the command line) closes every
 * WebSocket with 1001 (going away) and every session, releasing its locks so that waiters on
 * other nodes get {@code RETRY} at once; then it stops the lock service, the HTTP server and
 * the embedded Redis. Thread-safe; {@code close()} is idempotent.
 */
public final class DistLockServer implements AutoCloseable {

    /** Not a field of this class: {@link #main} must set up JUL before anything touches it. */
    private static final class Log {
        static final System.Logger LOG = System.getLogger(DistLockServer.class.getName());
    }
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ServerOptions options;
    private final String nodeId;
    private final WebServer web;
    private final EmbeddedRedis embeddedRedis;
    private final RedissonClient ownRedisson;
    private final LockService lockService;
    private final DistLockEndpoints endpoint;
    private final ServerMetrics metrics;
    private final String redisDescription;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CountDownLatch closed = new CountDownLatch(1);

    private DistLockServer(ServerOptions options, String nodeId, WebServer web, EmbeddedRedis embeddedRedis,
                           RedissonClient ownRedisson, LockService lockService, DistLockEndpoints endpoint, ServerMetrics metrics,
                           String redisDescription) {
        this.options = options;
        this.nodeId = nodeId;
        this.web = web;
        this.embeddedRedis = embeddedRedis;
        this.ownRedisson = ownRedisson;
        this.lockService = lockService;
        this.endpoint = endpoint;
        this.metrics = metrics;
        this.redisDescription = redisDescription;
    }

    /** The command line: see {@code --help}. Exits non-zero, with one line on stderr, if the server cannot start. */
    public static void main(String[] args) {
        ConsoleLogging.keepThroughShutdown();
        int code = ServerCommand.execute(args);
        if (code != 0) {
            System.exit(code);
        }
        // 0: the server ran and was stopped by a signal, or --help/--version; the JVM is exiting anyway.
    }

    /**
     * Starts a server: checks that the port is free (so a port in use is reported before Redis
     * is started), connects to Redis (or starts the embedded one), creates the lock service,
     * deploys the WebSocket endpoint and the pages, and only then opens the port, so that the
     * first client to connect is served (not answered 404) and {@code /health} is never up
     * before a lock can be taken. Whatever had started is stopped again when a later step fails,
     * whatever it throws (an {@link Error} too, which is thrown on after).
     *
     * @throws StartupException with a one-line message when the port is in use, Redis cannot be
     *                          reached, or the Redisson file cannot be read
     */
    public static DistLockServer start(ServerOptions options) {
        return start(options, line -> { });
    }

    /**
     * As {@link #start(ServerOptions)}, telling {@code progress} a line before it connects to a
     * Redis of the user's ({@code Connecting to Redis at redis://host:6379 (gives up after 15 s)}),
     * so that a start that waits on Redis is seen to (the command line prints it).
     */
    static DistLockServer start(ServerOptions options, Consumer<String> progress) {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(progress, "progress");
        String nodeId = HexFormat.of().formatHex(randomBytes(4));
        // Results and pushes are delivered on Redisson's threads (the core's default): the
        // endpoint's callbacks never block, its sends are asynchronous.
        LockConfig lockConfig = LockConfig.builder().lease(options.lease()).keyPrefix(options.keyPrefix())
                .replicaSync(options.replicaSync()).dataLossQuarantine(options.dataLossQuarantine())
                .watching(options.watching()).build();
        WebServer.checkPortFree(options.host(), options.port());
        EndpointOptions proxies = EndpointOptions.builder().trustedProxies(options.trustedProxies()).build();
        WebServer web = WebServer.create(options.host(), options.port(), options.maxRequestHeadBytes(), options.pingInterval(),
                new ConnectionGuard(options.httpTimeout(), options.maxConnectionsPerAddress(), proxies::isTrustedProxy));
        EmbeddedRedis embedded = null;
        RedissonClient ownRedisson = null;
        LockService service = null;
        DistLockEndpoints endpoint = null;
        ServerMetrics metrics = null;
        try {
            String description;
            if (options.redisConfig() != null) {
                Config config = readRedissonConfig(options.redisConfig());
                description = "from " + options.redisConfig() + " (" + kind(config) + ")";
                // the file's own timeouts and retries decide how long this takes
                progress.accept("Connecting to the Redis configured in " + options.redisConfig() + " (" + kind(config) + ")");
                RedissonClient client = createRedisson(config, options.redisConfig());
                ownRedisson = client;
                service = createService(() -> LockService.create(client, lockConfig),
                        "Redis configured in " + options.redisConfig());
            } else {
                String url;
                if (options.embeddedRedis()) {
                    embedded = EmbeddedRedis.start();
                    url = embedded.url();
                    // as text: a number would be formatted with grouping ("pid 23,199")
                    Log.LOG.log(Level.INFO, "Started the embedded redis-server, pid {0}, at {1}", Long.toString(embedded.pid()), url);
                    description = url + " (embedded)";
                } else {
                    url = options.redisUrl();
                    description = Redact.url(url);
                    progress.accept("Connecting to Redis at " + description + " (gives up after "
                            + LockService.CONNECT_DEADLINE.toSeconds() + " s)");
                }
                RedissonClient client = connectRedisson(url);
                ownRedisson = client;
                // A Redis this server has just started holds nobody's locks: the service marks it as
                // in service, so neither this node nor one sharing it waits a lease on its first lock.
                LockConfig config = embedded != null ? lockConfig.toBuilder().newRedis(true).build() : lockConfig;
                service = createService(() -> LockService.create(client, config), "Redis at " + Redact.url(url));
            }
            EndpointOptions endpointOptions = EndpointOptions.builder()
                    .path(options.path())
                    .allowedOrigins(options.allowedOrigins()) // besides the page's own origin
                    .allowedHosts(options.allowedHosts())
                    .allowMissingOrigin(true)
                    .hideHolder(options.hideHolder())
                    .authorizer(authorizer(options.allowSteal()))
                    .rateLimit(options.rateLimit(), 2 * options.rateLimit())
                    .pingInterval(options.pingInterval())
                    .maxConnections(options.maxConnections())
                    .maxQueuedBytes(options.maxQueuedBytes())
                    .maxConnectionsPerAddress(options.maxConnectionsPerAddress())
                    .trustedProxies(options.trustedProxies())
                    .build();
            endpoint = DistLockEndpoints.create(service, endpointOptions);
            web.deploy(endpoint.config());
            metrics = new ServerMetrics(service, endpoint, web.guard(), version(), nodeId);
            web.addHttpHandler(metrics, ServerMetrics.PATH);
            web.addHttpHandler(new HealthCheck(ownRedisson, options.keyPrefix(), endpoint::isClosed), HealthCheck.PATH);
            if (options.demo()) { // --no-demo: nothing serves /demo/, and / is a page without the board
                web.serveDemoFiles();
                SaveThrottle saves = new SaveThrottle(Ticker.system());
                metrics.countRefusedSaves(saves);
                web.addHttpHandler(new DemoDocsHandler(new FencedDocs(ownRedisson, options.keyPrefix()), options.httpTimeout(),
                        endpointOptions::isAllowedHost, options.hideHolder(), saves,
                        (peer, forwardedFor) -> ClientAddress.resolve(peer, forwardedFor, endpointOptions)),
                        DemoDocsHandler.PATH, DemoDocsHandler.PATH + "/*");
            }
            web.addHttpHandler(new IndexPage(nodeId, version(), options.host(), web::port, options.path(), options.lease().toMillis(),
                    options.allowSteal(), options.demo()), "/");
            web.start();
            DistLockServer server = new DistLockServer(options, nodeId, web, embedded, ownRedisson, service, endpoint, metrics, description);
            Log.LOG.log(Level.INFO, server.startupLine());
            warnIfFilesAreShort(FileLimit.now(), options.maxConnections());
            return server;
        } catch (Throwable e) { // an Error too (a class missing from the jar, out of memory): no redis-server outlives the start
            closeQuietly(metrics, e);
            closeQuietly(endpoint, e);
            closeQuietly(service, e);
            closeQuietly(web, e);
            if (ownRedisson != null) {
                RedissonClient client = ownRedisson;
                closeQuietly(client::shutdown, e);
            }
            closeQuietly(embedded, e);
            throw e;
        }
    }

    /**
     * The runnable server's authorizer: every session may lock, query and watch every name;
     * taking a lock over ({@code steal}) only with {@code --allow-steal}.
     */
    static Authorizer authorizer(boolean allowSteal) {
        return new Authorizer() {
            @Override
            public boolean mayLock(Object principal, String lockName) {
                return true;
            }

            @Override
            public boolean mayLock(Object principal, String lockName, Authorizer.Operation operation, LockMode mode) {
                return switch (operation) {
                    case LOCK, MLOCK, QUERY, WATCH -> true;
                    case STEAL -> allowSteal;
                };
            }
        };
    }

    /** The port listened on (the one the system chose when port 0 was asked for). */
    public int port() {
        return web.port();
    }

    /** A random id of this node, shown on the page and in the startup line. */
    public String nodeId() {
        return nodeId;
    }

    public ServerOptions options() {
        return options;
    }

    /** The page's URL; {@code localhost} when the server listens on every interface. */
    public URI pageUri() {
        return URI.create("http://" + displayHost() + ":" + port() + "/");
    }

    /** The WebSocket endpoint's URL; {@code localhost} when the server listens on every interface. */
    public URI webSocketUri() {
        return URI.create("ws://" + displayHost() + ":" + port() + options.path());
    }

    /** The embedded Redis's URL, or null when the server uses a Redis of its own. */
    public String embeddedRedisUrl() {
        return embeddedRedis == null ? null : embeddedRedis.url();
    }

    /** The embedded redis-server's process id, or -1 without one. */
    public long embeddedRedisPid() {
        return embeddedRedis == null ? -1 : embeddedRedis.pid();
    }

    /** This node's lock service, for code that wants the same locks from Java. */
    public LockService lockService() {
        return lockService;
    }

    /**
     * {@code distlock node <id> listening on http://HOST:PORT/ (WebSocket ws://HOST:PORT/PATH), Redis <url> (embedded)};
     * with {@code --no-demo}, {@code listening on ws://HOST:PORT/PATH (no demo)}: no page to open.
     */
    public String startupLine() {
        return "distlock node " + nodeId + " listening on "
                + (options.demo() ? pageUri() + " (WebSocket " + webSocketUri() : webSocketUri() + " (no demo")
                + (options.listensEverywhere() ? ", all interfaces" : "") + "), Redis " + redisDescription;
    }

    /**
     * {@code Open-file limit 1024, 57 open: room for about 967 connections (--max-connections 10000)}:
     * what the process's file limit lets the server hold, said at start.
     */
    public String capacityLine() {
        FileLimit files = FileLimit.now();
        if (!files.known()) {
            return "Open-file limit unknown on this system (--max-connections " + options.maxConnections() + ")";
        }
        return "Open-file limit " + files.limit() + ", " + files.open() + " open: room for about " + files.room()
                + " connections (--max-connections " + options.maxConnections() + ")";
    }

    /**
     * Warns when the file limit leaves room for fewer connections than {@code maxConnections}:
     * past it the server cannot accept anyone (it keeps serving the connections it has, and
     * accepts again as they close), long before the connection cap would answer 503.
     */
    static boolean warnIfFilesAreShort(FileLimit files, int maxConnections) {
        if (!files.known() || files.room() >= maxConnections) {
            return false;
        }
        Log.LOG.log(Level.WARNING, "The open-file limit ({0}, {1} open) leaves room for about {2} connections, fewer than"
                + " --max-connections ({3}): past that, new clients cannot connect until others leave. Raise the limit"
                + " (ulimit -n, systemd LimitNOFILE=) or lower --max-connections", Long.toString(files.limit()),
                Long.toString(files.open()), Long.toString(files.room()), Integer.toString(maxConnections));
        return true;
    }

    /**
     * Stops the server: WebSockets closed with 1001, sessions closed and their locks released
     * (sessions with a grace are left detached for a resume on another node),
     * lock service closed, HTTP server stopped, embedded Redis stopped. Idempotent; a second
     * caller waits until the first has finished. Never throws; problems are logged.
     */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            awaitClosed();
            return;
        }
        try {
            step("close the WebSocket connections", endpoint::close);
            step("close the lock service", lockService::close);
            step("stop the HTTP server", web::close);
            if (ownRedisson != null) {
                step("shut the Redis client down", ownRedisson::shutdown);
            }
            if (embeddedRedis != null) {
                step("stop the embedded Redis", embeddedRedis::close);
            }
            step("stop the metrics", metrics::close);
        } finally {
            closed.countDown();
        }
    }

    /** Waits until {@link #close()} has finished. */
    public void awaitClosed() {
        boolean interrupted = false;
        while (true) {
            try {
                closed.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits up to {@code timeout} until {@link #close()} has finished; true if it has. */
    public boolean awaitClosed(Duration timeout) throws InterruptedException {
        return closed.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private String displayHost() {
        return options.listensEverywhere() ? "localhost" : ServerOptions.hostForUrl(options.host());
    }

    /** The version of this build, or "dev" when run from unpackaged classes without resources. */
    static String version() {
        try (InputStream in = DistLockServer.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                String v = p.getProperty("version", "");
                if (!v.isBlank() && !v.startsWith("${")) {
                    return v;
                }
            }
        } catch (IOException e) {
            // fall through
        }
        return "dev";
    }

    private static Config readRedissonConfig(Path file) {
        return RedissonConfigFile.read(file); // never null: an empty file, or one naming no Redis, is refused
    }

    /**
     * A Redisson client for one Redis server, set up as {@code LockService.connect} sets up
     * its own, given up after {@link LockService#CONNECT_DEADLINE}; the server keeps it to ask
     * Redis for {@code /health}.
     */
    private static RedissonClient connectRedisson(String url) {
        try {
            return LockService.connectRedisson(url);
        } catch (RuntimeException e) {
            throw new StartupException("cannot connect to Redis at " + Redact.url(url) + ": " + LockService.connectFailure(e), LockService.connectFailureCause(e));
        }
    }

    private static RedissonClient createRedisson(Config config, Path file) {
        try {
            return Redisson.create(config);
        } catch (RuntimeException e) {
            throw new StartupException("cannot connect to the Redis configured in " + file + ": " + LockService.connectFailure(e), e);
        }
    }

    private static LockService createService(Supplier<LockService> factory, String what) {
        try {
            return factory.get();
        } catch (BackendUnavailableException e) {
            throw new StartupException("cannot connect to " + what + ": " + LockService.connectFailure(e), LockService.connectFailureCause(e));
        }
    }

    private static String kind(Config config) {
        if (config.isSentinelConfig()) {
            return "Sentinel";
        }
        if (config.isClusterConfig()) {
            return "Cluster";
        }
        if (config.isSingleConfig()) {
            return "single server";
        }
        return "Redisson configuration";
    }

    private static void step(String what, Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            Log.LOG.log(Level.WARNING, "Could not " + what + ": " + e, e);
        }
    }

    private static void closeQuietly(AutoCloseable resource, Throwable primary) {
        if (resource == null) {
            return;
        }
        try {
            resource.close();
        } catch (Throwable e) { // an Error too (the one the start failed with, again): the next resource is still closed
            primary.addSuppressed(e);
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        RANDOM.nextBytes(bytes);
        return bytes;
    }
}
