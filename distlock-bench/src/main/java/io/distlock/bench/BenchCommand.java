package io.distlock.bench;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code distlock-server bench}: a load generator for distlock servers, with the core and
 * Redisson measured beside them in the same run. See {@code docs/benchmarks.md}.
 */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Load generator: sessions over WebSocket to one or more distlock nodes (--url), and the same scenario "
                + "in this JVM on the core's LockService (--direct) and on Redisson's RLock (--redisson), "
                + "one after the other, so the cost of each layer is a ratio measured in one run.",
            "Prints a progress line every second and a summary table; checks from the grants and releases it saw "
                + "mutual exclusion (shared grants exclude only exclusive ones), fencing token order and, for queued "
                + "requests, FIFO order.",
            ""
        },
        footer = {
            "",
            "Example: bench --url ws://127.0.0.1:8080/distlock/lock --sessions 64 --duration 10s --warmup 3s "
                + "--direct redis://127.0.0.1:6379 --redisson redis://127.0.0.1:6379 --redis-stats redis://127.0.0.1:6379 "
                + "--json out.json --hgrm out.hgrm",
            "Queued: bench --url ws://127.0.0.1:8080/distlock/lock --url ws://127.0.0.1:8081/distlock/lock --sessions 16 "
                + "--scenario contended --hot-locks 1 --wait --also-retry --redisson redis://127.0.0.1:6379 "
                + "--redis-stats redis://127.0.0.1:6379",
            "Exit code 0: no errors and no violations; 1: errors or violations; 2: bad options."
        })
public final class BenchCommand implements Callable<Integer> {

    @Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--url", paramLabel = "WS_URL",
            description = "A server node's WebSocket URL, like ws://127.0.0.1:8080/distlock/lock; repeatable: sessions go round robin.")
    private List<URI> urls = new ArrayList<>();

    @Option(names = "--sessions", paramLabel = "N", defaultValue = "16",
            description = "Concurrent sessions, one request in flight each (default: ${DEFAULT-VALUE}).")
    private int sessions;

    @Option(names = "--duration", paramLabel = "TIME", defaultValue = "20s", converter = DurationConverter.class,
            description = "How long to measure after the warm-up, like 20s, 500ms, 2m (default: ${DEFAULT-VALUE}). Idle: how long to sit.")
    private Duration duration;

    @Option(names = "--ops", paramLabel = "N", defaultValue = "0",
            description = "Stop measuring after about N lock+unlock pairs, if that comes before --duration (checked every second).")
    private long ops;

    @Option(names = "--warmup", paramLabel = "TIME", defaultValue = "5s", converter = DurationConverter.class,
            description = "How long to run before measuring (default: ${DEFAULT-VALUE}). With several targets, each "
                    + "first runs this long unmeasured, in turn, so none measures the compiling of code they share.")
    private Duration warmup;

    @Option(names = "--scenario", paramLabel = "NAME", defaultValue = "uncontended", converter = Scenario.Converter.class,
            description = "uncontended (own names), contended (few hot names, WAIT and RETRY), mixed, shared (readers "
                    + "and writers on few hot names), or idle (connect, hold one lock, sit: the servers' heap per session) "
                    + "(default: ${DEFAULT-VALUE}).")
    private Scenario scenario;

    @Option(names = "--hot-locks", paramLabel = "N",
            description = "Hot names in the contended, mixed and shared scenarios (default: sessions/16 for contended "
                    + "and shared, sessions/4 for mixed, at least 1 and 2).")
    private Integer hotLocks;

    @Option(names = "--wait",
            description = "Lock requests queue (protocol version 2, \"wait\": true; LockOptions.queue() for --direct) and "
                    + "sessions wait for GRANTED instead of asking again on RETRY. mlocks never queue. Redisson runs as without it.")
    private boolean waitForGrants;

    @Option(names = "--also-retry",
            description = "With --wait: also run the WebSocket and --direct phases without it (WAIT, RETRY, ask again), "
                    + "in the same run, labelled websocket-retry and direct-retry.")
    private boolean alsoRetry;

    @Option(names = "--readers", paramLabel = "PERCENT",
            description = "Shared scenario: percent of the requests that are shared (readers); the rest are exclusive (default: 90).")
    private Integer readers;

    @Option(names = "--direct", paramLabel = "REDIS_URL",
            description = "Also run the scenario in this JVM on the core's LockService on this Redis (no WebSocket).")
    private String direct;

    @Option(names = "--redisson", paramLabel = "REDIS_URL",
            description = "Also run it on Redisson's RLock (tryLockAsync/unlockAsync, one thread id per session) on this Redis.")
    private String redisson;

    @Option(names = "--redis-stats", paramLabel = "REDIS_URL",
            description = "Count the Redis commands per lock+unlock pair from INFO commandstats of this Redis.")
    private String redisStats;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the results as one JSON object.")
    private Path json;

    @Option(names = "--hgrm", paramLabel = "FILE",
            description = "Write the lock+unlock latency histogram (HdrHistogram percentiles, µs); other phases beside it as FILE-direct.hgrm...")
    private Path hgrm;

    @Option(names = "--http-clients", paramLabel = "N",
            description = "JDK HttpClients (one selector thread each) to spread the WebSockets over (default: min(sessions, 4)).")
    private Integer httpClients;

    @Option(names = "--server-pid", paramLabel = "PID", split = ",",
            description = "Pid of each --url's server on this machine, in order: the idle scenario runs jcmd PID GC.run before reading its heap.")
    private List<Long> serverPids = new ArrayList<>();

    @Option(names = "--watchers", paramLabel = "N", defaultValue = "0",
            description = "Open N lock watchers on a second node in this JVM (a LockService with a Redis client of its own) "
                    + "before each WebSocket and --direct phase, close them after it, and count the changes told to them "
                    + "and the node's state reads (default: ${DEFAULT-VALUE}: no second node).")
    private int watchers;

    @Option(names = "--watch-by", paramLabel = "HOW", defaultValue = "names", converter = WatchingNode.By.Converter.class,
            description = "names: every watcher watches every name of the phase; prefix: every watcher watches the phase's "
                    + "name prefix (default: ${DEFAULT-VALUE}).")
    private WatchingNode.By watchBy;

    @Option(names = "--watch-redis", paramLabel = "REDIS_URL",
            description = "The Redis the watched locks are in, for the watching node (default: --direct's).")
    private String watchRedis;

    @Option(names = "--no-watching",
            description = "Run --direct's lock service with watching off (LockConfig.watching(false)): its scripts publish "
                    + "no change of a lock for watchers. Not with --watchers.")
    private boolean noWatching;

    public BenchCommand() {
    }

    @Override
    public Integer call() throws Exception {
        BenchSettings settings = settings();
        quietLogging();
        PrintWriter out = spec.commandLine().getOut();
        return new Bench(settings, out).run();
    }

    BenchSettings settings() {
        try {
            int hot = hotLocks != null ? hotLocks : Workload.defaultHotLocks(scenario, sessions);
            int clients = httpClients != null ? httpClients : Math.max(1, Math.min(sessions, 4));
            if (readers != null && scenario != Scenario.SHARED) {
                throw new IllegalArgumentException("--readers is for --scenario shared");
            }
            return new BenchSettings(urls, sessions, duration, ops, warmup, scenario, hot, waitForGrants, alsoRetry,
                    readers == null ? 90 : readers, direct, redisson, redisStats,
                    json, hgrm, clients, serverPids,
                    watchers == 0 ? WatchingNode.Spec.NONE : new WatchingNode.Spec(watchers, watchBy, watchRedis != null ? watchRedis : direct),
                    !noWatching);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
    }

    /** Redisson and Netty log their connections at INFO; the bench prints its own lines only. */
    private static void quietLogging() {
        if (System.getProperty("java.util.logging.config.file") == null
                && System.getProperty("java.util.logging.config.class") == null) {
            java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
            for (java.util.logging.Handler h : java.util.logging.Logger.getLogger("").getHandlers()) {
                h.setLevel(java.util.logging.Level.WARNING);
            }
        }
    }

    /** {@code 20s}, {@code 500ms}, {@code 2m}, {@code 1h}, or a plain number of seconds. */
    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        private static final Pattern FORMAT = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)?");

        @Override
        public Duration convert(String value) {
            Matcher m = FORMAT.matcher(value.trim().toLowerCase(Locale.ROOT));
            if (!m.matches()) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a duration like 20s, 500ms or 2m");
            }
            double amount = Double.parseDouble(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2);
            double millis = switch (unit) {
                case "ms" -> amount;
                case "m" -> amount * 60_000;
                case "h" -> amount * 3_600_000;
                default -> amount * 1000;
            };
            return Duration.ofMillis(Math.round(millis));
        }
    }
}
