package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.distlock.faults.History.Event;
import io.distlock.faults.History.Kind;
import io.distlock.faults.History.Op;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Taking over, watching and seeing locks under faults (protocol version 2, issue 14), with one
 * Redis primary: three nodes started with {@code --allow-steal}, six browsers that queue, read
 * (shared) and write (exclusive), and take locks over ({@code steal}) while others hold and write;
 * a holder told {@code LOST stolen} sends one more write with its old token (a save already on its
 * way). Three observers, one per node, {@code watch} the locks and {@code query} them every 50 ms.
 * Every checker must pass, the view checkers ({@link ViewCheckers}) included, with the release
 * bound {@link #BOUND}.
 */
class WatchStealFaultsTest {

    static final Duration LEASE = Duration.ofSeconds(2);
    /**
     * The release bound a watcher is held to: a lease (a dead holder's grant lasts that long in
     * Redis, and a watching node reads a lock again when a holder's lease would run out, whatever
     * pub/sub lost) and a margin of 1 s for the read, the push and a loaded 2-core machine.
     */
    static final ViewCheckers.Bound BOUND = new ViewCheckers.Bound(LEASE, Duration.ofSeconds(1));
    private static final Duration QUERY_EVERY = Duration.ofMillis(50);
    private static final Duration GRANTS_WITHIN = Await.seconds(60);
    private static final Pattern WALL = Pattern.compile("wall=(\\d+)");

    private RedisProcess redis;
    private Nodes nodes;
    private Workload workload;
    private final List<Observer> observers = new ArrayList<>();

    @BeforeEach
    void start() {
        redis = RedisProcess.start();
        // Pings every 1.5 s, not 500 ms: nothing here tests silent browsers, and a test JVM stalled
        // for over a second (a loaded CI machine) made nodes close clients whose GRANTED pushes were
        // in flight; the pushes then reached the history out of token order (tokens-grow, once).
        nodes = Nodes.standalone(redis, 3, LEASE, "--ping-ms", "1500", "--allow-steal");
    }

    @AfterEach
    void stop() {
        try {
            observers.forEach(Observer::close);
            if (workload != null) {
                workload.close();
                Leaks.assertNothingLeft(redis, LEASE, nodes.size());
            }
        } finally {
            if (nodes != null) {
                nodes.close();
            }
            if (redis != null) {
                redis.close();
            }
        }
    }

    /** Readers, writers, a few cancels, and steals; writes every few ms while held. */
    static Workload.Builder stealing(History history, double steals) {
        return Workload.builder(history).queue().shared(0.2).cancels(0.03).steals(steals)
                .lateWriteAfterSteal(Duration.ofMillis(20)).hold(Duration.ofMillis(20), Duration.ofMillis(60)).writesPerHold(8);
    }

    private Workload startWorkload(ScenarioRun run, Workload.Builder builder) {
        run.checkViews(BOUND);
        for (int i = 0; i < nodes.size(); i++) {
            observers.add(new Observer(run.history(), 100 + i, nodes.clientUris(), i, List.of("hot-1", "hot-2"), QUERY_EVERY).start());
        }
        workload = builder.nodes(nodes.clientUris()).build();
        workload.start();
        run.awaitGrants(workload, 30, GRANTS_WITHIN);
        return workload;
    }

    /**
     * Stops the workload, waits until every observer shows what a query says (at most the release
     * bound and a margin; the checker judges whatever it shows then), makes each observer's
     * {@code final} query, closes them and checks the history.
     */
    private Checkers.Report finish(ScenarioRun run, Workload load) {
        load.stop(Duration.ofSeconds(20));
        for (Observer o : observers) {
            if (o.dropsChanges()) {
                o.showsWhatQuerySays("final"); // the broken page: it will not show what a query says, no use waiting
                continue;
            }
            try {
                Awaitility.await("observer p" + o.process() + " shows what a query says")
                        .atMost(LEASE.plus(BOUND.margin()).plusSeconds(5)).pollInterval(Duration.ofMillis(100))
                        .until(() -> o.showsWhatQuerySays(null));
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                run.progress("observer p" + o.process() + " never showed what a query says: the checker will tell");
            }
            o.showsWhatQuerySays("final");
        }
        observers.forEach(Observer::close);
        Checkers.Report report = run.finish(load);
        run.progress("views: " + viewCounts(run.history()));
        return report;
    }

    @Test
    void stealDuringWrites() {
        ScenarioRun run = new ScenarioRun("steal-during-writes");
        Workload load = startWorkload(run, stealing(run.history(), 0.15));
        int steals = FaultProfile.cycles(30, 300);
        Awaitility.await(steals + " steals told").atMost(GRANTS_WITHIN.multipliedBy(steals / 30)).pollInterval(Duration.ofMillis(50))
                .until(() -> run.history().count(Op.LOST, Kind.OK) >= steals
                        && run.history().events().stream().filter(WatchStealFaultsTest::stolen).count() >= steals);
        Checkers.Report report = finish(run, load);
        assertSafe(report);
        LateWrites late = lateWrites(run.history());
        run.progress(late.toString());
        // The promise: a stolen holder's late write that reaches the resource after the thief's first write
        // is refused. What holds it is tokens-grow (assertSafe above): the register refuses tokens below the
        // highest it accepted, so such a write is refused whenever the steal's token is above the stolen
        // grant's. This count shows it at the resource, and would find a steal that took a lower token
        // (StealAndViewCheckersTest.aLateWriteAfterTheThiefsIsAcceptedOnlyIfTheStealTookALowerToken).
        assertThat(late.afterThiefWrote).as("late writes after the thief's first write").isPositive();
        assertThat(late.acceptedAfterThiefWrote).as("late writes accepted after the thief's first write: " + late).isZero();
    }

    @Test
    void watchWhileHoldersNodesAreKilled() {
        ScenarioRun run = new ScenarioRun("watch-node-kill-9");
        Workload load = startWorkload(run, stealing(run.history(), 0.05).longHolds(0.2, Duration.ofSeconds(1)));
        List<long[]> kills = new ArrayList<>();
        for (int cycle = 0; cycle < FaultProfile.cycles(2, 10); cycle++) {
            int victim = Awaitility.await("a client of some node holds a lock").atMost(Await.seconds(30))
                    .pollInterval(Duration.ofMillis(10)).until(() -> holdingNode(run), n -> n >= 0);
            kills.add(new long[] {run.history().nanosNow(), victim});
            run.nodeFault("kill -9 node " + victim + " (a holder's)", victim);
            nodes.node(victim).kill();
            run.awaitGrants(load, 30, GRANTS_WITHIN);
            nodes.restart(victim);
            run.heal("node " + victim + " restarted");
            run.awaitGrants(load, 20, GRANTS_WITHIN);
        }
        Checkers.Report report = finish(run, load);
        assertSafe(report);
        List<Long> shownGone = new ArrayList<>();
        for (long[] kill : kills) {
            shownGone.addAll(shownGoneAfter(run.history(), kill[0], (int) kill[1]));
        }
        run.progress("kill -9 to every other node's observer showing the dead node's holder gone, ms: " + shownGone);
        assertThat(shownGone).as("measured").isNotEmpty();
        assertThat(shownGone).allSatisfy(ms -> assertThat(ms).isLessThanOrEqualTo(LEASE.plus(BOUND.margin()).toMillis()));
    }

    @Test
    void watchUnderPubSubLoss() {
        ScenarioRun run = new ScenarioRun("watch-pubsub-loss");
        Workload load = startWorkload(run, stealing(run.history(), 0.05));
        for (int cycle = 0; cycle < FaultProfile.cycles(5, 50); cycle++) {
            run.fault("CLIENT KILL TYPE pubsub (every node's changes subscription)");
            redis.command("CLIENT", "KILL", "TYPE", "pubsub");
            run.awaitGrants(load, 10, GRANTS_WITHIN);
        }
        Duration cut = LEASE.multipliedBy(2).dividedBy(5);
        for (int cycle = 0; cycle < FaultProfile.cycles(2, 10); cycle++) {
            int victim = cycle % nodes.size();
            run.blindingFault("node " + victim + " (observer p" + (100 + victim) + "'s) cut off from Redis (blackhole) for " + cut.toMillis() + " ms");
            nodes.redisLink(victim).blackhole();
            ScenarioRun.lasting(cut);
            nodes.redisLink(victim).heal();
            run.watchersSeeAgain("node " + victim + " reaches Redis again");
            run.awaitGrants(load, 20, GRANTS_WITHIN);
        }
        Checkers.Report report = finish(run, load);
        assertSafe(report);
    }

    /**
     * Redis restarted without persistence under watchers: every holder vanishes at once (their
     * nodes tell them {@code LOST taken} at the next renewal, and grant nothing for a lease: the
     * quarantine); the watching nodes resubscribe and read every watched lock again. Queries are
     * not expected to show grants made before the loss ({@link ViewCheckers#DATA_LOST}).
     */
    @Test
    void watchAcrossARedisRestartWithoutPersistence() {
        ScenarioRun run = new ScenarioRun("watch-redis-restart-empty");
        Workload load = startWorkload(run, stealing(run.history(), 0.05).longHolds(0.2, Duration.ofSeconds(1)));
        for (int cycle = 0; cycle < FaultProfile.cycles(1, 5); cycle++) {
            run.fault(ViewCheckers.DATA_LOST + " Redis restarted empty");
            redis.restart();
            run.awaitGrants(load, 30, GRANTS_WITHIN);
        }
        Checkers.Report report = finish(run, load);
        assertSafe(report);
    }

    /**
     * The negative controls of this class, in one run: the registers' fencing is off, and one of
     * the three observers is a broken page that ignores every CHANGED after a lock's first. The
     * fencing checker must find a stolen holder's late write accepted after the thief's, and the
     * watch checker must find the broken observer, and only it, showing holders long gone.
     */
    @Test
    void withoutFencingOrChangesTheCheckersFindIt() {
        ScenarioRun run = new ScenarioRun("control-steal-fencing-off-watch-dropped");
        run.checkViews(BOUND);
        observers.add(new Observer(run.history(), 100, nodes.clientUris(), 0, List.of("hot-1", "hot-2"), QUERY_EVERY).start());
        observers.add(new Observer(run.history(), 101, nodes.clientUris(), 1, List.of("hot-1", "hot-2"), QUERY_EVERY)
                .dropChangesAfterFirst().start());
        workload = stealing(run.history(), 0.15).fencing(false).nodes(nodes.clientUris()).build();
        workload.start();
        Awaitility.await("20 steals, and 8 s (the bound is 3 s)").atMost(GRANTS_WITHIN).pollInterval(Duration.ofMillis(50))
                .until(() -> run.history().events().stream().filter(WatchStealFaultsTest::stolen).count() >= 20
                        && run.history().nanosNow() > Duration.ofSeconds(8).toNanos());
        Checkers.Report report = finish(run, workload);
        assertThat(report.violations(Checkers.FENCED_REGISTER)).as(report.summary()).isPositive();
        assertThat(report.violations(Checkers.WATCH_RELEASE)).as(report.summary()).isPositive();
        assertThat(report.examples()).filteredOn(v -> v.checker().equals(Checkers.WATCH_RELEASE))
                .allSatisfy(v -> assertThat(v.description()).startsWith("p101 "));
    }

    /**
     * Every checker passes, {@value Checkers#STOLEN_TOLD} included, and every queued request is
     * answered. A steal message lost in a pub/sub gap is told at the holder's node's next renewal,
     * which renew.lua answers "stolen by" (f54dbed): {@code LOST stolen}, not {@code taken}. An unlock
     * that crossed the steal is answered {@code NOT_OWNER} and told {@code LOST stolen} too (6dd8fa3):
     * the checker requires that LOST within a second. (Grants Redis forgot, a {@code data lost:}
     * fault before the steal, are not required to be told stolen.)
     */
    private static void assertSafe(Checkers.Report report) {
        for (String checker : Checkers.ALL) {
            assertThat(report.violations(checker)).as(checker + ": " + report.summary()).isZero();
        }
        QueueFaultsTest.assertEveryQueuedRequestAnswered(report); // a steal keeps the queue's places
    }

    /** A LOST push with reason stolen. */
    private static boolean stolen(Event e) {
        return e.op() == Op.LOST && String.valueOf(e.detail()).contains("reason=stolen");
    }

    /** A node one of whose clients holds a lock now, or -1. */
    private int holdingNode(ScenarioRun run) {
        for (int node = 0; node < nodes.size(); node++) {
            if (!Liveness.holdersOn(run.history(), node).isEmpty()) {
                return node;
            }
        }
        return -1;
    }

    /** The stolen holders' writes after their LOST, and how the register answered them. */
    record LateWrites(long stolen, long lateWrites, long afterThiefWrote, long acceptedAfterThiefWrote, long acceptedBefore,
                      List<Long> toldMillis) {
        @Override
        public String toString() {
            List<Long> told = new ArrayList<>(toldMillis);
            told.sort(null);
            return String.format("steals told (LOST stolen) %d; late writes %d, of which %d after the thief's first write "
                    + "(accepted: %d) and %d before it (accepted: %d); steal asked -> old holder told LOST, ms: p50 %s, max %s",
                    stolen, lateWrites, afterThiefWrote, acceptedAfterThiefWrote, lateWrites - afterThiefWrote, acceptedBefore,
                    told.isEmpty() ? "-" : told.get(told.size() / 2), told.isEmpty() ? "-" : told.get(told.size() - 1));
        }
    }

    /**
     * For each LOST stolen of a held grant (token above 0): the old holder's writes with that token
     * after the LOST (its late write), split by whether the thief (named by {@code by}) had written
     * with its steal's token before (an accepted write, whatever the two tokens); and the time from
     * the thief's steal request to the LOST.
     */
    static LateWrites lateWrites(History history) {
        List<Event> events = history.events();
        Map<String, Event> stealAsked = new HashMap<>();   // thief process + lock -> its latest steal INVOKE
        Map<String, Long> thiefToken = new HashMap<>();    // thief process + lock -> token of its steal's grant
        Map<String, Long> firstWrite = new HashMap<>();    // lock + token -> first accepted write
        Map<String, Event> lost = new HashMap<>();         // victim process + lock + token -> its LOST stolen
        Map<String, String> thiefOf = new HashMap<>();     // victim process + lock + token -> thief process + lock
        long stolenCount = 0;
        long late = 0;
        long after = 0;
        long acceptedAfter = 0;
        long acceptedBefore = 0;
        List<Long> told = new ArrayList<>();
        for (Event e : events) {
            String lock = e.lock();
            if (e.op() == Op.LOCK && e.kind() == Kind.INVOKE && Checkers.isSteal(e)) {
                stealAsked.put(e.process() + "/" + lock, e);
            } else if (e.op() == Op.LOCK && e.kind() == Kind.OK && "steal".equals(e.detail())) {
                thiefToken.put(e.process() + "/" + lock, e.token());
            } else if (stolen(e) && e.token() > 0) {
                stolenCount++;
                Matcher by = Pattern.compile("by=p(\\d+)").matcher(e.detail());
                String thief = by.find() ? by.group(1) + "/" + lock : null;
                lost.put(e.process() + "/" + lock + "/" + e.token(), e);
                thiefOf.put(e.process() + "/" + lock + "/" + e.token(), thief);
                Event asked = thief == null ? null : stealAsked.get(thief);
                if (asked != null) {
                    told.add((e.nanos() - asked.nanos()) / 1_000_000);
                }
            } else if (e.op() == Op.WRITE) {
                if (e.kind() == Kind.OK) {
                    firstWrite.putIfAbsent(lock + "/" + e.token(), e.nanos());
                }
                String victim = e.process() + "/" + lock + "/" + e.token();
                if (lost.containsKey(victim)) {
                    late++;
                    String thief = thiefOf.get(victim);
                    Long token = thief == null ? null : thiefToken.get(thief);
                    boolean thiefWrote = token != null && firstWrite.containsKey(lock + "/" + token);
                    if (thiefWrote) {
                        after++;
                        acceptedAfter += e.kind() == Kind.OK ? 1 : 0;
                    } else {
                        acceptedBefore += e.kind() == Kind.OK ? 1 : 0;
                    }
                }
            }
        }
        return new LateWrites(stolenCount, late, after, acceptedAfter, acceptedBefore, told);
    }

    /**
     * For the grants held by clients of node {@code node} when it was killed at {@code killNanos}:
     * for each observer on another node that showed one, the time from the kill to the first state
     * it showed without that grant (a holder of the same name with a later {@code since} is
     * another grant). Ms.
     */
    static List<Long> shownGoneAfter(History history, long killNanos, int node) {
        List<Event> events = history.events();
        Map<Integer, Integer> nodeOf = new HashMap<>();
        for (Event e : events) {
            if (e.nanos() > killNanos) {
                break;
            }
            if (e.op() == Op.CONNECT && e.kind() == Kind.OK) {
                nodeOf.put(e.process(), Integer.parseInt(e.detail().replaceAll(".*node=(\\d+).*", "$1")));
            } else if (e.op() == Op.DISCONNECT) {
                nodeOf.remove(e.process());
            }
        }
        List<Long> times = new ArrayList<>();
        for (Map.Entry<Integer, String> held : Liveness.holdersOn(events, killNanos, node).entrySet()) {
            String name = "p" + held.getKey();
            for (Map.Entry<Integer, Integer> o : nodeOf.entrySet()) {
                if (o.getKey() < 100 || o.getValue() == node) {
                    continue;
                }
                boolean showed = false;
                for (Event e : events) {
                    if (e.process() != o.getKey() || !held.getValue().equals(e.lock())
                            || (e.op() != Op.WATCH && e.op() != Op.CHANGED) || e.kind() != Kind.OK) {
                        continue;
                    }
                    if (e.nanos() <= killNanos) {
                        showed = shows(e, name, killNanos);
                        continue;
                    }
                    if (!showed) {
                        break;
                    }
                    if (!shows(e, name, killNanos)) {
                        times.add((e.nanos() - killNanos) / 1_000_000);
                        break;
                    }
                }
            }
        }
        return times;
    }

    /** Whether a shown state has holder {@code name} granted before {@code nanos} (on the history's clock). */
    private static boolean shows(Event e, String name, long nanos) {
        Matcher wall = WALL.matcher(e.detail());
        if (!wall.find()) {
            return false;
        }
        long wallAt = Long.parseLong(wall.group(1)) - (e.nanos() - nanos) / 1_000_000;
        Matcher holders = Pattern.compile("holders=(\\S*)").matcher(e.detail());
        if (!holders.find() || holders.group(1).isEmpty()) {
            return false;
        }
        for (String h : holders.group(1).split(",")) {
            String[] f = h.split(":");
            if (f[0].equals(name) && Long.parseLong(f[2]) <= wallAt) {
                return true;
            }
        }
        return false;
    }

    /** How many states the observers were shown and queries they made, for the progress line. */
    private static String viewCounts(History history) {
        return "watch answers " + history.count(Op.WATCH, Kind.OK) + ", CHANGED " + history.count(Op.CHANGED, Kind.OK)
                + ", queries " + history.count(Op.QUERY, Kind.OK) + " (per lock), LOST stolen "
                + history.events().stream().filter(WatchStealFaultsTest::stolen).count();
    }
}
