package io.distlock.faults;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;
import io.distlock.testing.TcpProxy;
import io.distlock.testing.RespConnection;

import org.awaitility.core.ConditionTimeoutException;

/**
 * A Redis Sentinel group of real {@code redis-server} processes on loopback: a primary
 * ({@code dataNodes().get(0)} at first), two replicas ({@code dataNodes().get(1)} and
 * {@code get(2)}) and three Sentinels (quorum 2) watching them under {@link #masterName()}.
 *
 * <p><b>Replication through proxies.</b> With {@link Options#replicationViaProxy()} (the default)
 * replica {@code i} replicates from the primary through a {@link TcpProxy} of its own,
 * {@link #replicationLink(int)}, so a scenario can delay, throttle, blackhole or cut replication
 * while the Sentinels still watch every node directly. What follows from how Sentinel works
 * was checked against the {@code redis-server} 6.2 in use:
 * <ul>
 *   <li>Sentinels see the replicas at their real ports (a replica announces its own listening
 *       port with {@code REPLCONF}; the primary lists it under that port), so they monitor and
 *       can promote them as usual.</li>
 *   <li>A replica whose {@code master_host:master_port} differs from the primary's address is,
 *       to a Sentinel, misconfigured: {@code failover-timeout} after it first sees it, the
 *       Sentinel sends it {@code SLAVEOF <primary>} ({@code +fix-slave-config}) and replication
 *       bypasses the proxy from then on (observed after about 10 s with a 3 s timeout: the next
 *       {@code INFO} of the replica). So with proxies the failover timeout defaults to
 *       {@value #PROXIED_FAILOVER_TIMEOUT_MINUTES} minutes, which keeps the proxies in the path
 *       for as long as a scenario runs. It does not slow an ordinary failover (that takes about
 *       down-after + 2-4 s); it only delays the retry after a failover that did not complete
 *       (split vote, a promoted replica that never answers) to twice the timeout.</li>
 *   <li>After a failover the Sentinels point the remaining replicas straight at the new primary,
 *       not through the proxies: the links then only carry whatever still goes to the old
 *       primary.</li>
 *   <li>A {@link RedisProcess#restart() restarted} data node comes back empty with its original
 *       arguments. The old primary comes back as a primary and the Sentinels demote it some
 *       8-20 s later ({@code +convert-to-slave}, whatever the failover timeout). A replica comes
 *       back pointed at its proxy: before any failover, that is the primary, as meant; after
 *       one, it is the old primary, and the Sentinels fix that only a failover timeout later, so
 *       send it {@code REPLICAOF 127.0.0.1 <currentPrimary().port()>} yourself.</li>
 * </ul>
 *
 * <p>Every process logs to {@link #logDir()} ({@code data-<i>.log}, {@code sentinel-<i>.log});
 * {@link #diagnostics()} has the Sentinels' view and the logs' tails, and the {@code await}
 * methods put them in their failure messages. Nothing is persisted: a restarted data node is
 * empty. {@link #close()} kills everything the group started.
 */
final class RedisSentinelGroup implements AutoCloseable {

    static final String MASTER_NAME = "distlock-primary";
    private static final int QUORUM = 2;
    private static final int REPLICAS = 2;
    private static final int SENTINELS = 3;
    private static final long PROXIED_FAILOVER_TIMEOUT_MINUTES = 10;
    private static final Duration PROBE_TIMEOUT = Duration.ofMillis(1500);
    private static final AtomicInteger GROUPS = new AtomicInteger();
    private static final Set<Process> RUNNING_SENTINELS = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(
                () -> RUNNING_SENTINELS.forEach(Process::destroyForcibly), "redis-sentinel-cleanup"));
    }

    /** How the group is configured; {@link #defaults()} and withers. */
    static final class Options {
        private final Duration downAfter;
        private final Duration failoverTimeout; // null: depends on replicationViaProxy
        private final int minReplicasToWrite;
        private final Duration minReplicasMaxLag;
        private final boolean replicationViaProxy;

        private Options(Duration downAfter, Duration failoverTimeout, int minReplicasToWrite, Duration minReplicasMaxLag,
                        boolean replicationViaProxy) {
            this.downAfter = downAfter;
            this.failoverTimeout = failoverTimeout;
            this.minReplicasToWrite = minReplicasToWrite;
            this.minReplicasMaxLag = minReplicasMaxLag;
            this.replicationViaProxy = replicationViaProxy;
        }

        /** down-after 1 s, no min-replicas-to-write, replication through proxies. */
        static Options defaults() {
            return new Options(Duration.ofSeconds(1), null, 0, Duration.ofSeconds(2), true);
        }

        /** Sentinel's {@code down-after-milliseconds}: how long the primary must not answer before it is down. */
        Options downAfter(Duration d) {
            return new Options(positive(d), failoverTimeout, minReplicasToWrite, minReplicasMaxLag, replicationViaProxy);
        }

        /**
         * Sentinel's {@code failover-timeout}. Default: 3 s without proxies, 10 min with them
         * (see the class comment: a shorter one lets the Sentinels rewire the replicas around the
         * proxies that long after they first see them).
         */
        Options failoverTimeout(Duration d) {
            return new Options(downAfter, positive(d), minReplicasToWrite, minReplicasMaxLag, replicationViaProxy);
        }

        /**
         * {@code min-replicas-to-write} on every data node (so it holds after a promotion too), with
         * {@code min-replicas-max-lag} 2 s unless set by the two-argument form; 0 (the default) = off.
         */
        Options minReplicasToWrite(int n) {
            return minReplicasToWrite(n, minReplicasMaxLag);
        }

        /** {@code min-replicas-max-lag} is in whole seconds, at least 1; the lag Redis measures is too. */
        Options minReplicasToWrite(int n, Duration maxLag) {
            if (n < 0 || n > REPLICAS) {
                throw new IllegalArgumentException("min-replicas-to-write must be 0.." + REPLICAS + ": " + n);
            }
            return new Options(downAfter, failoverTimeout, n, positive(maxLag), replicationViaProxy);
        }

        /** Whether each replica replicates through a {@link TcpProxy} of its own (default true). */
        Options replicationViaProxy(boolean viaProxy) {
            return new Options(downAfter, failoverTimeout, minReplicasToWrite, minReplicasMaxLag, viaProxy);
        }

        Duration downAfter() {
            return downAfter;
        }

        Duration failoverTimeout() {
            if (failoverTimeout != null) {
                return failoverTimeout;
            }
            return replicationViaProxy ? Duration.ofMinutes(PROXIED_FAILOVER_TIMEOUT_MINUTES) : Duration.ofSeconds(3);
        }

        int minReplicasToWrite() {
            return minReplicasToWrite;
        }

        /** In seconds, as Redis takes it. */
        long minReplicasMaxLagSeconds() {
            return Math.max(1, (minReplicasMaxLag.toMillis() + 999) / 1000);
        }

        boolean replicationViaProxy() {
            return replicationViaProxy;
        }

        @Override
        public String toString() {
            return "down-after " + downAfter.toMillis() + " ms, failover-timeout " + failoverTimeout().toMillis()
                    + " ms, min-replicas-to-write " + minReplicasToWrite
                    + (minReplicasToWrite > 0 ? " (max lag " + minReplicasMaxLagSeconds() + " s)" : "")
                    + (replicationViaProxy ? ", replication through proxies" : ", direct replication");
        }

        private static Duration positive(Duration d) {
            Objects.requireNonNull(d);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("must be positive: " + d);
            }
            return d;
        }
    }

    private final Options options;
    private final Path logDir;
    private final List<RedisProcess> dataNodes = new ArrayList<>();
    private final List<TcpProxy> links = new ArrayList<>();
    private final List<Sentinel> sentinels = new ArrayList<>();
    private boolean closed;

    private RedisSentinelGroup(Options options, Path logDir) {
        this.options = options;
        this.logDir = logDir;
    }

    /** Starts the whole group and returns once it is {@link #awaitReady() ready}. */
    static RedisSentinelGroup start(Options options) {
        RedisSentinelGroup group = new RedisSentinelGroup(options, newLogDir("sentinel"));
        try {
            group.launch();
            return group;
        } catch (RuntimeException | Error e) {
            group.close();
            throw e;
        }
    }

    static RedisSentinelGroup start() {
        return start(Options.defaults());
    }

    private void launch() {
        RedisProcess primary = startDataNode(0, null);
        dataNodes.add(primary);
        for (int i = 0; i < REPLICAS; i++) {
            int upstream = primary.port();
            if (options.replicationViaProxy()) {
                TcpProxy link = TcpProxy.start(primary.port());
                links.add(link);
                upstream = link.port();
            }
            dataNodes.add(startDataNode(i + 1, upstream));
        }
        // Replicas first, in sync, then the Sentinels: a Sentinel learns the replicas from its
        // first INFO of the primary, where the next one would come only 10 s later.
        awaitCondition(Await.seconds(20), "replicas in sync with " + primary, this::replicasInSync);
        for (int i = 0; i < SENTINELS; i++) {
            sentinels.add(Sentinel.start(i, primary.port(), options, logDir));
        }
        awaitReady();
    }

    private RedisProcess startDataNode(int index, Integer replicaOfPort) {
        List<String> args = new ArrayList<>(List.of("--loglevel", "notice",
                "--logfile", logDir.resolve("data-" + index + ".log").toString()));
        if (options.minReplicasToWrite() > 0) {
            args.addAll(List.of("--min-replicas-to-write", Integer.toString(options.minReplicasToWrite()),
                    "--min-replicas-max-lag", Long.toString(options.minReplicasMaxLagSeconds())));
        }
        if (replicaOfPort != null) {
            args.addAll(List.of("--replicaof", "127.0.0.1", replicaOfPort.toString()));
        }
        return RedisProcess.start(args.toArray(String[]::new));
    }

    String masterName() {
        return MASTER_NAME;
    }

    Options options() {
        return options;
    }

    /** {@code redis://127.0.0.1:<port>} of each Sentinel. */
    List<String> sentinelAddresses() {
        return sentinels.stream().map(s -> "redis://127.0.0.1:" + s.port).collect(Collectors.toList());
    }

    List<Integer> sentinelPorts() {
        return sentinels.stream().map(s -> s.port).collect(Collectors.toList());
    }

    /** The three data nodes, in start order: the first primary, then replica 0 and replica 1. */
    List<RedisProcess> dataNodes() {
        return List.copyOf(dataNodes);
    }

    /**
     * The proxy replica {@code replicaIndex} (0 or 1, that is {@code dataNodes().get(replicaIndex + 1)})
     * replicates from the first primary through. Only in the path until a failover or a Sentinel
     * rewires the replica (see the class comment).
     */
    TcpProxy replicationLink(int replicaIndex) {
        if (!options.replicationViaProxy()) {
            throw new IllegalStateException("this group replicates without proxies");
        }
        return links.get(replicaIndex);
    }

    /** The data node the Sentinels name as primary (the answer most of the answering Sentinels give). */
    RedisProcess currentPrimary() {
        Map<Integer, Integer> votes = new LinkedHashMap<>();
        for (Sentinel s : sentinels) {
            masterPortSeenBy(s).ifPresent(port -> votes.merge(port, 1, Integer::sum));
        }
        if (votes.isEmpty()) {
            throw new IllegalStateException("no Sentinel names a primary\n" + diagnostics());
        }
        int port = votes.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        return nodeAt(port).orElseThrow(() -> new IllegalStateException(
                "the Sentinels name 127.0.0.1:" + port + ", which is none of " + dataNodes));
    }

    /**
     * Waits until every answering Sentinel (at least a quorum of them) names the same primary,
     * other than {@code oldPrimary}, and that node answers {@code ROLE} as master. Returns it.
     */
    RedisProcess awaitFailoverFrom(RedisProcess oldPrimary, Duration timeout) {
        AtomicReference<RedisProcess> promoted = new AtomicReference<>();
        awaitCondition(timeout, "a failover from " + oldPrimary, () -> {
            Set<Integer> named = new HashSet<>();
            int answering = 0;
            for (Sentinel s : sentinels) {
                Optional<Integer> port = masterPortSeenBy(s);
                if (port.isPresent()) {
                    answering++;
                    named.add(port.get());
                }
            }
            if (answering < QUORUM || named.size() != 1) {
                return false;
            }
            int port = named.iterator().next();
            Optional<RedisProcess> node = nodeAt(port);
            if (port == oldPrimary.port() || node.isEmpty() || !"master".equals(role(node.get().port()))) {
                return false;
            }
            promoted.set(node.get());
            return true;
        });
        return promoted.get();
    }

    /**
     * Waits (20 s, scaled) until the group is steady: every Sentinel names the same primary, every
     * other live data node replicates from it with {@code master_link_status:up}, the primary
     * lists them all online, and every Sentinel knows each live replica as a healthy replica and
     * the other two Sentinels. Right after start: 2 replicas, 2 other Sentinels each.
     */
    void awaitReady() {
        awaitCondition(Await.seconds(20), "the group to be ready", () -> {
            Integer primaryPort = null;
            for (Sentinel s : sentinels) {
                Optional<Integer> port = masterPortSeenBy(s);
                if (port.isEmpty() || (primaryPort != null && !primaryPort.equals(port.get()))) {
                    return false;
                }
                primaryPort = port.get();
            }
            Optional<RedisProcess> primary = nodeAt(primaryPort);
            if (primary.isEmpty() || !"master".equals(role(primaryPort)) || !replicasInSync()) {
                return false;
            }
            Set<Integer> replicaPorts = dataNodes.stream()
                    .filter(n -> n != primary.get() && n.isAlive()).map(RedisProcess::port).collect(Collectors.toSet());
            for (Sentinel s : sentinels) {
                Set<Integer> healthy = new HashSet<>();
                for (Map<String, String> r : s.table("SENTINEL", "REPLICAS", MASTER_NAME)) {
                    if ("slave".equals(r.get("flags")) && "ok".equals(r.get("master-link-status"))
                            && String.valueOf(primaryPort).equals(masterPortOfReplicaEntry(r, primaryPort))) {
                        healthy.add(Integer.parseInt(r.get("port")));
                    }
                }
                long otherSentinels = s.table("SENTINEL", "SENTINELS", MASTER_NAME).stream()
                        .filter(o -> "sentinel".equals(o.get("flags"))).count();
                if (!healthy.containsAll(replicaPorts) || otherSentinels != SENTINELS - 1) {
                    return false;
                }
            }
            return true;
        });
    }

    /**
     * The primary a replica entry of SENTINEL REPLICAS points at, as the port of the data node it
     * reaches: its own proxy counts as the primary the proxy forwards to.
     */
    private String masterPortOfReplicaEntry(Map<String, String> replica, int primaryPort) {
        String port = replica.get("master-port");
        for (TcpProxy link : links) {
            if (String.valueOf(link.port()).equals(port)) {
                return String.valueOf(link.targetPort());
            }
        }
        return port;
    }

    /** Every live data node but the primary is a replica with its link up, and the primary lists them online. */
    private boolean replicasInSync() {
        RedisProcess primary = null;
        int replicas = 0;
        for (RedisProcess node : dataNodes) {
            if (!node.isAlive()) {
                continue;
            }
            Map<String, String> info = info(node.port(), "replication");
            if (info.isEmpty()) {
                return false;
            }
            if ("master".equals(info.get("role"))) {
                if (primary != null) {
                    return false; // two primaries: not steady
                }
                primary = node;
            } else if (!"up".equals(info.get("master_link_status"))) {
                return false;
            } else {
                replicas++;
            }
        }
        if (primary == null) {
            return false;
        }
        Map<String, String> info = info(primary.port(), "replication");
        long online = info.entrySet().stream()
                .filter(e -> e.getKey().matches("slave\\d+") && e.getValue().contains("state=online")).count();
        return online == replicas;
    }

    /**
     * A Redisson YAML file ({@code sentinelServersConfig}) for this group, in {@code dir}: the
     * three Sentinels, reads and writes on the primary, short timeouts and retries that ride out
     * a failover of a few seconds.
     */
    Path writeRedissonConfig(Path dir) {
        StringBuilder servers = new StringBuilder("sentinelServersConfig:\n");
        servers.append("  masterName: \"").append(MASTER_NAME).append("\"\n");
        servers.append("  checkSentinelsList: true\n");
        return writeRedissonYaml(dir.resolve("redisson-sentinel.yaml"), servers, "sentinelAddresses", sentinelAddresses());
    }

    /**
     * A Redisson YAML file for these tests: the servers' section so far, its address list, and
     * settings that notice a failover within a second or two (short timeouts, a quick scan,
     * retries spread over the failover).
     */
    static Path writeRedissonYaml(Path file, StringBuilder servers, String addressesKey, List<String> addresses) {
        servers.append("  ").append(addressesKey).append(":\n");
        for (String address : addresses) {
            servers.append("    - \"").append(address).append("\"\n");
        }
        servers.append("""
                  readMode: "MASTER"
                  scanInterval: 500
                  connectTimeout: 1000
                  timeout: 1500
                  retryAttempts: 4
                  retryDelay: !<org.redisson.config.EqualJitterDelay> {baseDelay: PT0.2S, maxDelay: PT1S}
                threads: 2
                nettyThreads: 4
                """);
        try {
            Files.createDirectories(file.getParent());
            return Files.writeString(file, servers);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Where every process of the group logs. */
    Path logDir() {
        return logDir;
    }

    /** The Sentinels' view and the last lines of every log, for failure messages. */
    String diagnostics() {
        StringBuilder out = new StringBuilder("Sentinel group (" + options + "), logs in " + logDir + "\n");
        for (RedisProcess node : dataNodes) {
            out.append("  data-").append(dataNodes.indexOf(node)).append(": ").append(node)
                    .append(node.isAlive() ? "" : " (dead)").append(", role ").append(role(node.port())).append('\n');
        }
        for (TcpProxy link : links) {
            out.append("  ").append(link).append('\n');
        }
        for (Sentinel s : sentinels) {
            out.append("  sentinel-").append(s.index).append(" on ").append(s.port)
                    .append(s.process.isAlive() ? "" : " (dead)").append(": primary ")
                    .append(masterPortSeenBy(s).map(String::valueOf).orElse("?")).append(", replicas ")
                    .append(s.table("SENTINEL", "REPLICAS", MASTER_NAME).stream()
                            .map(r -> r.get("port") + "[" + r.get("flags") + ", link " + r.get("master-link-status")
                                    + " to " + r.get("master-port") + "]")
                            .collect(Collectors.joining(" ")))
                    .append(", sentinels ").append(s.table("SENTINEL", "SENTINELS", MASTER_NAME).stream()
                            .map(o -> o.get("port") + "[" + o.get("flags") + "]").collect(Collectors.joining(" ")))
                    .append('\n');
        }
        appendLogTails(out, logDir);
        return out.toString();
    }

    /** The last lines of every {@code *.log} in {@code dir}, for failure messages. */
    static void appendLogTails(StringBuilder out, Path dir) {
        try (Stream<Path> logs = Files.list(dir)) {
            for (Path log : logs.filter(p -> p.toString().endsWith(".log")).sorted().collect(Collectors.toList())) {
                out.append("--- ").append(log.getFileName()).append(" (last lines)\n").append(tail(log, 25));
            }
        } catch (IOException e) {
            out.append("(logs unreadable: ").append(e).append(")\n");
        }
    }

    /** Kills every process and proxy the group started. Idempotent; the logs stay. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Sentinel s : sentinels) {
            s.kill();
        }
        for (TcpProxy link : links) {
            link.close();
        }
        for (RedisProcess node : dataNodes) {
            node.close(); // SIGKILL, which also ends a paused (SIGSTOP) process
        }
    }

    @Override
    public String toString() {
        return "Redis Sentinel group " + MASTER_NAME + ": data nodes " + dataNodes + ", Sentinels " + sentinelPorts();
    }

    // ---------------------------------------------------------------------------------------

    private Optional<RedisProcess> nodeAt(int port) {
        return dataNodes.stream().filter(n -> n.port() == port).findFirst();
    }

    private static Optional<Integer> masterPortSeenBy(Sentinel s) {
        if (!s.process.isAlive()) {
            return Optional.empty();
        }
        try {
            Object reply = probe(s.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME);
            if (reply instanceof List<?> addr && addr.size() == 2) {
                return Optional.of(Integer.parseInt(String.valueOf(addr.get(1))));
            }
        } catch (RuntimeException e) {
            // not answering: counts as no answer
        }
        return Optional.empty();
    }

    /** {@code ROLE}'s first element, or "?" if the node does not answer. */
    private static String role(int port) {
        try {
            Object reply = probe(port, "ROLE");
            return reply instanceof List<?> l && !l.isEmpty() ? String.valueOf(l.get(0)) : "?";
        } catch (RuntimeException e) {
            return "?";
        }
    }

    /** INFO of one section as a map; empty if the node does not answer. */
    static Map<String, String> info(int port, String section) {
        try {
            Map<String, String> fields = new HashMap<>();
            for (String line : String.valueOf(probe(port, "INFO", section)).split("\r\n")) {
                int colon = line.indexOf(':');
                if (colon > 0 && !line.startsWith("#")) {
                    fields.put(line.substring(0, colon), line.substring(colon + 1));
                }
            }
            return fields;
        } catch (RuntimeException e) {
            return Map.of();
        }
    }

    private void awaitCondition(Duration timeout, String what, Callable<Boolean> condition) {
        try {
            await().atMost(timeout).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(condition);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("Timed out after " + timeout.toMillis() + " ms waiting for " + what + "\n"
                    + diagnostics(), e);
        }
    }

    static Path newLogDir(String kind) {
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        String name = kind + "-" + stamp + "-" + ProcessHandle.current().pid() + "-" + GROUPS.incrementAndGet();
        String results = System.getProperty("distlock.faults.results");
        try {
            Path base = results == null || results.isBlank()
                    ? Files.createTempDirectory("distlock-redis-logs-")
                    : Path.of(results, "redis");
            return Files.createDirectories(base.resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file, StandardCharsets.ISO_8859_1);
            return all.subList(Math.max(0, all.size() - lines), all.size()).stream()
                    .map(l -> l + "\n").collect(Collectors.joining());
        } catch (IOException e) {
            return "(unreadable: " + e + ")\n";
        }
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One command on a fresh loopback connection with a short timeout (a stopped process must not hang a poll). */
    static Object probe(int port, String... args) {
        try (RespConnection connection = RespConnection.open("127.0.0.1", port, PROBE_TIMEOUT)) {
            return connection.command(args);
        }
    }

    /** A {@code redis-server --sentinel} process with a config file of its own (Sentinel rewrites it). */
    private static final class Sentinel {
        final int index;
        final int port;
        final Process process;

        private Sentinel(int index, int port, Process process) {
            this.index = index;
            this.port = port;
            this.process = process;
        }

        static Sentinel start(int index, int primaryPort, Options options, Path dir) {
            Path log = dir.resolve("sentinel-" + index + ".log");
            for (int attempt = 1; ; attempt++) {
                int port = freePort();
                Path conf = dir.resolve("sentinel-" + index + ".conf");
                try {
                    Files.writeString(conf, String.join("\n",
                            "port " + port,
                            "bind 127.0.0.1",
                            "protected-mode no",
                            "dir " + dir,
                            "sentinel monitor " + MASTER_NAME + " 127.0.0.1 " + primaryPort + " " + QUORUM,
                            "sentinel down-after-milliseconds " + MASTER_NAME + " " + options.downAfter().toMillis(),
                            "sentinel failover-timeout " + MASTER_NAME + " " + options.failoverTimeout().toMillis(),
                            "sentinel parallel-syncs " + MASTER_NAME + " 1",
                            ""));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                Process process;
                try {
                    process = new ProcessBuilder(RedisProcess.binary().toString(), conf.toString(), "--sentinel")
                            .redirectErrorStream(true)
                            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                            .start();
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot start a Sentinel", e);
                }
                RUNNING_SENTINELS.add(process);
                Sentinel sentinel = new Sentinel(index, port, process);
                long deadline = System.nanoTime() + Await.seconds(20).toNanos();
                while (true) {
                    try {
                        String server = String.valueOf(probe(port, "INFO", "server"));
                        if (server.contains("process_id:" + process.pid() + "\r\n")) {
                            return sentinel;
                        }
                        sentinel.kill(); // another process has the port
                        break;
                    } catch (RuntimeException e) {
                        if (!process.isAlive()) {
                            break; // most likely the port was taken
                        }
                        if (System.nanoTime() > deadline) {
                            sentinel.kill();
                            throw new IllegalStateException("Sentinel " + index + " did not start on port " + port
                                    + ":\n" + tail(log, 30), e);
                        }
                    }
                    try {
                        process.waitFor(20, TimeUnit.MILLISECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        sentinel.kill();
                        throw new IllegalStateException("interrupted while starting a Sentinel", e);
                    }
                }
                if (attempt == 5) {
                    throw new IllegalStateException("Sentinel " + index + " did not start:\n" + tail(log, 30));
                }
            }
        }

        /** SENTINEL REPLICAS / SENTINELS as one map per entry; empty if the Sentinel does not answer. */
        List<Map<String, String>> table(String... command) {
            if (!process.isAlive()) {
                return List.of();
            }
            try {
                List<Map<String, String>> rows = new ArrayList<>();
                for (Object entry : (List<?>) probe(port, command)) {
                    List<?> flat = (List<?>) entry;
                    Map<String, String> row = new HashMap<>();
                    for (int i = 0; i + 1 < flat.size(); i += 2) {
                        row.put(String.valueOf(flat.get(i)), String.valueOf(flat.get(i + 1)));
                    }
                    rows.add(row);
                }
                return rows;
            } catch (RuntimeException e) {
                return List.of();
            }
        }

        void kill() {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            RUNNING_SENTINELS.remove(process);
        }
    }
}
