package io.distlock.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The summary: figures derived from the histograms and counts, the table, the JSON, the histogram files. */
class ReportTest {

    private static final BenchSettings SETTINGS = new BenchSettings(List.of(URI.create("ws://127.0.0.1:1/distlock/lock")), 4,
            Duration.ofSeconds(2), 0, Duration.ofSeconds(1), Scenario.UNCONTENDED, 1, false, false, 90, "redis://127.0.0.1:2", "redis://127.0.0.1:2",
            null, null, null, 1, List.of(), WatchingNode.Spec.NONE, true);

    /** A phase of 2 s with 1,000 pairs of {@code pairMicros} each and the given CPU. */
    private static PhaseResult phase(String label, long pairMicros, double serverCpu, double benchCpu, Map<String, Long> redis) {
        return phase(label, pairMicros, serverCpu, benchCpu, redis, WatchingNode.Counts.NONE);
    }

    private static PhaseResult phase(String label, long pairMicros, double serverCpu, double benchCpu, Map<String, Long> redis,
                                     WatchingNode.Counts watch) {
        Stats stats = new Stats();
        for (int i = 0; i < 1000; i++) {
            stats.pair.recordValue(pairMicros * 1000);
            stats.lock.recordValue(pairMicros * 500);
            stats.acquire.recordValue(pairMicros * 500);
        }
        stats.accumulate();
        History h = new History();
        h.grant(new int[] {0}, new long[] {1}, 10);
        h.release(20);
        RedisStats.Origins origins = new RedisStats.Origins(Map.of("evalsha", new long[] {10, 0}, "hmget", new long[] {0, 10}));
        return new PhaseResult(label, Scenario.UNCONTENDED, false, 4, 1, 2.0, stats, 0, 0, Map.of(), 0, 0,
                Violations.check(List.of(h), 1), redis, redis == null ? null : origins, 0.05, serverCpu, benchCpu,
                new PhaseResult.Machine(1.5, 2.25, 0.5, 0.1), watch);
    }

    @Test
    void watchersAreReportedPerSecondAndPerPairBesideAPhaseWithout() {
        // 1,000 pairs in 2 s; 1,000 watchers told 300,000 changes after 1,600 reads of 2,000 notices
        PhaseResult watched = phase("websocket", 300, 0.2, 0.1, null,
                new WatchingNode.Counts(1000, WatchingNode.By.NAMES, 7.5, 300_000, 1600, 2000));
        PhaseResult plain = phase("direct", 150, Double.NaN, 0.16, null);

        ObjectNode json = watched.toJson();
        assertThat(json.get("watchers").asInt()).isEqualTo(1000);
        assertThat(json.get("watch_by").asText()).isEqualTo("names");
        assertThat(json.get("watch_open_s").asDouble()).isEqualTo(7.5);
        assertThat(json.get("watch_deliveries").asLong()).isEqualTo(300_000);
        assertThat(json.get("watch_deliveries_per_s").asDouble()).isEqualTo(150_000.0);
        assertThat(json.get("watch_deliveries_per_pair").asDouble()).isEqualTo(300.0);
        assertThat(json.get("watch_reads_per_s").asDouble()).isEqualTo(800.0);
        assertThat(json.get("watch_reads_per_pair").asDouble()).isEqualTo(1.6);
        assertThat(json.get("watch_notices_per_pair").asDouble()).isEqualTo(2.0);
        ObjectNode none = plain.toJson();
        assertThat(none.get("watchers").asInt()).isZero();
        assertThat(none.has("watch_by")).isFalse();
        assertThat(none.get("watch_deliveries").asLong()).isZero();

        String table = Report.table(SETTINGS, List.of(watched, plain));
        assertThat(table).contains("1,000 by names", "CHANGED told/s", "150,000", "..told/pair", "300.0",
                "watch reads/s", "..reads/pair", "1.60", "..notices/pair", "2.00");
        assertThat(Report.table(SETTINGS, List.of(plain))).doesNotContain("watchers", "CHANGED");
    }

    @Test
    void derivesThePerPairFiguresAndTheRatios() {
        PhaseResult ws = phase("websocket", 300, 0.2, 0.1, Map.of("evalsha", 2000L, "hmget", 2000L));
        PhaseResult direct = phase("direct", 150, Double.NaN, 0.16, Map.of("evalsha", 2000L, "hmget", 2000L));
        PhaseResult redisson = phase("redisson", 100, Double.NaN, 0.1, null);

        assertThat(ws.pairsPerSecond()).isEqualTo(500.0);
        assertThat(ws.pairMicros(50)).isBetween(299.0, 301.0);
        assertThat(ws.redisCommandsPerPair()).isEqualTo(2.0); // the HMGETs ran inside scripts
        assertThat(ws.redisCommandsExecutedPerPair()).isEqualTo(4.0);
        assertThat(ws.perPairMicros(ws.serverCpuSeconds)).isEqualTo(200.0);
        assertThat(redisson.redisCommandsPerPair()).isNaN();

        ObjectNode ratios = Report.ratios(List.of(ws, direct, redisson));
        assertThat(ratios.get("pair_p50_websocket_vs_redisson").asDouble()).isBetween(2.95, 3.05);
        assertThat(ratios.get("pair_p50_websocket_vs_direct").asDouble()).isBetween(1.95, 2.05);
        assertThat(ratios.get("server_cpu_per_pair_vs_direct").asDouble()).isEqualTo(1.25);
    }

    @Test
    void theJsonHasTheFirstPhaseAtTheTopAndEveryPhaseBelow() {
        PhaseResult ws = phase("websocket", 300, 0.2, 0.1, Map.of("evalsha", 2000L));
        PhaseResult direct = phase("direct", 150, Double.NaN, 0.16, null);

        ObjectNode json = Report.json(SETTINGS, List.of(ws, direct));

        assertThat(json.get("scenario").asText()).isEqualTo("uncontended");
        assertThat(json.get("target").asText()).isEqualTo("websocket");
        assertThat(json.get("pairs_per_s").asDouble()).isEqualTo(500.0);
        assertThat(json.get("pair_p50_us").asDouble()).isBetween(299.0, 301.0);
        assertThat(json.get("pair_p99_us").asDouble()).isBetween(299.0, 301.0);
        assertThat(json.get("errors").asLong()).isZero();
        assertThat(json.get("violations").asLong()).isZero();
        assertThat(json.get("redis_commands_per_pair").asDouble()).isEqualTo(2.0);
        assertThat(json.get("load_average_start").asDouble()).isEqualTo(1.5);
        assertThat(json.get("others_cpu_cores").asDouble()).isEqualTo(0.25); // 0.5 CPU seconds in 2 s
        assertThat(json.get("steal_cpu_cores").asDouble()).isEqualTo(0.05);
        assertThat(json.get("wait").asBoolean()).isFalse();
        assertThat(json.get("phases").get("direct").get("redis_commands_per_pair").isNull()).isTrue();
        assertThat(json.get("ratios").get("pair_p50_websocket_vs_direct").asDouble()).isBetween(1.95, 2.05);
    }

    @Test
    void theTableShowsThePhasesSideBySide() {
        String table = Report.table(SETTINGS, List.of(phase("websocket", 300, 0.2, 0.1, Map.of("evalsha", 2000L)),
                phase("direct", 150, Double.NaN, 0.16, null)));

        assertThat(table).contains("scenario uncontended, 4 sessions");
        assertThat(table.lines().filter(l -> l.startsWith("pairs/s")).findFirst().orElseThrow())
                .matches("pairs/s\\s+500\\s+500");
        assertThat(table).contains("lock+unlock p99.9 µs", "violations", "Redis cmds sent/pair", "server CPU µs/pair",
                "pair p50 websocket vs direct: 2.00", "1.50 -> 2.25", "others' CPU, cores", "0.25 (steal 0.05)");
    }

    @Test
    void histogramsAreWrittenInHdrHistogramsPercentileFormatBesideEachOther(@TempDir Path dir) throws Exception {
        List<Path> files = Report.writeHgrm(dir.resolve("run.hgrm"), List.of(phase("websocket", 300, 0.2, 0.1, null),
                phase("redisson", 100, Double.NaN, 0.1, null)));

        assertThat(files).containsExactly(dir.resolve("run.hgrm"), dir.resolve("run-redisson.hgrm"));
        String text = Files.readString(files.get(0));
        assertThat(text).contains("Value     Percentile TotalCount 1/(1-Percentile)", "#[Mean    =");
        assertThat(Report.sibling(Path.of("x"), "direct")).isEqualTo(Path.of("x-direct"));
    }
}
