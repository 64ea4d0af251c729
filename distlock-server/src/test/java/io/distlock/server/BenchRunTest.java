package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code distlock-server bench}, for a second or so per phase, against a server in this JVM and a real Redis. */
class BenchRunTest {

    @Test
    void benchRunsTheMixedScenarioOverWebSocketAndDirectAndWritesTheResults(@TempDir Path dir) throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0)
                     .redisUrl(redis.url()).rateLimit(1_000_000).lease(Duration.ofSeconds(5)).build())) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            Path json = dir.resolve("run.json");

            int code = ServerCommand.execute(new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8),
                    "bench", "--url", server.webSocketUri().toString(), "--sessions", "4", "--scenario", "mixed",
                    "--warmup", "1s", "--duration", "1s", "--direct", redis.url(), "--redis-stats", redis.url(),
                    "--json", json.toString(), "--hgrm", dir.resolve("run.hgrm").toString());

            String printed = out.toString(StandardCharsets.UTF_8);
            assertThat(code).as("exit code; printed:%n%s%n%s", printed, err).isZero();
            assertThat(printed).contains("[websocket", "pairs/s", "scenario mixed, 4 sessions", "lock+unlock p50 µs");
            // Two targets: each first runs its warm-up once, unmeasured, before any is measured.
            assertThat(printed).contains("first round: each target runs 1.0 s unmeasured");
            assertThat(printed.indexOf("[first direct")).as(printed)
                    .isGreaterThan(printed.indexOf("[first websocket")).isLessThan(printed.indexOf("[websocket"));
            JsonNode result = new ObjectMapper().readTree(json.toFile());
            assertThat(result.get("target").asText()).isEqualTo("websocket");
            assertThat(result.get("pairs_per_s").asDouble()).isPositive();
            assertThat(result.get("pair_p50_us").asDouble()).isPositive();
            assertThat(result.get("pair_p99_us").asDouble()).isGreaterThanOrEqualTo(result.get("pair_p50_us").asDouble());
            assertThat(result.get("errors").asLong()).isZero();
            assertThat(result.get("violations").asLong()).isZero();
            assertThat(result.get("grants_checked").asLong()).isPositive();
            assertThat(result.get("redis_commands_per_pair").asDouble()).isGreaterThan(1.5);
            JsonNode direct = result.get("phases").get("direct");
            assertThat(direct.get("errors").asLong()).isZero();
            assertThat(direct.get("violations").asLong()).isZero();
            assertThat(direct.get("pairs_per_s").asDouble()).isPositive();
            assertThat(result.get("ratios").get("pair_p50_websocket_vs_direct").isNumber()).isTrue();
            assertThat(Files.readString(dir.resolve("run.hgrm"))).contains("Percentile");
            assertThat(dir.resolve("run-direct.hgrm")).exists();
        }
    }

    @Test
    void benchQueuesOverWebSocketBesideTheRetryPathAndRunsTheSharedScenario(@TempDir Path dir) throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0)
                     .redisUrl(redis.url()).rateLimit(1_000_000).lease(Duration.ofSeconds(5)).build())) {
            Path contended = dir.resolve("queue.json");
            String printed = bench("--url", server.webSocketUri().toString(), "--sessions", "4", "--hot-locks", "1",
                    "--scenario", "contended", "--wait", "--also-retry", "--warmup", "0s", "--duration", "1s",
                    "--direct", redis.url(), "--redis-stats", redis.url(), "--json", contended.toString());
            assertThat(printed).contains("[websocket", "[websocket-retry", "[direct-retry", "QUEUEDs", "unlock->GRANTED p99 µs",
                    "..FIFO");
            JsonNode result = new ObjectMapper().readTree(contended.toFile());
            assertThat(result.get("wait").asBoolean()).isTrue();
            for (String label : new String[] {"websocket", "websocket-retry", "direct", "direct-retry"}) {
                JsonNode phase = result.get("phases").get(label);
                assertThat(phase.get("errors").asLong()).as(label).isZero();
                assertThat(phase.get("violations").asLong()).as(label).isZero();
                assertThat(phase.get("pairs").asLong()).as(label).isPositive();
            }
            JsonNode queued = result.get("phases").get("websocket");
            assertThat(queued.get("queued").asLong()).isPositive(); // four sessions on one name: they queue
            assertThat(queued.get("queued_grants_checked").asLong()).isPositive();
            assertThat(queued.get("waits").asLong()).isZero();
            assertThat(queued.get("handovers").asLong()).isPositive();
            assertThat(result.get("phases").get("direct").get("queued_grants_checked").asLong()).isPositive();
            assertThat(result.get("phases").get("websocket-retry").get("queued").asLong()).isZero();
            assertThat(result.get("ratios").get("pairs_per_s_websocket_vs_retry").isNumber()).isTrue();

            Path shared = dir.resolve("shared.json");
            printed = bench("--url", server.webSocketUri().toString(), "--sessions", "4", "--hot-locks", "1",
                    "--scenario", "shared", "--readers", "75", "--wait", "--warmup", "0s", "--duration", "1s",
                    "--json", shared.toString());
            assertThat(printed).contains("scenario shared, 4 sessions, 75% readers, --wait");
            result = new ObjectMapper().readTree(shared.toFile());
            assertThat(result.get("errors").asLong()).isZero();
            assertThat(result.get("violations").asLong()).isZero();
            assertThat(result.get("shared_grants_checked").asLong()).isPositive();
            assertThat(result.get("shared_grants_checked").asLong()).isLessThan(result.get("grants_checked").asLong());
        }
    }

    @Test
    void watchersOnASecondNodeAreToldTheChangesOfTheLocksTheyWatch(@TempDir Path dir) throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0)
                     .redisUrl(redis.url()).rateLimit(1_000_000).lease(Duration.ofSeconds(5)).build())) {
            for (String by : new String[] {"names", "prefix"}) {
                Path json = dir.resolve("watch-" + by + ".json");
                String printed = bench("--url", server.webSocketUri().toString(), "--sessions", "2", "--warmup", "0s",
                        "--duration", "1s", "--direct", redis.url(), "--redis-stats", redis.url(), "--watchers", "3",
                        "--watch-by", by, "--json", json.toString());
                assertThat(printed).contains("3 watchers by " + by, "CHANGED told/s", "watch reads/s");
                JsonNode result = new ObjectMapper().readTree(json.toFile());
                for (String label : new String[] {"websocket", "direct"}) {
                    JsonNode phase = result.get("phases").get(label);
                    assertThat(phase.get("errors").asLong()).as(label).isZero();
                    assertThat(phase.get("watchers").asInt()).as(label).isEqualTo(3);
                    assertThat(phase.get("watch_by").asText()).as(label).isEqualTo(by);
                    // every pair changes a watched lock twice; each change is told to each of the 3 watchers,
                    // fewer if changes come faster than the watching node reads them (coalesced)
                    assertThat(phase.get("watch_deliveries").asLong()).as(label).isPositive();
                    assertThat(phase.get("watch_reads").asLong()).as(label).isPositive();
                    assertThat(phase.get("watch_notices").asLong()).as(label).isPositive();
                    assertThat(phase.get("watch_deliveries").asLong()).as(label)
                            .isLessThanOrEqualTo(3 * 2 * phase.get("pairs").asLong() + 3 * 2 * 16);
                }
            }

            Path none = dir.resolve("no-watchers.json");
            bench("--direct", redis.url(), "--sessions", "2", "--warmup", "0s", "--duration", "1s", "--json", none.toString());
            JsonNode result = new ObjectMapper().readTree(none.toFile());
            assertThat(result.get("watchers").asInt()).isZero();
            assertThat(result.get("watch_deliveries").asLong()).isZero();
            assertThat(result.get("watch_reads").asLong()).isZero();
        }
    }

    @Test
    void aPhaseTellsHowMuchCpuProcessesOutsideTheBenchmarkUsed(@TempDir Path dir) throws Exception {
        try (RedisProcess redis = RedisProcess.start()) {
            Path quiet = dir.resolve("quiet.json");
            bench("--direct", redis.url(), "--redis-stats", redis.url(), "--sessions", "2", "--warmup", "0s",
                    "--duration", "2s", "--json", quiet.toString());
            double withoutBurner = new ObjectMapper().readTree(quiet.toFile()).get("others_cpu_cores").asDouble(-1);

            // Negative control: a process of its own keeps a core busy, and the figure shows it.
            Process burner = new ProcessBuilder("yes").redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            Path busy = dir.resolve("busy.json");
            try {
                bench("--direct", redis.url(), "--redis-stats", redis.url(), "--sessions", "2", "--warmup", "0s",
                        "--duration", "2s", "--json", busy.toString());
            } finally {
                burner.destroyForcibly().waitFor();
            }
            JsonNode result = new ObjectMapper().readTree(busy.toFile());
            double withBurner = result.get("others_cpu_cores").asDouble(-1);

            assertThat(withoutBurner).as("others' CPU without the burner, cores").isGreaterThanOrEqualTo(0);
            // The burner shares the cores with the bench's threads and Redis: a generous bound.
            assertThat(withBurner).as("others' CPU with a process busy on one core (without it: %.2f)", withoutBurner)
                    .isGreaterThan(0.2).isGreaterThan(withoutBurner + 0.1);
            assertThat(result.get("steal_cpu_cores").isNumber()).isTrue();
        }
    }

    /** Runs {@code bench} with {@code args}; returns what it printed, after checking it exited 0. */
    private static String bench(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] command = new String[args.length + 1];
        command[0] = "bench";
        System.arraycopy(args, 0, command, 1, args.length);
        int code = ServerCommand.execute(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), command);
        String printed = out.toString(StandardCharsets.UTF_8);
        assertThat(code).as("exit code; printed:%n%s%n%s", printed, err).isZero();
        return printed;
    }
}
