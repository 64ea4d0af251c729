package io.distlock.bench;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

import org.HdrHistogram.Recorder;

/**
 * One target measured: open the sessions, run them through the warm-up and the measured
 * time, stop them, close them, check the histories. Prints a progress line every second.
 * A phase queues ({@code --wait}) or not; the same target may be measured both ways in one run.
 */
final class Phase {

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final long PUSH_TIMEOUT = TimeUnit.SECONDS.toNanos(15);
    private static final int OPENING_AT_ONCE = 64;
    private static final int ERROR_KINDS = 20;
    private static final java.time.Duration WATCHERS_TIMEOUT = java.time.Duration.ofSeconds(120);

    final Target target;
    final Stats stats = new Stats();
    private final String label;
    private final boolean queue;
    private final BenchSettings settings;
    private final PrintWriter out;
    private final RedisStats redisStats;
    private final ServerProbe probe;
    private final ScheduledExecutorService scheduler;
    private final Workload workload;
    private final String prefix;
    private final WatchingNode.Spec watching;
    private final Map<String, Integer> ids = new HashMap<>();
    private final AtomicLongArray lastRelease;
    private final AtomicIntegerArray lastReleaseNode;
    private final LongAdder errors = new LongAdder();
    private final Map<String, LongAdder> errorKinds = new ConcurrentHashMap<>();
    private final List<Worker> workers = new ArrayList<>();
    private volatile boolean stopping;
    private CountDownLatch finished;

    /**
     * @param label    how the phase is named in the output ({@code websocket}, {@code websocket-retry}, ...)
     * @param queue    whether single-name requests queue
     * @param watching watchers of this phase's locks on a second node, open from before the warm-up
     *                 to the end of the measured time ({@link WatchingNode.Spec#NONE}: none)
     */
    Phase(Target target, String label, boolean queue, BenchSettings settings, PrintWriter out, RedisStats redisStats,
          ServerProbe probe, ScheduledExecutorService scheduler, String prefix, WatchingNode.Spec watching) {
        this.target = target;
        this.label = label;
        this.queue = queue;
        this.settings = settings;
        this.out = out;
        this.redisStats = redisStats;
        this.probe = probe;
        this.scheduler = scheduler;
        this.workload = new Workload(settings.scenario(), settings.sessions(), settings.hotLocks(), settings.readers(), prefix);
        this.prefix = prefix;
        this.watching = watching;
        for (int i = 0; i < workload.nameCount(); i++) {
            ids.put(workload.name(i), i);
        }
        this.lastRelease = new AtomicLongArray(workload.nameCount());
        this.lastReleaseNode = new AtomicIntegerArray(workload.nameCount());
    }

    boolean stopping() {
        return stopping;
    }

    ScheduledExecutorService scheduler() {
        return scheduler;
    }

    void error(String what) {
        errors.increment();
        String kind = what.length() > 160 ? what.substring(0, 157) + "..." : what;
        LongAdder n = errorKinds.get(kind);
        if (n == null && errorKinds.size() < ERROR_KINDS) {
            n = errorKinds.computeIfAbsent(kind, k -> new LongAdder());
        }
        if (n != null) {
            n.increment();
        }
    }

    /** A session is about to send the unlock of {@code nameIds}. */
    void releasing(int[] nameIds, long atNanos, int node) {
        for (int id : nameIds) {
            lastReleaseNode.set(id, node);
            lastRelease.set(id, atNanos);
        }
    }

    /** A session on {@code node} got {@code RETRY} for {@code lock} at {@code atNanos}. */
    void retried(String lock, long atNanos, int node) {
        sinceRelease(lock, atNanos, node, stats.retry, stats.retryCross);
    }

    /** A queued session on {@code node} got {@code GRANTED} for {@code lock} at {@code atNanos}. */
    void handedOver(String lock, long atNanos, int node) {
        sinceRelease(lock, atNanos, node, stats.handover, stats.handoverCross);
    }

    /** Records the time from {@code lock}'s last release to {@code atNanos}; in {@code cross} too if it was released on another node. */
    private void sinceRelease(String lock, long atNanos, int node, Recorder all, Recorder cross) {
        Integer id = ids.get(lock);
        if (id == null) {
            return;
        }
        long released = lastRelease.get(id);
        if (released == 0 || atNanos < released) {
            return;
        }
        long delay = atNanos - released;
        all.recordValue(delay);
        if (lastReleaseNode.get(id) != node) {
            cross.recordValue(delay);
        }
    }

    void finished(Worker worker) {
        finished.countDown();
    }

    PhaseResult run() throws InterruptedException {
        return run(true);
    }

    /**
     * Runs the sessions through the warm-up only, without watchers, and measures nothing: the
     * first round of a run with several targets ({@link Bench}).
     */
    void warm() throws InterruptedException {
        run(false);
    }

    private PhaseResult run(boolean measure) throws InterruptedException {
        WatchingNode watchers = null;
        try {
            if (measure && watching.watchers() > 0) {
                List<String> names = new ArrayList<>();
                for (int i = 0; i < workload.nameCount(); i++) {
                    names.add(workload.name(i));
                }
                // Every name of the phase starts with prefix + "-" (Workload).
                watchers = WatchingNode.open(watching, names, prefix + "-", WATCHERS_TIMEOUT, out, label);
            }
            return run(watchers, measure);
        } finally {
            if (watchers != null) {
                watchers.close();
            }
        }
    }

    private PhaseResult run(WatchingNode watchers, boolean measure) throws InterruptedException {
        int n = settings.sessions();
        out.printf("%s: opening %d sessions%s%n", label, n,
                target.nodes() > 1 ? " over " + target.nodes() + " nodes" : "");
        out.flush();
        List<CompletableFuture<Void>> opening = new ArrayList<>();
        Semaphore permits = new Semaphore(OPENING_AT_ONCE);
        for (int i = 0; i < n; i++) {
            Worker worker = new Worker(i, this, workload, queue, 0x5EEDL * 31 + i);
            permits.acquire();
            opening.add(target.open(i, "bench-" + i, worker).toCompletableFuture()
                    .handle((session, e) -> {
                        permits.release();
                        if (e != null) {
                            error("cannot open a session: " + rootMessage(e));
                        } else {
                            synchronized (workers) {
                                workers.add(worker);
                            }
                            worker.bind(session);
                        }
                        return null;
                    }));
        }
        try {
            CompletableFuture.allOf(opening.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            error("opening the sessions did not finish within 60 s");
        }
        List<Worker> started;
        synchronized (workers) {
            started = List.copyOf(workers);
        }
        finished = new CountDownLatch(started.size());
        long begin = System.nanoTime();
        for (Worker w : started) {
            w.go();
        }

        // Warm-up: run, print, keep nothing.
        long warmupEnd = begin + settings.warmup().toNanos();
        long tick = begin;
        while (System.nanoTime() < warmupEnd) {
            tick = sleepUntil(Math.min(tick + SECOND, warmupEnd));
            long pairs = stats.discard();
            watch(started, tick);
            progress(label, tick - begin, "warm-up", pairs, Double.NaN);
        }
        stats.discard();
        long measureStart = System.nanoTime();
        long errorsBefore = errors.sum();
        long waitsBefore = stats.waits.sum();
        long queuedBefore = stats.queued.sum();
        RedisStats.Snapshot redisBefore = redisStats == null ? null : redisStats.snapshot();
        List<ServerProbe.Reading> serverBefore = probe == null ? List.of() : probe.read();
        long clientCpuBefore = processCpuNanos();
        MachineCpu machineBefore = MachineCpu.read();
        double loadBefore = loadAverage();
        long toldBefore = watchers == null ? 0 : watchers.told();
        long readsBefore = watchers == null ? 0 : watchers.reads();
        long noticesBefore = watchers == null ? 0 : watchers.notices();

        long end = measureStart + settings.duration().toNanos();
        long measured = 0;
        tick = measureStart;
        long lastTick = measureStart;
        while (measure) {
            tick = sleepUntil(Math.min(tick + SECOND, end));
            long pairs = stats.accumulate();
            measured += pairs;
            watch(started, tick);
            double seconds = (tick - lastTick) / 1e9;
            lastTick = tick;
            progress(label, tick - begin, null, (long) (pairs / Math.max(seconds, 1e-3)),
                    stats.pairTotal.getTotalCount() == 0 ? Double.NaN : stats.pairTotal.getValueAtPercentile(99) / 1e6);
            if (tick >= end || settings.ops() > 0 && measured >= settings.ops()) {
                break;
            }
        }
        long measureEnd = System.nanoTime();
        long clientCpuAfter = processCpuNanos();
        MachineCpu machine = MachineCpu.read().since(machineBefore);
        double loadAfter = loadAverage();
        WatchingNode.Counts watched = watchers == null ? WatchingNode.Counts.NONE : watchers.since(toldBefore, readsBefore, noticesBefore);
        RedisStats.Snapshot redisAfter = redisStats == null ? null : redisStats.snapshot();
        List<ServerProbe.Reading> serverAfter = probe == null ? List.of() : probe.read();
        RedisStats.Origins origins = redisStats == null ? null : redisStats.origins(500);
        long errorsMeasured = errors.sum() - errorsBefore;
        long waits = stats.waits.sum() - waitsBefore;
        long queuedReplies = stats.queued.sum() - queuedBefore;

        stopping = true;
        for (Worker w : started) {
            w.stopWaiting();
        }
        // Queued sessions wait for their grants (a queue drains at the pace of its hand-overs).
        if (!finished.await(20, TimeUnit.SECONDS)) {
            long queuedStill = started.stream().filter(Worker::queued).count();
            error(finished.getCount() + " sessions still waited 20 s after the end"
                    + (queuedStill > 0 ? ", " + queuedStill + " of them for a GRANTED" : ""));
            errorsMeasured += 1;
        }
        List<CompletableFuture<Void>> closing = new ArrayList<>();
        for (Worker w : started) {
            closing.add(w.session().close().toCompletableFuture());
        }
        try {
            CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            out.println(label + ": not every session closed cleanly: " + rootMessage(e));
        }

        List<History> histories = new ArrayList<>();
        for (Worker w : started) {
            histories.add(w.history);
        }
        Violations violations = Violations.check(histories, workload.nameCount());
        Map<String, Long> kinds = new HashMap<>();
        errorKinds.forEach((k, v) -> kinds.put(k, v.sum()));
        double redisCpu = redisBefore == null ? Double.NaN : redisAfter.cpuSeconds() - redisBefore.cpuSeconds();
        double serverCpu = cpuDelta(serverBefore, serverAfter);
        double clientCpu = (clientCpuAfter - clientCpuBefore) / 1e9;
        // What processes outside the benchmark used: the machine's busy time less this JVM's, Redis's
        // and the probed nodes' (NaN if any of them is unknown, e.g. without --redis-stats).
        double othersCpu = machine.busySeconds() - clientCpu - redisCpu - (probe == null ? 0 : serverCpu);
        return new PhaseResult(label, settings.scenario(), queue, started.size(), target.nodes(), (measureEnd - measureStart) / 1e9,
                stats, errorsMeasured, errors.sum(), kinds, waits, queuedReplies, violations,
                redisBefore == null ? null : redisAfter.since(redisBefore), origins, redisCpu, serverCpu, clientCpu,
                new PhaseResult.Machine(loadBefore, loadAfter, othersCpu, machine.stealSeconds()), watched);
    }

    private static void watch(List<Worker> workers, long now) {
        for (Worker w : workers) {
            w.check(now, PUSH_TIMEOUT);
        }
    }

    private void progress(String label, long sinceBegin, String note, long pairsPerSecond, double p99Millis) {
        StringBuilder line = new StringBuilder(96);
        line.append(String.format("[%-9s %3ds] ", label, Math.round(sinceBegin / 1e9)));
        line.append(String.format("%,9d pairs/s", pairsPerSecond));
        if (note != null) {
            line.append("  ").append(note);
        } else {
            line.append(Double.isNaN(p99Millis) ? "  p99 -" : String.format("  p99 %.3f ms", p99Millis));
        }
        line.append("  errors ").append(errors.sum());
        out.println(line);
        out.flush();
    }

    private static double cpuDelta(List<ServerProbe.Reading> before, List<ServerProbe.Reading> after) {
        if (before.isEmpty()) {
            return Double.NaN;
        }
        double sum = 0;
        for (int i = 0; i < before.size(); i++) {
            sum += after.get(i).cpuSeconds() - before.get(i).cpuSeconds();
        }
        return sum; // NaN if any node did not say
    }

    /** The machine's load average over the last minute, NaN where the JVM cannot tell. */
    static double loadAverage() {
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return load < 0 ? Double.NaN : load;
    }

    static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    private static long sleepUntil(long deadline) throws InterruptedException {
        long now;
        while ((now = System.nanoTime()) < deadline) {
            TimeUnit.NANOSECONDS.sleep(deadline - now);
        }
        return now;
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }
}
