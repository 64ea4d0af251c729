package io.distlock.server;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The command line of {@link DistLockServer}: options to {@link ServerOptions}, then run until a signal. */
@Command(name = "distlock-server",
        mixinStandardHelpOptions = true,
        versionProvider = ServerCommand.Version.class,
        subcommands = io.distlock.bench.BenchCommand.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Runs a distlock node: distributed locks for browser sessions over a WebSocket, kept in Redis. "
                + "Without --redis or --redis-config it starts an embedded redis-server on a free loopback port; "
                + "another node joins with --redis and the Redis URL this one prints.",
            ""
        },
        footer = {
            "",
            "Stops cleanly on SIGTERM or Ctrl-C: connections closed (1001), locks released, embedded Redis stopped; "
                + "the exit code is then 143 or 130, as for any JVM stopped by a signal. "
                + "Could not start (port in use, Redis unreachable, a --host that does not resolve...): 1. "
                + "Bad options, or a --redis-config file that is missing, unreadable or not a Redisson configuration: 2."
        })
final class ServerCommand implements Callable<Integer> {

    @Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8080",
            description = "HTTP and WebSocket port (default: ${DEFAULT-VALUE}; 0 = any free port).")
    private int port;

    @Option(names = "--host", paramLabel = "H", defaultValue = "0.0.0.0",
            description = "Address to listen on (default: ${DEFAULT-VALUE}, every interface).")
    private String host;

    @Option(names = "--redis", paramLabel = "URL",
            description = "An existing Redis: redis://[user:password@]host:port or rediss://... (default: embedded Redis).")
    private String redisUrl;

    @Option(names = "--redis-config", paramLabel = "FILE",
            description = "A Redisson YAML configuration file, for Sentinel, Cluster or any other Redisson setup "
                + "(and Redisson's settings: timeouts, pool sizes...).")
    private Path redisConfig;

    @Option(names = "--path", paramLabel = "PATH", defaultValue = "/distlock/lock",
            description = "WebSocket endpoint path (default: ${DEFAULT-VALUE}).")
    private String path;

    @Option(names = "--lease-ms", paramLabel = "N", defaultValue = "10000",
            description = "Lock lease in ms: how long a dead node's locks outlive it (default: ${DEFAULT-VALUE}, at least 300, at most a day).")
    private long leaseMillis;

    @Option(names = "--allowed-origin", paramLabel = "ORIGIN", split = ",",
            description = "Browser origin allowed to connect besides the page's own (same host and port), "
                + "like https://app.example.com; repeatable. '*' allows any origin. "
                + "Clients that send no Origin header (not browsers) are always accepted.")
    private List<String> allowedOrigins = new ArrayList<>();

    @Option(names = "--allowed-host", paramLabel = "HOST[:PORT]", split = ",",
            description = "A Host header the WebSocket handshake and the demo store's saves accept, like locks.example.com "
                + "(any port) or 10.0.0.7:8080; repeatable, or comma-separated. Others get HTTP 403: against DNS rebinding, "
                + "list the names browsers reach this node by (default: any Host).")
    private List<String> allowedHosts = new ArrayList<>();

    @Option(names = "--hide-holder", description = "Leave other sessions' names and info out of replies and pushes (WAIT, QUEUED, states, ASKED, LOST).")
    private boolean hideHolder;

    @Option(names = "--allow-steal",
            description = "Let a session take a lock over from its holders (the lock option steal; the holders are told "
                + "LOST, reason stolen). Off by default: steal is refused with UNAUTHORIZED. The demo page shows Take over only then.")
    private boolean allowSteal;

    @Option(names = "--key-prefix", paramLabel = "PREFIX", defaultValue = "distlock",
            description = "Prefix of every Redis key and channel, to share one Redis between applications (default: ${DEFAULT-VALUE}).")
    private String keyPrefix;

    @Option(names = "--rate-limit", paramLabel = "N", defaultValue = "200",
            description = "Requests per second one connection may send, bursts of twice as many (default: ${DEFAULT-VALUE}).")
    private int rateLimit;

    @Option(names = "--replica-sync-ms", paramLabel = "N",
            description = "How long a lock grant waits for a Redis replica to confirm it (Redis WAIT); 0 = off. "
                + "Not confirmed in time: released, and the request fails with BACKEND_UNAVAILABLE. "
                + "No replicas: no wait (default: 1000, at most a third of the lease).")
    private Long replicaSyncMillis;

    @Option(names = "--no-data-loss-quarantine",
            description = "Grant locks at once after Redis lost its data (a restart without persistence, a failover), "
                + "instead of waiting a lease for earlier holders to learn they lost them. Not recommended.")
    private boolean noDataLossQuarantine;

    @Option(names = "--no-watching",
            description = "Refuse watch, and publish no change of a lock for watchers: no lock operation pays for watching "
                + "(one PUBLISH each). Give it to every node of a key prefix. The demo page's board needs watching.")
    private boolean noWatching;

    @Option(names = "--ping-ms", paramLabel = "N", defaultValue = "15000",
            description = "How often each WebSocket connection is pinged; one silent for two intervals is closed "
                + "(default: ${DEFAULT-VALUE}, at least 10, at most a day).")
    private long pingMillis;

    // The defaults are the endpoint's (picocli shows a field's initial value as ${DEFAULT-VALUE}).
    @Option(names = "--max-connections", paramLabel = "N",
            description = "Open WebSocket connections this node serves at most; past it a handshake gets HTTP 503 "
                + "(default: ${DEFAULT-VALUE}).")
    private int maxConnections = ServerOptions.defaults().maxConnections();

    @Option(names = "--max-queued-bytes", paramLabel = "N",
            description = "Bytes that may wait to be sent to one connection; past it the connection is closed (1008). "
                + "Times --max-connections, the memory clients that stop reading can hold "
                + "(default: ${DEFAULT-VALUE}, at least 131072).")
    private long maxQueuedBytes = ServerOptions.defaults().maxQueuedBytes();

    @Option(names = "--max-connections-per-address", paramLabel = "N",
            description = "Connections one client address may hold open (an IPv6 client's /64): past it a TCP connection "
                + "is closed at once, and a WebSocket handshake gets HTTP 429 (default: ${DEFAULT-VALUE}).")
    private int maxConnectionsPerAddress = ServerOptions.defaults().maxConnectionsPerAddress();

    @Option(names = "--trusted-proxy", paramLabel = "ADDRESS[/BITS]", split = ",",
            description = "A reverse proxy (IP address or network, like 10.0.0.0/8) whose X-Forwarded-For names the client; "
                + "repeatable, or comma-separated. From anyone else that header is ignored (default: none).")
    private List<String> trustedProxies = new ArrayList<>();

    @Option(names = "--http-timeout-ms", paramLabel = "N",
            description = "How long a connection may take to send a complete HTTP request head (a WebSocket upgrade, a page, "
                + "/metrics), counted from its opening or the previous response; past it, it is closed. "
                + "Open WebSockets are exempt (default: ${DEFAULT-VALUE}, at least 100).")
    private long httpTimeoutMillis = ServerOptions.defaults().httpTimeout().toMillis();

    @Option(names = "--max-request-head-bytes", paramLabel = "N",
            description = "The largest HTTP request head (request line and headers, cookies included) served; a larger one "
                + "gets HTTP 431 (default: ${DEFAULT-VALUE}, 1024 to 1048576).")
    private int maxRequestHeadBytes = ServerOptions.defaults().maxRequestHeadBytes();

    @Option(names = "--no-demo",
            description = "Serve no demo: the board page, its files under /demo/ and its document store (/demo/docs) answer 404, "
                + "and / a short page naming the node and its WebSocket endpoint. For nodes that serve only the endpoint.")
    private boolean noDemo;

    @Option(names = "--verbose", description = "Log informational messages and stack traces.")
    private boolean verbose;

    private final PrintStream out;
    private final PrintStream err;

    ServerCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** Parses, runs and returns the exit code; blocks while the server runs. */
    static int execute(String... args) {
        return execute(System.out, System.err, args);
    }

    static int execute(PrintStream out, PrintStream err, String... args) {
        return commandLine(new ServerCommand(out, err)).execute(args);
    }

    /** The options these arguments give, for tests. Throws {@link CommandLine.ParameterException} on bad ones. */
    static ServerOptions parse(String... args) {
        ServerCommand command = new ServerCommand(System.out, System.err);
        commandLine(command).parseArgs(args);
        return command.options();
    }

    static CommandLine commandLine(ServerCommand command) {
        CommandLine cl = new CommandLine(command);
        cl.setOut(new PrintWriter(command.out, true));
        cl.setErr(new PrintWriter(command.err, true));
        // A bad option: one line and a hint, not the whole usage text.
        cl.setParameterExceptionHandler((e, args) -> {
            CommandLine c = e.getCommandLine();
            String name = c.getCommandSpec().qualifiedName(); // "distlock-server bench" for the bench's options
            c.getErr().println(name + ": " + e.getMessage());
            c.getErr().println("Try '" + name + " --help' for the options.");
            return CommandLine.ExitCode.USAGE;
        });
        return cl;
    }

    @Override
    public Integer call() {
        ConsoleLogging.configure(verbose);
        ServerOptions options = options();
        DistLockServer server;
        try {
            server = DistLockServer.start(options, line -> {
                out.println(line);
                out.flush();
            });
        } catch (StartupException e) {
            err.println("distlock-server: " + e.getMessage());
            if (verbose && e.getCause() != null) {
                e.getCause().printStackTrace(err);
            }
            // A --redis-config file that cannot be used is the command line's fault, as a bad option is;
            // no hint to --help, which says nothing of the file's settings.
            return e.isBadOption() ? CommandLine.ExitCode.USAGE : CommandLine.ExitCode.SOFTWARE;
        } catch (RuntimeException e) {
            // not foreseen: still one line, the stack trace only on request
            err.println("distlock-server: could not start: " + e + (verbose ? "" : " (--verbose shows the stack trace)"));
            if (verbose) {
                e.printStackTrace(err);
            }
            return CommandLine.ExitCode.SOFTWARE;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
                out.println("distlock node " + server.nodeId() + " stopped");
                out.flush();
            } finally {
                ConsoleLogging.shutdownDone();
            }
        }, "distlock-shutdown"));
        out.println(server.startupLine());
        out.println(server.capacityLine());
        if (server.embeddedRedisUrl() != null) {
            out.println("Another node joins with: " + joinCommand(server.options(), server.port(), server.embeddedRedisUrl()));
        }
        out.flush();
        server.awaitClosed();
        return CommandLine.ExitCode.OK;
    }

    private ServerOptions options() {
        try {
            ServerOptions.Builder options = ServerOptions.builder()
                    .port(port)
                    .host(host)
                    .redisUrl(redisUrl)
                    .redisConfig(redisConfig)
                    .path(path)
                    .lease(Duration.ofMillis(leaseMillis))
                    .allowedOrigins(allowedOrigins)
                    .allowedHosts(allowedHosts)
                    .hideHolder(hideHolder)
                    .allowSteal(allowSteal)
                    .dataLossQuarantine(!noDataLossQuarantine)
                    .watching(!noWatching)
                    .keyPrefix(keyPrefix)
                    .rateLimit(rateLimit)
                    .pingInterval(Duration.ofMillis(pingMillis))
                    .maxConnections(maxConnections)
                    .maxQueuedBytes(maxQueuedBytes)
                    .maxConnectionsPerAddress(maxConnectionsPerAddress)
                    .trustedProxies(trustedProxies)
                    .httpTimeout(Duration.ofMillis(httpTimeoutMillis))
                    .maxRequestHeadBytes(maxRequestHeadBytes)
                    .demo(!noDemo);
            if (replicaSyncMillis != null) {
                options.replicaSync(Duration.ofMillis(replicaSyncMillis));
            }
            return options.build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
    }

    private static int nextPort(int port) {
        return port < 65_535 ? port + 1 : port - 1;
    }

    /**
     * The command that starts a second node beside this one: on the next port, with the settings
     * every node of a key prefix must share (or that this node's operator chose) where they are not
     * the defaults; a node without them would share no locks, or run another lease.
     */
    static String joinCommand(ServerOptions options, int port, String redisUrl) {
        ServerOptions defaults = ServerOptions.defaults();
        StringBuilder line = new StringBuilder("java -jar distlock-server.jar --port ").append(nextPort(port));
        if (!options.host().equals(defaults.host())) {
            line.append(" --host ").append(shellWord(options.host()));
        }
        if (!options.keyPrefix().equals(defaults.keyPrefix())) {
            line.append(" --key-prefix ").append(shellWord(options.keyPrefix()));
        }
        if (!options.lease().equals(defaults.lease())) {
            line.append(" --lease-ms ").append(options.lease().toMillis());
        }
        if (options.watching() != defaults.watching()) {
            line.append(" --no-watching");
        }
        if (options.dataLossQuarantine() != defaults.dataLossQuarantine()) {
            line.append(" --no-data-loss-quarantine");
        }
        if (options.hideHolder()) {
            line.append(" --hide-holder"); // a node started without it would name the holders this one keeps private
        }
        if (!options.allowedHosts().isEmpty()) {
            // A node started without it would take rebound handshakes again.
            line.append(" --allowed-host ").append(shellWord(String.join(",", options.allowedHosts())));
        }
        if (!options.demo()) {
            line.append(" --no-demo"); // a node started without it would open the demo's store on the shared Redis
        }
        return line.append(" --redis ").append(redisUrl).toString();
    }

    /** {@code word} as a shell reads it back: quoted unless it is only letters, digits and {@code _.:-/}. */
    private static String shellWord(String word) {
        return word.matches("[A-Za-z0-9_.:/-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
    }

    /** {@code --version}: this build's version and the Java running it. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {
                "distlock-server " + DistLockServer.version(),
                "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")"
            };
        }
    }
}
