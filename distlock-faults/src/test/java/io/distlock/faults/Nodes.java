package io.distlock.faults;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

import io.distlock.server.NodeProcess;
import io.distlock.testing.Ports;
import io.distlock.testing.RedisProcess;
import io.distlock.testing.TcpProxy;

/**
 * Server nodes, each a JVM of its own on a fixed loopback port (so a killed node comes back
 * where its clients look for it). Every client reaches node {@code i} through
 * {@link #clientLink(int)}; with a standalone Redis, node {@code i} reaches Redis through
 * {@link #redisLink(int)}. Both are {@link TcpProxy proxies} a scenario can cut, blackhole,
 * delay or throttle.
 */
final class Nodes implements AutoCloseable {

    private final List<String> commonArgs;
    private final IntFunction<List<String>> redisArgs;
    private final int[] ports;
    private final NodeProcess[] nodes;
    private final TcpProxy[] clientLinks;
    private final TcpProxy[] redisLinks;

    private Nodes(int count, IntFunction<List<String>> redisArgs, TcpProxy[] redisLinks, List<String> commonArgs) {
        this.commonArgs = List.copyOf(commonArgs);
        this.redisArgs = redisArgs;
        this.ports = new int[count];
        this.nodes = new NodeProcess[count];
        this.clientLinks = new TcpProxy[count];
        this.redisLinks = redisLinks;
        for (int i = 0; i < count; i++) {
            ports[i] = Ports.belowTheEphemeralRange();
        }
    }

    /** {@code count} nodes on one standalone Redis, each through a proxy of its own. */
    static Nodes standalone(RedisProcess redis, int count, Duration lease, String... extraArgs) {
        TcpProxy[] links = new TcpProxy[count];
        for (int i = 0; i < count; i++) {
            links[i] = TcpProxy.start(redis.port());
        }
        return launch(count, i -> List.of("--redis", "redis://127.0.0.1:" + links[i].port()), links, lease, extraArgs);
    }

    /** {@code count} nodes configured by a Redisson YAML file (Sentinel, Cluster), with no proxy to Redis. */
    static Nodes withRedisConfig(Path redissonYaml, int count, Duration lease, String... extraArgs) {
        return launch(count, i -> List.of("--redis-config", redissonYaml.toString()), null, lease, extraArgs);
    }

    private static Nodes launch(int count, IntFunction<List<String>> redisArgs, TcpProxy[] redisLinks, Duration lease,
                                String... extraArgs) {
        List<String> common = new ArrayList<>(List.of("--host", "127.0.0.1", "--lease-ms", Long.toString(lease.toMillis())));
        common.addAll(List.of(extraArgs));
        Nodes nodes = new Nodes(count, redisArgs, redisLinks, common);
        try {
            for (int i = 0; i < count; i++) {
                nodes.nodes[i] = nodes.spawn(i);
            }
            for (int i = 0; i < count; i++) {
                nodes.nodes[i].awaitStarted();
                nodes.clientLinks[i] = TcpProxy.start(nodes.ports[i]);
            }
            return nodes;
        } catch (RuntimeException | Error e) {
            nodes.close();
            throw e;
        }
    }

    private NodeProcess spawn(int i) {
        List<String> args = new ArrayList<>(List.of("--port", Integer.toString(ports[i])));
        args.addAll(redisArgs.apply(i));
        args.addAll(commonArgs);
        return NodeProcess.fromClasspath(args.toArray(String[]::new));
    }

    int size() {
        return nodes.length;
    }

    NodeProcess node(int i) {
        return nodes[i];
    }

    TcpProxy clientLink(int i) {
        return clientLinks[i];
    }

    /** The node's link to a standalone Redis; there is none with a Redisson config file. */
    TcpProxy redisLink(int i) {
        if (redisLinks == null) {
            throw new IllegalStateException("these nodes reach Redis without a proxy");
        }
        return redisLinks[i];
    }

    /** The WebSocket URI of node {@code i} as clients see it: through its client link. */
    URI clientUri(int i) {
        return URI.create("ws://127.0.0.1:" + clientLinks[i].port() + "/distlock/lock");
    }

    List<URI> clientUris() {
        List<URI> uris = new ArrayList<>();
        for (int i = 0; i < nodes.length; i++) {
            uris.add(clientUri(i));
        }
        return uris;
    }

    /** Starts node {@code i} again (a new JVM on the same port) after it was killed or stopped. */
    void restart(int i) {
        if (nodes[i].isAlive()) {
            throw new IllegalStateException("node " + i + " still runs");
        }
        nodes[i].close();
        nodes[i] = spawn(i).awaitStarted();
    }

    /**
     * Prints what node {@code i} logged of its own stalls (lease renewal running a whole interval
     * late: a pause, a long GC, CPU starvation), which no client event shows: beside a checker's
     * findings, it tells a node that stood still from a defect.
     */
    private void printStalls(int i) {
        try {
            nodes[i].output().lines().filter(line -> line.contains("Lease renewal ran"))
                    .forEach(line -> System.out.println("[faults] node " + i + ": " + line));
        } catch (RuntimeException e) {
            System.out.println("[faults] node " + i + ": its log could not be read: " + e);
        }
    }

    @Override
    public void close() {
        for (int i = 0; i < nodes.length; i++) {
            if (clientLinks[i] != null) {
                clientLinks[i].close();
            }
            if (nodes[i] != null) {
                if (nodes[i].isAlive()) {
                    try {
                        nodes[i].resume(); // a paused JVM would ignore anything but SIGKILL anyway
                    } catch (AssertionError e) {
                        // it died meanwhile
                    }
                }
                printStalls(i);
                nodes[i].close();
            }
            if (redisLinks != null && redisLinks[i] != null) {
                redisLinks[i].close();
            }
        }
    }
}
