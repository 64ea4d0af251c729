package io.distlock.bench;

import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.HdrHistogram.Histogram;

/** What one phase measured, and the figures derived from it. Times in µs unless named otherwise. */
final class PhaseResult {

    final String label;
    final Scenario scenario;
    /** Whether single-name requests queued ({@code --wait}). */
    final boolean queue;
    final int sessions;
    final int nodes;
    final double seconds;
    final Stats stats;
    final long errorsMeasured;
    final long errors;
    final Map<String, Long> errorKinds;
    final long waits;
    /** {@code QUEUED} replies in the measured time. */
    final long queuedReplies;
    final Violations violations;
    final Map<String, Long> redisCalls;
    final RedisStats.Origins redisOrigins;
    final double redisCpuSeconds;
    final double serverCpuSeconds;
    final double clientCpuSeconds;
    /** How busy the machine was in the measured time, beside the benchmark. */
    final Machine machine;
    /** What the watchers on a second node saw in the measured time ({@link WatchingNode.Counts#NONE}: no watchers). */
    final WatchingNode.Counts watch;

    PhaseResult(String label, Scenario scenario, boolean queue, int sessions, int nodes, double seconds, Stats stats,
                long errorsMeasured, long errors, Map<String, Long> errorKinds, long waits, long queuedReplies, Violations violations,
                Map<String, Long> redisCalls, RedisStats.Origins redisOrigins, double redisCpuSeconds, double serverCpuSeconds, double clientCpuSeconds,
                Machine machine, WatchingNode.Counts watch) {
        this.label = label;
        this.scenario = scenario;
        this.queue = queue;
        this.sessions = sessions;
        this.nodes = nodes;
        this.seconds = seconds;
        this.stats = stats;
        this.errorsMeasured = errorsMeasured;
        this.errors = errors;
        this.errorKinds = new TreeMap<>(errorKinds);
        this.waits = waits;
        this.queuedReplies = queuedReplies;
        this.violations = violations;
        this.redisCalls = redisCalls;
        this.redisOrigins = redisOrigins;
        this.redisCpuSeconds = redisCpuSeconds;
        this.serverCpuSeconds = serverCpuSeconds;
        this.clientCpuSeconds = clientCpuSeconds;
        this.machine = machine;
        this.watch = watch;
    }

    /**
     * How busy the machine was, beside the benchmark, in a phase's measured time (NaN: unknown).
     *
     * @param loadBefore   the 1-minute load average when the measured time began
     * @param loadAfter    and when it ended
     * @param othersCpu    CPU seconds that processes other than the bench, Redis and the probed nodes used
     *                     (see {@link MachineCpu}); a little below zero when nothing else ran, as the
     *                     readings are not taken at one instant
     * @param stealCpu     CPU seconds the hypervisor gave to other machines
     */
    record Machine(double loadBefore, double loadAfter, double othersCpu, double stealCpu) { }

    long pairs() {
        return stats.pairTotal.getTotalCount();
    }

    double pairsPerSecond() {
        return seconds <= 0 ? 0 : pairs() / seconds;
    }

    /** Percentile {@code q} of {@code h} in µs, NaN if empty. */
    static double micros(Histogram h, double q) {
        if (h.getTotalCount() == 0) {
            return Double.NaN;
        }
        return (q >= 100 ? h.getMaxValue() : h.getValueAtPercentile(q)) / 1000.0;
    }

    double pairMicros(double q) {
        return micros(stats.pairTotal, q);
    }

    double lockMicros(double q) {
        return micros(stats.lockTotal, q);
    }

    /**
     * Redis commands that clients sent per pair (each one a round trip, or a part of a
     * pipeline); NaN without {@code --redis-stats}.
     */
    double redisCommandsPerPair() {
        if (redisCalls == null || pairs() == 0) {
            return Double.NaN;
        }
        return redisOrigins.sentByClients(redisCalls) / pairs();
    }

    /** Redis commands executed per pair, counting those that ran inside Lua scripts. */
    double redisCommandsExecutedPerPair() {
        if (redisCalls == null || pairs() == 0) {
            return Double.NaN;
        }
        long total = 0;
        for (long n : redisCalls.values()) {
            total += n;
        }
        return total / (double) pairs();
    }

    /** {@code n} per second of the measured time. */
    double perSecond(long n) {
        return seconds <= 0 ? Double.NaN : n / seconds;
    }

    /** {@code n} per lock+unlock pair; NaN without pairs. */
    double perPair(long n) {
        return pairs() == 0 ? Double.NaN : n / (double) pairs();
    }

    double perPairMicros(double cpuSeconds) {
        return pairs() == 0 ? Double.NaN : cpuSeconds * 1e6 / pairs();
    }

    /** Cores' worth of CPU that processes outside the benchmark used on average in the measured time; NaN: unknown. */
    double othersCores() {
        return perSecondOf(Math.max(0, machine.othersCpu())); // max keeps NaN
    }

    /** Cores' worth of CPU the hypervisor gave to other machines in the measured time; NaN: unknown. */
    double stealCores() {
        return perSecondOf(machine.stealCpu());
    }

    /** CPU seconds per second of the measured time: how many cores' worth. */
    private double perSecondOf(double cpuSeconds) {
        return seconds <= 0 ? Double.NaN : cpuSeconds / seconds;
    }

    ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("target", label);
        o.put("scenario", scenario.wire());
        o.put("wait", queue);
        o.put("sessions", sessions);
        o.put("nodes", nodes);
        o.put("seconds", round(seconds, 3));
        o.put("pairs", pairs());
        o.put("pairs_per_s", round(pairsPerSecond(), 1));
        percentiles(o, "pair", stats.pairTotal);
        percentiles(o, "lock", stats.lockTotal);
        percentiles(o, "acquire", stats.acquireTotal);
        o.put("waits", waits);
        o.put("retries", stats.retryTotal.getTotalCount());
        if (stats.retryTotal.getTotalCount() > 0) {
            percentiles(o, "retry", stats.retryTotal);
        }
        o.put("retries_cross_node", stats.retryCrossTotal.getTotalCount());
        if (stats.retryCrossTotal.getTotalCount() > 0) {
            percentiles(o, "retry_cross_node", stats.retryCrossTotal);
        }
        o.put("queued", queuedReplies);
        o.put("handovers", stats.handoverTotal.getTotalCount());
        if (stats.handoverTotal.getTotalCount() > 0) {
            percentiles(o, "handover", stats.handoverTotal);
        }
        o.put("handovers_cross_node", stats.handoverCrossTotal.getTotalCount());
        if (stats.handoverCrossTotal.getTotalCount() > 0) {
            percentiles(o, "handover_cross_node", stats.handoverCrossTotal);
        }
        o.put("errors", errors);
        o.put("errors_measured", errorsMeasured);
        ObjectNode kinds = o.putObject("error_kinds");
        errorKinds.forEach(kinds::put);
        o.put("violations", violations.total());
        o.put("overlapping_grants", violations.overlaps);
        o.put("token_regressions", violations.tokenRegressions);
        o.put("fifo_out_of_order", violations.outOfOrder);
        o.put("fifo_misplaced", violations.misplaced);
        o.put("grants_checked", violations.grants);
        o.put("shared_grants_checked", violations.sharedGrants);
        o.put("queued_grants_checked", violations.queuedGrants);
        o.put("retakes", violations.retakes);
        number(o, "redis_commands_per_pair", round(redisCommandsPerPair(), 3));
        number(o, "redis_commands_executed_per_pair", round(redisCommandsExecutedPerPair(), 3));
        if (redisCalls != null) {
            ObjectNode sent = o.putObject("redis_commands_sent");
            ObjectNode executed = o.putObject("redis_commands_executed");
            redisCalls.forEach((command, n) -> {
                executed.put(command, round(n / (double) Math.max(1, pairs()), 3));
                double bySent = redisOrigins.sentByClients(Map.of(command, n)) / Math.max(1, pairs());
                if (bySent > 0) {
                    sent.put(command, round(bySent, 3));
                }
            });
        }
        number(o, "redis_cpu_us_per_pair", round(perPairMicros(redisCpuSeconds), 2));
        number(o, "server_cpu_us_per_pair", round(perPairMicros(serverCpuSeconds), 2));
        number(o, "bench_cpu_us_per_pair", round(perPairMicros(clientCpuSeconds), 2));
        o.put("watchers", watch.watchers());
        if (watch.watchers() > 0) {
            o.put("watch_by", watch.by().wire());
            o.put("watch_open_s", round(watch.openSeconds(), 2));
        }
        o.put("watch_deliveries", watch.deliveries());
        number(o, "watch_deliveries_per_s", round(perSecond(watch.deliveries()), 1));
        number(o, "watch_deliveries_per_pair", round(perPair(watch.deliveries()), 3));
        o.put("watch_reads", watch.reads());
        number(o, "watch_reads_per_s", round(perSecond(watch.reads()), 1));
        number(o, "watch_reads_per_pair", round(perPair(watch.reads()), 3));
        o.put("watch_notices", watch.notices());
        number(o, "watch_notices_per_pair", round(perPair(watch.notices()), 3));
        number(o, "load_average_start", round(machine.loadBefore(), 2));
        number(o, "load_average_end", round(machine.loadAfter(), 2));
        number(o, "others_cpu_cores", round(othersCores(), 2));
        number(o, "steal_cpu_cores", round(stealCores(), 2));
        return o;
    }

    private static void percentiles(ObjectNode o, String name, Histogram h) {
        number(o, name + "_p50_us", round(micros(h, 50), 1));
        number(o, name + "_p90_us", round(micros(h, 90), 1));
        number(o, name + "_p99_us", round(micros(h, 99), 1));
        number(o, name + "_p999_us", round(micros(h, 99.9), 1));
        number(o, name + "_max_us", round(micros(h, 100), 1));
    }

    /** A number, or null for NaN (JSON has no NaN). */
    static void number(ObjectNode o, String name, double value) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            o.putNull(name);
        } else {
            o.put(name, value);
        }
    }

    static double round(double v, int digits) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return v;
        }
        double scale = Math.pow(10, digits);
        return Math.round(v * scale) / scale;
    }
}
