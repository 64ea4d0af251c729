package io.distlock.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.HdrHistogram.Histogram;

/**
 * The end of a run: the summary table (one column per phase, so the WebSocket and the
 * baselines read side by side), the ratios, the JSON and the histogram files.
 */
final class Report {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Report() { }

    /** The table of the phases, first phase first. */
    static String table(BenchSettings settings, List<PhaseResult> phases) {
        StringBuilder s = new StringBuilder();
        PhaseResult first = phases.get(0);
        s.append(String.format("%nscenario %s, %d sessions%s%s%s, %s measured after %s warm-up%n", settings.scenario().wire(),
                settings.sessions(), settings.scenario() == Scenario.SHARED ? ", " + settings.readers() + "% readers" : "",
                settings.queue() ? ", --wait" : "",
                settings.watching().watchers() > 0 ? String.format(", %,d watchers by %s", settings.watching().watchers(),
                        settings.watching().by().wire()) : settings.directWatching() ? "" : ", watching off",
                seconds(first.seconds), seconds(settings.warmup().toMillis() / 1000.0)));
        row(s, "", phases, p -> p.label + (p.nodes > 1 ? " (" + p.nodes + " nodes)" : ""));
        row(s, "pairs/s", phases, p -> String.format("%,.0f", p.pairsPerSecond()));
        percentileRows(s, "lock", phases, p -> p.stats.lockTotal);
        percentileRows(s, "lock+unlock", phases, p -> p.stats.pairTotal);
        if (phases.stream().anyMatch(p -> p.waits > 0)) {
            row(s, "WAITs", phases, p -> String.format("%,d", p.waits));
            percentileRows(s, "acquire", phases, p -> p.stats.acquireTotal);
        }
        if (phases.stream().anyMatch(p -> p.stats.retryTotal.getTotalCount() > 0)) {
            percentileRows(s, "unlock->RETRY", phases, p -> p.stats.retryTotal);
        }
        if (phases.stream().anyMatch(p -> p.stats.retryCrossTotal.getTotalCount() > 0)) {
            percentileRows(s, "..cross-node", phases, p -> p.stats.retryCrossTotal);
        }
        if (phases.stream().anyMatch(p -> p.queuedReplies > 0)) {
            row(s, "QUEUEDs", phases, p -> String.format("%,d", p.queuedReplies));
        }
        if (phases.stream().anyMatch(p -> p.stats.handoverTotal.getTotalCount() > 0)) {
            percentileRows(s, "unlock->GRANTED", phases, p -> p.stats.handoverTotal);
        }
        if (phases.stream().anyMatch(p -> p.stats.handoverCrossTotal.getTotalCount() > 0)) {
            percentileRows(s, "..cross-node", phases, p -> p.stats.handoverCrossTotal);
        }
        if (settings.scenario() != Scenario.UNCONTENDED && settings.scenario() != Scenario.IDLE) {
            row(s, "re-takes %", phases, p -> p.violations.grants == 0 ? "-"
                    : fixed(100.0 * p.violations.retakes / p.violations.grants, 1));
        }
        row(s, "errors", phases, p -> Long.toString(p.errors));
        row(s, "violations", phases, p -> p.violations.total() + " of " + String.format("%,d", p.violations.grants));
        if (phases.stream().anyMatch(p -> p.violations.sharedGrants > 0 || p.violations.queuedGrants > 0)) {
            row(s, "..exclusion", phases, p -> Long.toString(p.violations.overlaps));
            row(s, "..token order", phases, p -> Long.toString(p.violations.tokenRegressions));
            row(s, "..FIFO", phases, p -> p.violations.fifo() + " of " + String.format("%,d", p.violations.queuedGrants));
        }
        if (phases.stream().anyMatch(p -> p.redisCalls != null)) {
            row(s, "Redis cmds sent/pair", phases, p -> fixed(p.redisCommandsPerPair(), 2));
            row(s, "..executed/pair", phases, p -> fixed(p.redisCommandsExecutedPerPair(), 2));
            row(s, "Redis CPU µs/pair", phases, p -> fixed(p.perPairMicros(p.redisCpuSeconds), 1));
        }
        if (phases.stream().anyMatch(p -> !Double.isNaN(p.serverCpuSeconds))) {
            row(s, "server CPU µs/pair", phases, p -> fixed(p.perPairMicros(p.serverCpuSeconds), 1));
        }
        if (phases.stream().anyMatch(p -> p.watch.watchers() > 0)) {
            row(s, "watchers", phases, p -> p.watch.watchers() == 0 ? "-"
                    : String.format("%,d by %s", p.watch.watchers(), p.watch.by().wire()));
            row(s, "CHANGED told/s", phases, p -> p.watch.watchers() == 0 ? "-" : fixed(p.perSecond(p.watch.deliveries()), 0));
            row(s, "..told/pair", phases, p -> p.watch.watchers() == 0 ? "-" : fixed(p.perPair(p.watch.deliveries()), 1));
            row(s, "watch reads/s", phases, p -> p.watch.watchers() == 0 ? "-" : fixed(p.perSecond(p.watch.reads()), 0));
            row(s, "..reads/pair", phases, p -> p.watch.watchers() == 0 ? "-" : fixed(p.perPair(p.watch.reads()), 2));
            row(s, "..notices/pair", phases, p -> p.watch.watchers() == 0 ? "-" : fixed(p.perPair(p.watch.notices()), 2));
        }
        row(s, "bench CPU µs/pair", phases, p -> fixed(p.perPairMicros(p.clientCpuSeconds), 1));
        row(s, "load average", phases, p -> Double.isNaN(p.machine.loadBefore()) ? "-"
                : String.format("%.2f -> %.2f", p.machine.loadBefore(), p.machine.loadAfter()));
        row(s, "others' CPU, cores", phases, p -> Double.isNaN(p.othersCores()) ? "-"
                : String.format("%.2f (steal %.2f)", p.othersCores(), p.stealCores()));
        for (PhaseResult p : phases) {
            if (!p.errorKinds.isEmpty()) {
                s.append(p.label).append(" errors:").append(System.lineSeparator());
                p.errorKinds.forEach((k, n) -> s.append(String.format("  %,8d  %s%n", n, k)));
            }
        }
        ObjectNode ratios = ratios(phases);
        ratios.fields().forEachRemaining(e -> s.append(String.format("%s: %s%n", e.getKey().replace('_', ' '),
                e.getValue().isNull() ? "-" : String.format("%.2f", e.getValue().asDouble()))));
        return s.toString();
    }

    static String idleTable(IdlePhase.Result r) {
        StringBuilder s = new StringBuilder();
        s.append(String.format("%nscenario idle, %,d sessions over %d node(s)%n", r.sessions(), r.before().size()));
        s.append(String.format("%-24s%,d%n", "connected", r.connected()));
        s.append(String.format("%-24s%,d%n", "locks held", r.locked()));
        s.append(String.format("%-24s%.1f s%n", "time to open", r.openSeconds()));
        s.append(String.format("%-24s%d%n", "errors", r.errors()));
        for (int i = 0; i < r.before().size(); i++) {
            s.append(String.format("%-24s%s -> %s (%,d sessions)%n", "heap node " + (i + 1),
                    mb(r.before().get(i).heapBytes()), mb(r.after().get(i).heapBytes()), r.perNode()[i]));
        }
        double per = r.heapPerSession();
        s.append(String.format("%-24s%s%s%n", "heap per session", Double.isNaN(per) ? "-" : String.format("%,.0f bytes", per),
                r.gcForced() ? " (after a full GC, jcmd GC.run)" : " (no GC forced: give --server-pid for a clean figure)"));
        return s.toString();
    }

    /** The ratios the targets are stated in; null where a phase is missing. */
    static ObjectNode ratios(List<PhaseResult> phases) {
        ObjectNode r = JSON.createObjectNode();
        PhaseResult ws = find(phases, "websocket");
        PhaseResult direct = find(phases, "direct");
        PhaseResult redisson = find(phases, "redisson");
        PhaseResult.number(r, "pair_p50_websocket_vs_redisson", ratio(ws, redisson, p -> p.pairMicros(50)));
        PhaseResult.number(r, "pair_p50_websocket_vs_direct", ratio(ws, direct, p -> p.pairMicros(50)));
        PhaseResult.number(r, "pair_p50_direct_vs_redisson", ratio(direct, redisson, p -> p.pairMicros(50)));
        PhaseResult.number(r, "server_cpu_per_pair_vs_direct",
                ratio(ws, direct, p -> p == ws ? p.perPairMicros(p.serverCpuSeconds) : p.perPairMicros(p.clientCpuSeconds)));
        PhaseResult.number(r, "pairs_per_s_websocket_vs_redisson", ratio(ws, redisson, PhaseResult::pairsPerSecond));
        PhaseResult wsRetry = find(phases, "websocket-retry");
        if (wsRetry != null) {
            PhaseResult.number(r, "pairs_per_s_websocket_vs_retry", ratio(ws, wsRetry, PhaseResult::pairsPerSecond));
            PhaseResult.number(r, "pair_p99_websocket_vs_retry", ratio(ws, wsRetry, p -> p.pairMicros(99)));
        }
        PhaseResult directRetry = find(phases, "direct-retry");
        if (directRetry != null) {
            PhaseResult.number(r, "pairs_per_s_direct_vs_retry", ratio(direct, directRetry, PhaseResult::pairsPerSecond));
        }
        return r;
    }

    private static double ratio(PhaseResult a, PhaseResult b, Function<PhaseResult, Double> f) {
        if (a == null || b == null) {
            return Double.NaN;
        }
        return PhaseResult.round(f.apply(a) / f.apply(b), 3);
    }

    private static PhaseResult find(List<PhaseResult> phases, String label) {
        for (PhaseResult p : phases) {
            if (p.label.equals(label)) {
                return p;
            }
        }
        return null;
    }

    /** One object: the first phase's figures at the top level, every phase under {@code phases}, the ratios. */
    static ObjectNode json(BenchSettings settings, List<PhaseResult> phases) {
        ObjectNode root = JSON.createObjectNode();
        root.put("scenario", settings.scenario().wire());
        root.put("sessions", settings.sessions());
        root.put("warmup_s", settings.warmup().toMillis() / 1000.0);
        root.put("duration_s", settings.duration().toMillis() / 1000.0);
        root.put("watchers_asked", settings.watching().watchers());
        root.put("watch_by_asked", settings.watching().by().wire());
        root.put("direct_watching", settings.directWatching());
        root.setAll(phases.get(0).toJson());
        ObjectNode each = root.putObject("phases");
        for (PhaseResult p : phases) {
            each.set(p.label, p.toJson());
        }
        root.set("ratios", ratios(phases));
        return root;
    }

    static void writeJson(Path file, ObjectNode json) throws IOException {
        createParent(file);
        Files.writeString(file, JSON.writeValueAsString(json) + System.lineSeparator(), StandardCharsets.UTF_8);
    }

    /**
     * The lock+unlock histograms in HdrHistogram's percentile format, values in µs: the first
     * phase's to {@code file}, the others' beside it ({@code name-direct.hgrm}, ...).
     */
    static List<Path> writeHgrm(Path file, List<PhaseResult> phases) throws IOException {
        createParent(file);
        List<Path> written = new ArrayList<>();
        for (int i = 0; i < phases.size(); i++) {
            Path target = i == 0 ? file : sibling(file, phases.get(i).label);
            writeHgrm(target, phases.get(i).stats.pairTotal);
            written.add(target);
        }
        return written;
    }

    static void writeHgrm(Path file, Histogram h) throws IOException {
        try (PrintStream ps = new PrintStream(Files.newOutputStream(file), true, StandardCharsets.UTF_8)) {
            h.outputPercentileDistribution(ps, 5, 1000.0);
        }
    }

    static Path sibling(Path file, String label) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String sibling = dot <= 0 ? name + "-" + label : name.substring(0, dot) + "-" + label + name.substring(dot);
        return file.resolveSibling(sibling);
    }

    static void print(PrintWriter out, String text) {
        out.print(text);
        out.flush();
    }

    private static void createParent(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
    }

    private static void percentileRows(StringBuilder s, String name, List<PhaseResult> phases, Function<PhaseResult, Histogram> h) {
        row(s, name + " p50 µs", phases, p -> micros(h.apply(p), 50));
        row(s, name + " p90 µs", phases, p -> micros(h.apply(p), 90));
        row(s, name + " p99 µs", phases, p -> micros(h.apply(p), 99));
        row(s, name + " p99.9 µs", phases, p -> micros(h.apply(p), 99.9));
        row(s, name + " max µs", phases, p -> micros(h.apply(p), 100));
    }

    private static String micros(Histogram h, double q) {
        double v = PhaseResult.micros(h, q);
        return Double.isNaN(v) ? "-" : String.format("%,.0f", v);
    }

    private static void row(StringBuilder s, String name, List<PhaseResult> phases, Function<PhaseResult, String> cell) {
        s.append(String.format("%-22s", name));
        for (PhaseResult p : phases) {
            s.append(String.format("%28s", cell.apply(p)));
        }
        s.append(System.lineSeparator());
    }

    private static String fixed(double v, int digits) {
        return Double.isNaN(v) ? "-" : String.format("%,." + digits + "f", v);
    }

    static String seconds(double s) {
        return String.format("%.1f s", s);
    }

    private static String mb(double bytes) {
        return Double.isNaN(bytes) ? "-" : String.format("%.1f MB", bytes / 1e6);
    }
}
