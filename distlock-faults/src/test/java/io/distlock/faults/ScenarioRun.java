package io.distlock.faults;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One run of a fault scenario: its history, the faults it injected, the release times it
 * measured, and at the end the checkers' report. {@link #finish} saves the history and
 * appends one JSON line to {@code target/fault-results/results.jsonl}, which
 * {@code scripts/fault-table.py} turns into the table in docs/safety.md.
 */
final class ScenarioRun {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final History history = new History();
    private final List<Long> releaseMillis = Collections.synchronizedList(new ArrayList<>());
    private final List<long[]> nodeFaults = new ArrayList<>();
    private final List<Object[]> headFaults = new ArrayList<>(); // {nanos, lock}
    private final List<Long> deadHeadMillis = new ArrayList<>();
    private int faults;
    private ViewCheckers.Bound views;
    private final long startNanos = System.nanoTime();
    private final StallWatch stalls;

    ScenarioRun(String name) {
        this.name = name;
        this.stalls = new StallWatch(history, name);
        progress("started (" + FaultProfile.name() + " profile)");
    }

    History history() {
        return history;
    }

    /** Also checks what observers were shown (watch, query) against this release bound. */
    void checkViews(ViewCheckers.Bound bound) {
        this.views = bound;
    }

    /** A fault that blinds the watchers (their node's link to Redis, say) until {@link #watchersSeeAgain}. */
    void blindingFault(String description) {
        fault(ViewCheckers.BLIND + " " + description);
    }

    void watchersSeeAgain(String description) {
        heal(ViewCheckers.SEE_AGAIN + " " + description);
    }

    /** Records a fault in the history (one clock with every client event) and counts it. */
    void fault(String description) {
        faults++;
        history.fault(description);
        progress("fault " + faults + ": " + description);
    }

    /**
     * A fault on server node {@code node} whose release time is measured: at the end of the
     * run, each lock its clients held at this moment gives the time to that lock's next grant.
     */
    void nodeFault(String description, int node) {
        nodeFaults.add(new long[] {history.nanosNow(), node});
        fault(description);
    }

    /**
     * A {@link #nodeFault} on a node one of whose clients holds a lock that another client waits
     * for, the first such node from {@code first} on (round): checked, recorded and {@code inject}ed
     * (it must not wait long: every client that records an event waits for it) under the history's
     * lock, so that no client acts between the check and the fault: its holder cannot unlock first,
     * and the time to that lock's next grant is among the {@link #releaseTimes}. Returns the node,
     * or -1 (nothing recorded, nothing injected) if there is none now.
     */
    int nodeFaultWhileWaitedFor(int first, int nodes, java.util.function.IntFunction<String> description,
                                java.util.function.IntConsumer inject) {
        if (waitedForOn(history.events(), first, nodes) < 0) {
            return -1; // looked without the lock first: the clients carry on meanwhile
        }
        synchronized (history) {
            int node = waitedForOn(history.events(), first, nodes);
            if (node >= 0) {
                nodeFault(description.apply(node), node);
                inject.accept(node);
            }
            return node;
        }
    }

    /** A fault injected while {@code process} (a client of {@code node}) held {@code lock} with {@code token}. */
    record Hit(long nanos, int node, int process, String lock, long token) { }

    /**
     * Injects a fault on server node {@code node} while one of its clients is early in a hold that
     * the workload plans to last at least {@code left} more (a long one, begun moments ago):
     * checked, {@code inject}ed and recorded (after the injection if {@code recordAfter}, as a
     * pause is recorded once the node is frozen; else before) under the history's lock, so that
     * the holder can neither unlock nor be told anything recorded in between. A {@code measured}
     * fault is a {@link #nodeFault}. Returns the hit, or null (nothing injected) if no such hold
     * is in progress now. Holds last 5-30 ms mostly: a fault injected after merely seeing a holder
     * usually lands after its unlock, and tests nothing.
     */
    Hit faultOnLongHold(Workload workload, int node, Duration left, String description, boolean measured,
                        boolean recordAfter, Runnable inject) {
        synchronized (history) {
            List<History.Event> events = history.events();
            for (Map.Entry<Integer, String> holder : Liveness.heldOn(events, Long.MAX_VALUE, node).entrySet().stream()
                    .flatMap(h -> h.getValue().stream().map(lock -> Map.entry(h.getKey(), lock))).toList()) {
                int process = holder.getKey();
                String lock = holder.getValue();
                long token = 0;
                for (History.Event e : events) {
                    if (e.process() == process && e.op() == History.Op.LOCK && e.kind() == History.Kind.OK && lock.equals(e.lock())) {
                        token = e.token();
                    }
                }
                if (workload.plannedHoldLeft(process, lock, token) < left.toNanos()) {
                    continue;
                }
                if (recordAfter) {
                    inject.run();
                }
                long nanos = history.nanosNow();
                if (measured) {
                    nodeFault(description, node);
                } else {
                    fault(description);
                }
                if (!recordAfter) {
                    inject.run();
                }
                return new Hit(nanos, node, process, lock, token);
            }
            return null;
        }
    }

    /** {@link #faultOnLongHold}, waited for (a precondition: under load other nodes' clients may win every round for a while). */
    Hit awaitFaultOnLongHold(Workload workload, int node, Duration left, String description, boolean measured,
                             boolean recordAfter, Runnable inject) {
        return org.awaitility.Awaitility.await("a client of node " + node + " early in a hold of " + left.toMillis() + " ms or more")
                .atMost(io.distlock.testing.Await.seconds(90)).pollInterval(Duration.ofMillis(5))
                .until(() -> faultOnLongHold(workload, node, left, description, measured, recordAfter, inject), h -> h != null);
    }

    /**
     * When the hold a fault hit ended, in ns from the fault: its client's next UNLOCK INVOKE or LOST of that lock,
     * CLOSE or DISCONNECT (the end of the history if none).
     */
    long holdLastedAfter(Hit hit) {
        List<History.Event> events = history.events();
        for (History.Event e : events) {
            if (e.nanos() < hit.nanos() || e.process() != hit.process()) {
                continue;
            }
            if ((e.op() == History.Op.UNLOCK && e.kind() == History.Kind.INVOKE && hit.lock().equals(e.lock()))
                    || e.op() == History.Op.DISCONNECT
                    || (e.op() == History.Op.LOST && hit.lock().equals(e.lock()))
                    || (e.op() == History.Op.CLOSE && e.kind() == History.Kind.INVOKE)) {
                return e.nanos() - hit.nanos();
            }
        }
        return events.get(events.size() - 1).nanos() - hit.nanos();
    }

    /** Every fault hit a hold that was still held {@code critical} after the fault (by its client's account). */
    void assertHeldPast(List<Hit> hits, Duration critical) {
        for (Hit hit : hits) {
            org.assertj.core.api.Assertions.assertThat(Duration.ofNanos(holdLastedAfter(hit)))
                    .as("the hold the fault hit (" + hit + ") lasted past " + critical.toMillis() + " ms after it")
                    .isGreaterThan(critical);
        }
    }

    /** The hit hold's client was told LOST for it (the LOST carries its token). */
    boolean toldLost(Hit hit) {
        return history.events().stream().anyMatch(e -> e.nanos() >= hit.nanos() && e.process() == hit.process()
                && e.op() == History.Op.LOST && e.kind() == History.Kind.OK && hit.lock().equals(e.lock())
                && e.token() == hit.token());
    }

    private static int waitedForOn(List<History.Event> events, int first, int nodes) {
        for (int i = 0; i < nodes; i++) {
            int node = (first + i) % nodes;
            if (!Liveness.waitedForOn(events, node).isEmpty()) {
                return node;
            }
        }
        return -1;
    }

    /**
     * A fault on the node of a client waiting at the head of {@code lock}'s queue: at the end of
     * the run, the time from this moment to the lock's next grant (to anyone) is what the dead
     * waiter cost.
     */
    void headFault(String description, String lock) {
        headFaults.add(new Object[] {history.nanosNow(), lock});
        fault(description);
    }

    /** The times measured for {@link #headFault}s, in ms, once {@link #finish} ran. */
    List<Long> deadHeadTimes() {
        return List.copyOf(deadHeadMillis);
    }

    void heal(String description) {
        history.heal(description);
    }

    /** A measured time from a fault to the freed lock's next grant, or to a waiter's RETRY. */
    void releaseTime(Duration time) {
        releaseMillis.add(time.toMillis());
    }

    List<Long> releaseTimes() {
        synchronized (releaseMillis) {
            return List.copyOf(releaseMillis);
        }
    }

    void progress(String line) {
        System.out.printf("[faults] %-28s %5.1f s  %s%n", name, (System.nanoTime() - startNanos) / 1e9, line);
    }

    /**
     * Lets a fault last {@code length}: the fault's own duration, not a wait for a condition
     * (those poll with Awaitility).
     */
    static void lasting(Duration length) {
        long deadline = System.nanoTime() + length.toNanos();
        for (long left; (left = deadline - System.nanoTime()) > 0; ) {
            java.util.concurrent.locks.LockSupport.parkNanos(left);
        }
    }

    /** Waits until the workload made {@code more} grants (progress under the fault), failing after {@code atMost}. */
    void awaitGrants(Workload workload, long more, Duration atMost) {
        long target = workload.grants() + more;
        org.awaitility.Awaitility.await("" + more + " more grants").atMost(atMost)
                .pollInterval(Duration.ofMillis(20)).until(() -> workload.grants() >= target);
    }

    /** Stops the workload (if any), checks the history, saves it and the result line; returns the report. */
    Checkers.Report finish(Workload workload) {
        if (workload != null) {
            workload.stop(Duration.ofSeconds(20));
        }
        Checkers.Report report = Checkers.check(history.events(), views);
        for (long[] f : nodeFaults) {
            Liveness.regrantTimes(history, f[0], (int) f[1]).forEach(this::releaseTime);
        }
        for (Object[] f : headFaults) {
            deadHeadMillis.add(Liveness.nextGrantTime(history, (Long) f[0], (String) f[1]).toMillis());
        }
        long mlockGrants = history.events().stream().filter(e -> e.op() == History.Op.LOCK && e.kind() == History.Kind.OK
                && e.detail() != null && e.detail().startsWith("mlock ")).count();
        progress(report.summary().replace('\n', ' ') + (mlockGrants == 0 ? "" : " (of the grants by mlock: " + mlockGrants + ")")
                + (deadHeadMillis.isEmpty() ? "" : " dead head ms=" + deadHeadMillis));
        List<long[]> stalled = stalls.stop();
        progress("this JVM (the clients, the history) stalled " + stalled.size() + " time(s) for " + StallWatch.THRESHOLD.toMillis()
                + " ms or more" + (stalled.isEmpty() ? "" : ": " + StallWatch.describe(stalled)));
        if (!report.ok()) {
            around(report, stalled).forEach(this::progress);
        }
        Path dir = resultsDir();
        history.save(dir.resolve(name + ".history.jsonl"));
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("scenario", name);
        line.put("profile", FaultProfile.name());
        line.put("seconds", Math.round(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos) / 100.0) / 10.0);
        line.put("faults", faults);
        line.put("grants", report.grants());
        line.put("queued", history.count(History.Op.QUEUED, History.Kind.OK));
        line.put("mlockGrants", mlockGrants); // names granted by mlock, each counted in grants too
        line.put("writesAccepted", report.writesAccepted());
        line.put("writesRejected", report.writesRejected());
        line.put("increments", report.increments());
        line.put("lateRetries", report.lateRetries());
        line.put("missingRetries", report.missingRetries());
        line.put("lateGrants", report.lateGrants());
        line.put("missingGrants", report.missingGrants());
        line.put("violations", report.violationsByChecker());
        line.put("releaseMillis", releaseTimes());
        line.put("deadHeadMillis", deadHeadMillis);
        line.put("stallsMillis", stalled.stream().map(st -> TimeUnit.NANOSECONDS.toMillis(st[1])).toList());
        try {
            Files.writeString(dir.resolve("results.jsonl"), JSON.writeValueAsString(line) + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return report;
    }

    /** Window of the history printed around a violation: what led to it, and what followed. */
    private static final Duration BEFORE = Duration.ofMillis(2500);
    private static final Duration AFTER = Duration.ofMillis(1000);
    private static final int MAX_CONTEXT_LINES = 50;
    private static final java.util.regex.Pattern PROCESS = java.util.regex.Pattern.compile("\\bp(\\d+)\\b");
    private static final java.util.regex.Pattern AT = java.util.regex.Pattern.compile("at (\\d+(?:\\.\\d+)?) ms");

    /**
     * For the first violations: the events of the processes the violation names (of its lock, or of
     * no lock), and every fault and heal, from {@link #BEFORE} its first time to {@link #AFTER} it,
     * with this JVM's stalls in that window: what a CI log must show to tell a defect from a test's race.
     */
    private List<String> around(Checkers.Report report, List<long[]> stalled) {
        List<String> lines = new ArrayList<>();
        List<History.Event> events = history.events();
        for (Checkers.Violation v : report.examples().subList(0, Math.min(2, report.examples().size()))) {
            java.util.regex.Matcher at = AT.matcher(v.description());
            if (!at.find()) {
                continue;
            }
            long t = (long) (Double.parseDouble(at.group(1)) * 1e6);
            java.util.Set<Integer> processes = new java.util.HashSet<>();
            for (java.util.regex.Matcher m = PROCESS.matcher(v.description()); m.find(); ) {
                processes.add(Integer.parseInt(m.group(1)));
            }
            lines.add("around [" + v.checker() + "] " + v.description());
            int shown = 0;
            for (History.Event e : events) {
                boolean inWindow = e.nanos() >= t - BEFORE.toNanos() && e.nanos() <= t + AFTER.toNanos();
                boolean relevant = e.process() == -1
                        || (processes.contains(e.process()) && (e.lock() == null || e.lock().equals(v.lock())));
                if (inWindow && relevant && shown++ < MAX_CONTEXT_LINES) {
                    lines.add("  " + e);
                }
            }
            for (long[] st : stalled) {
                if (st[0] + st[1] >= t - BEFORE.toNanos() && st[0] <= t + AFTER.toNanos()) {
                    lines.add(String.format("  stall of this JVM: %.3f ms to %.3f ms", st[0] / 1e6, (st[0] + st[1]) / 1e6));
                }
            }
        }
        return lines;
    }

    private static Path resultsDir() {
        Path dir = Path.of(System.getProperty("distlock.faults.results", "target/fault-results"));
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
