package io.distlock.faults;

import static io.distlock.faults.RedisSentinelGroup.info;
import static io.distlock.faults.RedisSentinelGroup.probe;
import static io.distlock.faults.RedisSentinelGroup.tail;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.awaitility.core.ConditionTimeoutException;

/**
 * A Redis Cluster of real {@code redis-server} processes on loopback: three primaries
 * ({@code nodes().get(0..2)}, slots 0-5460, 5461-10922 and 10923-16383) each with one replica
 * ({@code nodes().get(3..5)}, replica of node {@code i - 3}), formed without {@code redis-cli}:
 * {@code CLUSTER ADDSLOTS}, {@code SET-CONFIG-EPOCH}, {@code MEET}, {@code REPLICATE}.
 *
 * <p>Nodes run with {@code cluster-replica-validity-factor 0}, so a replica may always take
 * over however long its link was down, and the default {@code cluster-require-full-coverage
 * yes}: while a primary is down and not yet replaced, the whole cluster refuses commands
 * ({@code CLUSTERDOWN}), as a production cluster would. A failover takes about the node
 * timeout plus one to two seconds.
 *
 * <p>Redis 6.2 puts the cluster bus on port + 10000, so a node's port must be below 55536 and
 * the bus port free: a node whose random port fails that is started again on another. Each
 * node keeps its {@code nodes.conf} in its own directory, so a {@link RedisProcess#restart()
 * restarted} node rejoins with its identity (and no data: nothing is persisted) and becomes a
 * replica of whoever took its slots. Every node logs to {@link #logDir()} ({@code node-<i>.log});
 * the {@code await} methods put the cluster's view and the logs' tails in their failure messages.
 */
final class RedisClusterGroup implements AutoCloseable {

    static final int SLOTS = 16384;
    private static final int PRIMARIES = 3;
    private static final int HIGHEST_CLUSTER_PORT = 65535 - 10000;
    /** The slot ranges of primaries 0, 1 and 2, as redis-cli would split them. */
    private static final int[][] RANGES = {{0, 5460}, {5461, 10922}, {10923, 16383}};

    private final Duration nodeTimeout;
    private final Path logDir;
    private final List<RedisProcess> nodes = new ArrayList<>();
    private final List<String> ids = new ArrayList<>();
    /** Replica id -> primary id, as last seen: it tells who took over after the views forgot the pairing. */
    private final Map<String, String> lastSeenPairing = new HashMap<>();
    private boolean closed;

    private RedisClusterGroup(Duration nodeTimeout, Path logDir) {
        this.nodeTimeout = nodeTimeout;
        this.logDir = logDir;
    }

    /**
     * Starts six nodes with {@code cluster-node-timeout} {@code nodeTimeout} (1-2 s suits tests)
     * and returns once the cluster is formed: every node knows all six, {@code cluster_state:ok}
     * everywhere and every replica's link up.
     */
    static RedisClusterGroup start(Duration nodeTimeout) {
        Objects.requireNonNull(nodeTimeout);
        RedisClusterGroup group = new RedisClusterGroup(nodeTimeout, RedisSentinelGroup.newLogDir("cluster"));
        try {
            group.launch();
            return group;
        } catch (RuntimeException | Error e) {
            group.close();
            throw e;
        }
    }

    private void launch() {
        for (int i = 0; i < 2 * PRIMARIES; i++) {
            RedisProcess node = startNode(i);
            nodes.add(node);
            ids.add(String.valueOf(node.command("CLUSTER", "MYID")));
        }
        for (int i = 0; i < nodes.size(); i++) {
            // distinct epochs up front, as redis-cli does, rather than a round of collisions
            nodes.get(i).command("CLUSTER", "SET-CONFIG-EPOCH", Integer.toString(i + 1));
        }
        for (int p = 0; p < PRIMARIES; p++) {
            List<String> addSlots = new ArrayList<>(List.of("CLUSTER", "ADDSLOTS"));
            IntStream.rangeClosed(RANGES[p][0], RANGES[p][1]).forEach(slot -> addSlots.add(Integer.toString(slot)));
            nodes.get(p).command(addSlots.toArray(String[]::new));
        }
        for (int i = 1; i < nodes.size(); i++) {
            nodes.get(i).command("CLUSTER", "MEET", "127.0.0.1", Integer.toString(nodes.get(0).port()));
        }
        awaitCondition(Await.seconds(20), "every node to know all six", () -> nodes.stream().allMatch(n -> {
            List<NodeLine> view = clusterNodes(n);
            return view.size() == nodes.size() && view.stream().allMatch(l -> l.flags.stream()
                    .noneMatch(f -> f.equals("handshake") || f.equals("noaddr")))
                    && view.stream().map(l -> l.id).collect(Collectors.toSet()).containsAll(ids);
        }));
        for (int r = PRIMARIES; r < nodes.size(); r++) {
            nodes.get(r).command("CLUSTER", "REPLICATE", ids.get(r - PRIMARIES));
        }
        awaitCondition(Await.seconds(30), "the cluster to be formed", () -> {
            for (RedisProcess n : nodes) {
                Map<String, String> cluster = clusterInfo(n);
                if (!"ok".equals(cluster.get("cluster_state")) || !"6".equals(cluster.get("cluster_known_nodes"))
                        || !"3".equals(cluster.get("cluster_size"))) {
                    return false;
                }
                long pairs = clusterNodes(n).stream().filter(l -> l.flags.contains("slave")
                        && ids.indexOf(l.masterId) == ids.indexOf(l.id) - PRIMARIES).count();
                if (pairs != PRIMARIES) {
                    return false;
                }
            }
            for (int r = PRIMARIES; r < nodes.size(); r++) {
                Map<String, String> replication = info(nodes.get(r).port(), "replication");
                if (!"up".equals(replication.get("master_link_status"))
                        || !String.valueOf(nodes.get(r - PRIMARIES).port()).equals(replication.get("master_port"))) {
                    return false;
                }
            }
            return true;
        });
        snapshotPairing();
    }

    private RedisProcess startNode(int index) {
        Path log = logDir.resolve("node-" + index + ".log");
        String[] args = {"--loglevel", "notice", "--logfile", log.toString(),
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", Long.toString(nodeTimeout.toMillis()),
                "--cluster-replica-validity-factor", "0"};
        RuntimeException last = null;
        for (int attempt = 1; attempt <= 10; attempt++) {
            RedisProcess node;
            try {
                node = RedisProcess.start(args);
            } catch (IllegalStateException e) {
                last = e; // a port above 55535 or a bus port in use: Redis exits at once
                continue;
            }
            if (node.port() <= HIGHEST_CLUSTER_PORT) {
                return node;
            }
            node.close(); // cannot happen with Redis 6.2, which refuses such a port; kept for other builds
        }
        throw new IllegalStateException("cluster node " + index + " did not start:\n" + tail(log, 30), last);
    }

    /** All six nodes in start order: the first primaries 0-2, then their replicas. */
    List<RedisProcess> nodes() {
        return List.copyOf(nodes);
    }

    /** The current primary of each of the three slot ranges, in slot order, as most answering nodes see it. */
    List<RedisProcess> primaries() {
        return Stream.of(RANGES).map(range -> ownerOfSlot(range[0])).collect(Collectors.toList());
    }

    /** Every node that is not a current primary, in start order; dead ones included. */
    List<RedisProcess> replicas() {
        List<RedisProcess> primaries = primaries();
        return nodes.stream().filter(n -> !primaries.contains(n)).collect(Collectors.toList());
    }

    /** The current primary of the key's slot ({@code CLUSTER KEYSLOT}, then the majority view of {@code CLUSTER SLOTS}). */
    RedisProcess primaryForKey(String key) {
        RedisProcess any = answering().findFirst().orElseThrow(() -> new IllegalStateException("no node answers"));
        return ownerOfSlot(((Long) probe(any.port(), "CLUSTER", "KEYSLOT", key)).intValue());
    }

    /** The live replica of {@code primary} as the answering nodes see it. */
    RedisProcess replicaOf(RedisProcess primary) {
        return findReplicaOf(primary).orElseThrow(() -> new IllegalStateException(
                "no node sees a replica of " + primary + "\n" + diagnostics()));
    }

    private Optional<RedisProcess> findReplicaOf(RedisProcess primary) {
        String primaryId = idOf(primary);
        return answering().flatMap(n -> clusterNodes(n).stream())
                .filter(l -> l.flags.contains("slave") && primaryId.equals(l.masterId) && !l.failing())
                .map(l -> nodeById(l.id)).findFirst();
    }

    /**
     * Waits until the replica of {@code oldPrimary} (as seen at the call, or last seen before) is a
     * master, and every answering node but {@code oldPrimary} reports {@code cluster_state:ok}, all
     * slots covered and none served by {@code oldPrimary}. Returns the promoted node.
     */
    RedisProcess awaitFailoverFrom(RedisProcess oldPrimary, Duration timeout) {
        String oldId = idOf(oldPrimary);
        RedisProcess successor = findReplicaOf(oldPrimary).orElseGet(() -> lastSeenPairing.entrySet().stream()
                .filter(e -> e.getValue().equals(oldId)).map(e -> nodeById(e.getKey())).findFirst()
                .orElseThrow(() -> new IllegalArgumentException(oldPrimary + " has no known replica\n" + diagnostics())));
        AtomicReference<String> waitingFor = new AtomicReference<>("");
        awaitCondition(timeout, () -> "a failover from " + oldPrimary + " to " + successor + " (last: " + waitingFor + ")", () -> {
            if (!"master".equals(role(successor))) {
                waitingFor.set(successor + " is not yet a master");
                return false;
            }
            List<RedisProcess> others = answering().filter(n -> n != oldPrimary).collect(Collectors.toList());
            for (RedisProcess n : others) {
                if (!"ok".equals(clusterInfo(n).get("cluster_state"))) {
                    waitingFor.set(n + " is not ok");
                    return false;
                }
                List<SlotRange> slots = clusterSlots(n);
                int covered = slots.stream().mapToInt(r -> r.end - r.start + 1).sum();
                if (covered != SLOTS || slots.stream().anyMatch(r -> r.masterPort == oldPrimary.port())
                        || slots.stream().noneMatch(r -> r.masterPort == successor.port())) {
                    waitingFor.set(n + " sees " + slots);
                    return false;
                }
            }
            return others.size() >= PRIMARIES; // enough of the cluster answers to mean something
        });
        snapshotPairing();
        return successor;
    }

    /** {@code redis://127.0.0.1:<port>} of every node. */
    List<String> nodeAddresses() {
        return nodes.stream().map(RedisProcess::url).collect(Collectors.toList());
    }

    Duration nodeTimeout() {
        return nodeTimeout;
    }

    /**
     * A Redisson YAML file ({@code clusterServersConfig}) for this cluster, in {@code dir}: all six
     * nodes, reads and writes on primaries, a topology scan every 500 ms so a failover is noticed
     * fast, short timeouts and retries that ride out a failover of a few seconds.
     */
    Path writeRedissonConfig(Path dir) {
        return RedisSentinelGroup.writeRedissonYaml(dir.resolve("redisson-cluster.yaml"),
                new StringBuilder("clusterServersConfig:\n"), "nodeAddresses", nodeAddresses());
    }

    Path logDir() {
        return logDir;
    }

    /** Each node's view of the cluster and the last lines of every log, for failure messages. */
    String diagnostics() {
        StringBuilder out = new StringBuilder("Redis Cluster (node timeout " + nodeTimeout.toMillis() + " ms), logs in "
                + logDir + "\n");
        for (int i = 0; i < nodes.size(); i++) {
            RedisProcess n = nodes.get(i);
            out.append("  node-").append(i).append(" ").append(n).append(i < ids.size() ? " id " + ids.get(i) : "")
                    .append(n.isAlive() ? "" : " (dead)").append(": ").append(clusterInfo(n).getOrDefault("cluster_state", "?"))
                    .append('\n');
            for (NodeLine l : clusterNodes(n)) {
                out.append("      ").append(l.raw).append('\n');
            }
        }
        RedisSentinelGroup.appendLogTails(out, logDir);
        return out.toString();
    }

    /** Kills every node. Idempotent; the logs stay. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (RedisProcess n : nodes) {
            n.close();
        }
    }

    @Override
    public String toString() {
        return "Redis Cluster " + nodes;
    }

    // ---------------------------------------------------------------------------------------

    private Stream<RedisProcess> answering() {
        return nodes.stream().filter(n -> n.isAlive() && !clusterInfo(n).isEmpty());
    }

    private RedisProcess ownerOfSlot(int slot) {
        Map<Integer, Integer> votes = new LinkedHashMap<>();
        answering().forEach(n -> clusterSlots(n).stream().filter(r -> r.start <= slot && slot <= r.end)
                .forEach(r -> votes.merge(r.masterPort, 1, Integer::sum)));
        int port = votes.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey)
                .orElseThrow(() -> new IllegalStateException("no node knows who serves slot " + slot + "\n" + diagnostics()));
        return nodes.stream().filter(n -> n.port() == port).findFirst().orElseThrow();
    }

    private void snapshotPairing() {
        answering().flatMap(n -> clusterNodes(n).stream()).filter(l -> l.flags.contains("slave") && !l.failing())
                .forEach(l -> lastSeenPairing.put(l.id, l.masterId));
    }

    private String idOf(RedisProcess node) {
        int i = nodes.indexOf(node);
        if (i < 0) {
            throw new IllegalArgumentException(node + " is not in this cluster");
        }
        return ids.get(i);
    }

    private RedisProcess nodeById(String id) {
        int i = ids.indexOf(id);
        if (i < 0) {
            throw new IllegalStateException("unknown node id " + id);
        }
        return nodes.get(i);
    }

    private static String role(RedisProcess node) {
        try {
            Object reply = probe(node.port(), "ROLE");
            return reply instanceof List<?> l && !l.isEmpty() ? String.valueOf(l.get(0)) : "?";
        } catch (RuntimeException e) {
            return "?";
        }
    }

    private static Map<String, String> clusterInfo(RedisProcess node) {
        if (!node.isAlive()) {
            return Map.of();
        }
        try {
            Map<String, String> fields = new HashMap<>();
            for (String line : String.valueOf(probe(node.port(), "CLUSTER", "INFO")).split("\r\n")) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    fields.put(line.substring(0, colon), line.substring(colon + 1));
                }
            }
            return fields;
        } catch (RuntimeException e) {
            return Map.of();
        }
    }

    /** One line of {@code CLUSTER NODES}: id, address, flags, master id ("-" for a master), slots. */
    private record NodeLine(String raw, String id, int port, List<String> flags, String masterId) {
        boolean failing() {
            return flags.contains("fail") || flags.contains("fail?");
        }
    }

    private static List<NodeLine> clusterNodes(RedisProcess node) {
        if (!node.isAlive()) {
            return List.of();
        }
        try {
            List<NodeLine> lines = new ArrayList<>();
            for (String raw : String.valueOf(probe(node.port(), "CLUSTER", "NODES")).split("\n")) {
                String[] f = raw.trim().split(" ");
                if (f.length < 8) {
                    continue;
                }
                String address = f[1]; // 127.0.0.1:7000@17000
                int colon = address.lastIndexOf(':');
                int at = address.indexOf('@');
                int port = Integer.parseInt(address.substring(colon + 1, at < 0 ? address.length() : at));
                lines.add(new NodeLine(raw.trim(), f[0], port, List.of(f[2].split(",")), f[3]));
            }
            return lines;
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    private record SlotRange(int start, int end, int masterPort) {
        @Override
        public String toString() {
            return start + "-" + end + "@" + masterPort;
        }
    }

    private static List<SlotRange> clusterSlots(RedisProcess node) {
        if (!node.isAlive()) {
            return List.of();
        }
        try {
            List<SlotRange> ranges = new ArrayList<>();
            for (Object entry : (List<?>) probe(node.port(), "CLUSTER", "SLOTS")) {
                List<?> e = (List<?>) entry;
                List<?> master = (List<?>) e.get(2);
                ranges.add(new SlotRange(((Long) e.get(0)).intValue(), ((Long) e.get(1)).intValue(),
                        ((Long) master.get(1)).intValue()));
            }
            return ranges;
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    private void awaitCondition(Duration timeout, String what, Callable<Boolean> condition) {
        awaitCondition(timeout, () -> what, condition);
    }

    private void awaitCondition(Duration timeout, Supplier<String> what, Callable<Boolean> condition) {
        try {
            await().atMost(timeout).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(condition);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("Timed out after " + timeout.toMillis() + " ms waiting for " + what.get() + "\n"
                    + diagnostics(), e);
        }
    }
}
