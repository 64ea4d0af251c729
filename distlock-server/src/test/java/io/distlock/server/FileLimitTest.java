package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;

/**
 * Issue 17: a node whose process runs out of file descriptors (started with {@code ulimit -n}
 * in its own process) keeps serving the sessions it has, spends no CPU on the connections it
 * cannot accept, and accepts them when connections close. It says its limit at start and warns
 * that it is below {@code --max-connections}. Linux only: it counts the node's files in
 * {@code /proc}.
 */
class FileLimitTest {

    private static final int LIMIT = 256;
    private static final Pattern CAPACITY = Pattern.compile("Open-file limit (\\d+), (\\d+) open: room for about (\\d+) connections");
    private static final double TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

    @Test
    void atTheLimitEstablishedSessionsAreServedAndNewcomersAreAcceptedWhenConnectionsClose() throws IOException {
        assumeThat(Path.of("/proc/self/fd")).as("Linux /proc").isDirectory();
        try (RedisProcess redis = RedisProcess.start();
             NodeProcess node = NodeProcess.fromClasspathWithFileLimit(LIMIT, "--host", "127.0.0.1", "--port", "0",
                     "--redis", redis.url(), "--lease-ms", "5000", "--http-timeout-ms", "120000",
                     "--max-connections-per-address", "100000").awaitStarted()) {
            // The capacity line comes just after the startup line the start waited for.
            await().atMost(Await.seconds(10)).until(() -> CAPACITY.matcher(node.output()).find());
            Matcher capacity = CAPACITY.matcher(node.output());
            assertThat(capacity.find()).as("the capacity line in:\n" + node.output()).isTrue();
            assertThat(Long.parseLong(capacity.group(1))).isEqualTo(LIMIT);
            int room = Integer.parseInt(capacity.group(3));
            assertThat(node.output()).contains("WARNING").contains("fewer than --max-connections (10000)");

            try (WsClient holder = WsClient.connect(node.webSocketUri());
                 WsClient waiter = WsClient.connect(node.webSocketUri())) {
                holder.request("{\"action\":\"connect\",\"param\":\"holder\"}");
                waiter.request("{\"action\":\"connect\",\"param\":\"waiter\"}");
                assertThat(holder.request("{\"action\":\"lock\",\"param\":\"doc\"}").path("status").asText()).isEqualTo("LOCKED");
                assertThat(waiter.request("{\"action\":\"lock\",\"param\":\"doc\"}").path("status").asText()).isEqualTo("WAIT");
                // This node runs from class folders, where loading a class opens a file (from a jar,
                // as users run it, the jar is open already): what the node will do while full it
                // does once first, a release that tells a waiter and a lease renewal, or a class it
                // has not loaded yet fails with NoClassDefFoundError then.
                holder.request("{\"action\":\"lock\",\"param\":\"warm-up\"}");
                waiter.request("{\"action\":\"lock\",\"param\":\"warm-up\"}");
                holder.request("{\"action\":\"unlock\",\"param\":\"warm-up\"}");
                assertThat(waiter.next().path("status").asText()).isEqualTo("RETRY");
                assertThat(waiter.request("{\"action\":\"lock\",\"param\":\"warm-up\"}").path("status").asText()).isEqualTo("LOCKED");
                waiter.request("{\"action\":\"unlock\",\"param\":\"warm-up\"}");
                URI page = URI.create("http://127.0.0.1:" + node.port() + "/");
                await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(200))
                        .until(() -> Http.metric(page, "distlock_lease_renewals_total{result=\"renewed\"}") >= 1);

                InetSocketAddress address = new InetSocketAddress("127.0.0.1", node.port());
                try (SlowClients flood = SlowClients.open(address, List.of("127.0.0.2"), room + 50, SlowClients.Kind.PARTIAL_HEAD);
                     Socket newcomer = new Socket()) {
                    await().atMost(Await.seconds(20)).pollInterval(Duration.ofMillis(100))
                            .until(() -> openFiles(node.pid()) >= LIMIT);
                    await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(100))
                            .until(() -> node.output().contains("Cannot accept connections: Too many open files"));

                    // A newcomer waits in the listen backlog: connected, not answered.
                    newcomer.connect(address, 5_000);
                    newcomer.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    newcomer.setSoTimeout(1_000);
                    assertThat(readsNothing(newcomer.getInputStream())).as("not served while the node is full").isTrue();

                    // The established sessions are served: requests, and pushes through Redis.
                    assertThat(holder.request("{\"action\":\"lock\",\"param\":\"other\"}").path("status").asText()).isEqualTo("LOCKED");
                    assertThat(holder.request("{\"action\":\"unlock\",\"param\":\"doc\"}").path("status").asText()).isEqualTo("OK");
                    assertThat(waiter.next().path("status").asText()).isEqualTo("RETRY");
                    assertThat(waiter.request("{\"action\":\"lock\",\"param\":\"doc\"}").path("status").asText()).isEqualTo("LOCKED");

                    // And the node does not spin on the accepts it cannot make.
                    double cpu = cpuCores(node.pid(), Duration.ofSeconds(3));
                    System.out.printf("at the open-file limit (%d, room for %d): %d slow connections sent, node CPU %.3f cores"
                            + " over 3 s%n", LIMIT, room, flood.size(), cpu);
                    assertThat(cpu).as("CPU while full, in cores").isLessThan(0.3);
                    assertThat(openFiles(node.pid())).isGreaterThanOrEqualTo(LIMIT - 2);

                    flood.close();

                    // Recovered: the newcomer that waited is answered, and a browser connects and locks.
                    newcomer.setSoTimeout((int) Await.seconds(20).toMillis());
                    String answer = new String(newcomer.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                    assertThat(answer).startsWith("HTTP/1.1 200");
                }
                try (WsClient late = WsClient.connect(node.webSocketUri())) {
                    late.request("{\"action\":\"connect\",\"param\":\"late\"}");
                    assertThat(late.request("{\"action\":\"lock\",\"param\":\"late\"}").path("status").asText()).isEqualTo("LOCKED");
                    assertThat(late.request("{\"action\":\"lock\",\"param\":\"doc\"}").path("status").asText()).isEqualTo("WAIT");
                }
                await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(100))
                        .until(() -> node.output().contains("Accepting connections again"));
            }
        }
    }

    @Test
    void theWarningComesWhenTheLimitLeavesLessRoomThanTheConnectionCap() {
        assertThat(DistLockServer.warnIfFilesAreShort(new FileLimit(1024, 60), 10_000)).isTrue();
        assertThat(DistLockServer.warnIfFilesAreShort(new FileLimit(1024, 60), 964)).isFalse();
        assertThat(DistLockServer.warnIfFilesAreShort(new FileLimit(1024, 60), 965)).isTrue();
        assertThat(DistLockServer.warnIfFilesAreShort(new FileLimit(-1, -1), 10_000)).as("unknown: say nothing").isFalse();
        assertThat(new FileLimit(1024, 60).room()).isEqualTo(964);
        assertThat(FileLimit.now().known()).as("known on Linux").isEqualTo(Path.of("/proc/self/fd").toFile().isDirectory());
    }

    private static boolean readsNothing(InputStream in) throws IOException {
        try {
            in.read(); // an answer, or the end: either way not nothing
            return false;
        } catch (SocketTimeoutException e) {
            return true;
        }
    }

    private static long openFiles(long pid) {
        try (Stream<Path> files = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return files.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The CPU the process used over {@code window}, in cores (1.0: one core busy all the time). */
    private static double cpuCores(long pid, Duration window) {
        long before = cpuTicks(pid);
        long start = System.nanoTime();
        await().pollDelay(window).atMost(window.plus(Await.seconds(5))).until(() -> true);
        long after = cpuTicks(pid);
        double seconds = (System.nanoTime() - start) / 1e9;
        return (after - before) / TICKS_PER_SECOND / seconds;
    }

    /** utime + stime of /proc/pid/stat, in clock ticks. */
    private static long cpuTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
