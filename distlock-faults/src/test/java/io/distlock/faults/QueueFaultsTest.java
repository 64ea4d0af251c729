package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The queue of protocol version 2 under faults, with one Redis primary: three nodes (JVMs of
 * their own), six simulated browsers that queue ({@code wait: true}) on two hot locks, a third
 * of their requests shared (readers), some cancelled, some left by closing the session, some
 * with short timeouts. Every checker must pass, FIFO and "no grant after leaving" included.
 */
class QueueFaultsTest {

    static final Duration LEASE = Duration.ofSeconds(2);

    private RedisProcess redis;
    private Nodes nodes;
    private Workload workload;

    @BeforeEach
    void start() {
        redis = RedisProcess.start();
        nodes = Nodes.standalone(redis, 3, LEASE, "--ping-ms", "500");
    }

    @AfterEach
    void stop() {
        try {
            if (workload != null) {
                workload.close();
                // no leaks: no queue, no shared holder, nothing but expiring tokens stays in Redis
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

    /**
     * The queue workload of every scenario here: readers and writers, cancels, timeouts, and
     * sessions closed while they wait.
     */
    static Workload.Builder queueing(History history) {
        return Workload.builder(history).queue().shared(0.3).cancels(0.05)
                .timeouts(0.1, Duration.ofMillis(5), Duration.ofMillis(100)).closes(0.05);
    }

    private Workload startWorkload(ScenarioRun run, Workload.Builder builder) {
        workload = builder.nodes(nodes.clientUris()).build();
        workload.start();
        run.awaitGrants(workload, 30, Await.seconds(30));
        return workload;
    }

    /**
     * What the queue runs through a Redis failover assert: every checker, FIFO and token order
     * included. Two defects broke those two there before they were fixed (docs/safety.md, "Found
     * by the queue scenarios"): a session that queued again after its node gave its place up got
     * the old place back, and a session queuing for a lock whose release the failover lost was
     * told {@code GRANTED} with that lost grant's old token.
     */
    static void assertSafeAcrossFailover(Checkers.Report report) {
        assertThat(report.ok()).as(report.summary()).isTrue();
        // late grants are allowed there (the failover, the quarantine, a lost release's lease); unanswered ones are not
        assertEveryQueuedRequestAnswered(report);
    }

    /**
     * "A queued request is granted or told {@code CANCELLED}, never left waiting" (docs/safety.md):
     * no queued wait still without either at the workload's missing deadline (60 s after its
     * {@code QUEUED}). Grants that came late but came are {@link Checkers.Report#lateGrants}, not these.
     */
    static void assertEveryQueuedRequestAnswered(Checkers.Report report) {
        assertThat(report.missingGrants()).as("queued requests never granted nor CANCELLED\n" + report.summary()).isZero();
    }

    /**
     * Where the fault's own delay is bounded well below the workload's late bound (15 s): a lease
     * + 1 s for a killed node, a keep-place tick for a lost grant message (docs/safety.md, "Release
     * liveness"), no queued request is answered late either.
     */
    static void assertNoLateGrants(Checkers.Report report) {
        assertThat(report.lateGrants()).as("queued requests answered after 15 s\n" + report.summary()).isZero();
    }

    private static void assertQueued(ScenarioRun run) {
        assertThat(run.history().count(History.Op.QUEUED, History.Kind.OK)).as("requests queued").isPositive();
    }

    @Test
    void nodesKilledUnderLoad() {
        ScenarioRun run = new ScenarioRun("queue-node-kill-9");
        Workload load = startWorkload(run, queueing(run.history()).multiLocks(StandaloneFaultsTest.MULTI_LOCKS));
        int cycles = FaultProfile.cycles(3, 20);
        for (int cycle = 0; cycle < cycles; cycle++) {
            // the node (from cycle % nodes on) of a client holding a lock that a client queues for, recorded as the fault's
            int from = cycle % nodes.size();
            int victim = org.awaitility.Awaitility.await("a client holds a lock another client queues for").atMost(Await.seconds(90))
                    .pollInterval(Duration.ofMillis(5))
                    .until(() -> run.nodeFaultWhileWaitedFor(from, nodes.size(), node -> "kill -9 node " + node,
                            node -> nodes.node(node).kill()), n -> n >= 0);
            run.awaitGrants(load, 30, Await.seconds(30));
            nodes.restart(victim);
            run.heal("node " + victim + " restarted");
            run.awaitGrants(load, 20, Await.seconds(30));
        }
        Checkers.Report report = run.finish(load);
        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(report.lateRetries()).isZero();
        assertEveryQueuedRequestAnswered(report);
        assertNoLateGrants(report);
        assertQueued(run);
        // a dead node's grants end within its lease (+ a tick for the next waiter's node to see it)
        assertThat(run.releaseTimes()).as("release times, one or more per kill").hasSizeGreaterThanOrEqualTo(cycles);
        assertThat(run.releaseTimes()).allSatisfy(ms -> assertThat(ms).isLessThanOrEqualTo(LEASE.toMillis() + 1000));
    }

    /**
     * "A dead waiter at the head costs at most one lease": a node is killed while one of its
     * clients waits at the head of a queue (and the lock's holders are clients of other nodes).
     * The holder's release hands the lock to the dead session, whose place (kept every sixth of
     * the lease) lasts at most one lease after the kill; the grant lasts no longer, and the next
     * waiter's node finds the lock free at its next keep-place. Measured: the kill to the lock's
     * next grant.
     */
    @Test
    void deadWaiterAtTheHead() {
        ScenarioRun run = new ScenarioRun("queue-dead-head");
        // plain exclusive waiters: a queue is always there, and nothing but the dead head delays it
        // each client on its home node (two per node), so every node has waiters whatever was killed before
        Workload load = startWorkload(run, Workload.builder(run.history()).queue().clients(6).locks(List.of("hot")).homeNode());
        for (int cycle = 0; cycle < FaultProfile.cycles(2, 20); cycle++) {
            // whichever node has a client at the head: clients move between nodes as nodes die
            Object[] found = org.awaitility.Awaitility.await("a client at the head of a queue, holders elsewhere")
                    .atMost(Await.seconds(30)).pollInterval(Duration.ofMillis(1))
                    .until(() -> headWaiter(run), f -> f != null);
            int victim = (Integer) found[0];
            String lock = (String) found[1];
            nodes.node(victim).kill();
            run.headFault("kill -9 node " + victim + ", a client of which waits at the head of '" + lock + "'", lock);
            run.awaitGrants(load, 20, Await.seconds(30));
            nodes.restart(victim);
            run.heal("node " + victim + " restarted");
            run.awaitGrants(load, 20, Await.seconds(30));
        }
        Checkers.Report report = run.finish(load);
        assertThat(report.ok()).as(report.summary()).isTrue();
        assertEveryQueuedRequestAnswered(report);
        assertThat(run.deadHeadTimes()).hasSize(FaultProfile.cycles(2, 20));
        // its place outlives the kill by at most a lease; then a tick (a sixth) of the next node's keep-place; + 1 s
        // for a loaded machine, as for queue-node-kill-9 (3.33 s; measured up to 2.17 s): a place or hand-over that
        // outlived the kill by a second lease would take 4 s or more, a queue the dead head blocked no grant at all
        assertThat(run.deadHeadTimes()).allSatisfy(ms -> assertThat(ms).isLessThanOrEqualTo(
                LEASE.toMillis() + LEASE.toMillis() / 6 + 1000));
    }

    /** {node, lock} of a client waiting at the head of a lock's queue whose holders are on other nodes, or null. */
    private Object[] headWaiter(ScenarioRun run) {
        for (int node = 0; node < nodes.size(); node++) {
            String lock = Liveness.headWaiterOn(run.history(), node);
            if (lock != null) {
                return new Object[] {node, lock};
            }
        }
        return null;
    }

    @Test
    void nodePausedForHalfTheLease() {
        ScenarioRun run = new ScenarioRun("queue-node-pause-0.5x");
        // long holds build queues, and catch clients of the frozen node holding or waiting
        Workload load = startWorkload(run, queueing(run.history()).longHolds(0.2, LEASE));
        List<ScenarioRun.Hit> hits = new ArrayList<>();
        for (int cycle = 0; cycle < FaultProfile.cycles(1, 6); cycle++) {
            int victim = cycle % nodes.size();
            // on a hold that outlasts the pause, recorded once the node is frozen, as in StandaloneFaultsTest.pauseNodes
            // (and with its margin for the kill -STOP: half the lease plus 700 ms is 1.7 s of a 2 s long hold)
            hits.add(run.awaitFaultOnLongHold(load, victim, LEASE.dividedBy(2).plus(StandaloneFaultsTest.PAUSE_HIT_MARGIN),
                    "SIGSTOP node " + victim + " for " + LEASE.dividedBy(2).toMillis() + " ms", true, true,
                    () -> nodes.node(victim).pause()));
            ScenarioRun.lasting(LEASE.dividedBy(2));
            nodes.node(victim).resume();
            run.heal("SIGCONT node " + victim);
            run.awaitGrants(load, 20, Await.seconds(30));
        }
        Checkers.Report report = run.finish(load);
        run.assertHeldPast(hits, LEASE.dividedBy(2));
        // places are kept every sixth of the lease and last a lease: half a lease loses none
        assertThat(report.ok()).as(report.summary()).isTrue();
        assertEveryQueuedRequestAnswered(report);
        assertQueued(run);
    }

    /**
     * A node cut off from Redis (RST, new connections refused) for three quarters of the lease
     * while its clients wait in a queue: at two thirds of the lease without a kept place the node
     * gives the places up ({@code CANCELLED}, reason {@code backend}) and tries to leave (which
     * cannot reach Redis); its clients queue again, and once the link heals their requests reach
     * Redis while the old places may still be alive there (a lease after they were last kept).
     * The new request must queue at the tail, behind the requests other nodes queued meanwhile.
     *
     * <p>It failed on the core before the fix, in every run (7 {@code fifo} violations in 3 cuts):
     * {@code lock.lua} found the session's old entry in the queue and only refreshed its expiry, so
     * the new request took the given-up place (ahead of the requests queued since), with the old
     * request's mode and attempt. Since the fix (docs/safety.md, "Found by the queue scenarios";
     * {@code QueueScriptsTest.aPlaceTheSessionGaveUpIsNotGivenBackToItsNextRequest}) it runs, and
     * must pass.
     */
    @Test
    void redisCutWhileClientsWait() {
        ScenarioRun run = new ScenarioRun("queue-redis-cut-0.75x");
        Workload load = startWorkload(run, Workload.builder(run.history()).queue().clients(6).locks(List.of("hot"))
                .hold(Duration.ofMillis(50), Duration.ofMillis(150)));
        for (int cycle = 0; cycle < FaultProfile.cycles(3, 10); cycle++) {
            int victim = cycle % nodes.size();
            Duration cut = LEASE.multipliedBy(3).dividedBy(4);
            run.fault("node " + victim + " cut off from Redis (RST) for " + cut.toMillis() + " ms");
            nodes.redisLink(victim).cut();
            ScenarioRun.lasting(cut);
            nodes.redisLink(victim).heal();
            run.heal("node " + victim + " reaches Redis again");
            run.awaitGrants(load, 20, Await.seconds(30));
        }
        Checkers.Report report = run.finish(load);
        assertThat(report.ok()).as(report.summary()).isTrue();
        // a place given up is told (CANCELLED, backend): its client is never left waiting
        assertEveryQueuedRequestAnswered(report);
    }

    /**
     * No fault: clients that leave half of their waits by closing the session ({@code close},
     * then a new session on the same connection). A {@code GRANTED} must never follow the close's
     * {@code OK}.
     *
     * <p>It failed on the endpoint before the fix (found in the soak of {@code queue-node-kill-9}:
     * 2 in about 150 closes). A push of the session made while the {@code close} request waited
     * for its reply was queued behind that reply ({@code Outbound} puts pushes behind every reply
     * reserved so far), so the client read {@code OK} for the close and then {@code GRANTED} for
     * the session it had just closed, whose grant the close released. Since the fix
     * ({@code OutboundTest.aWaitingPushNoLongerWantedWhenItsTurnComesIsDropped}) it runs, and must
     * pass; {@link #queueing} has its closes back.
     */
    @Test
    void closingWhileQueued() {
        ScenarioRun run = new ScenarioRun("queue-close-while-queued");
        Workload load = startWorkload(run, Workload.builder(run.history()).queue().shared(0.3).closes(0.5));
        run.awaitGrants(load, FaultProfile.cycles(1000, 10000), Await.seconds(120));
        Checkers.Report report = run.finish(load);
        assertThat(run.history().count(History.Op.CLOSE, History.Kind.OK)).as("closes").isPositive();
        assertThat(report.ok()).as(report.summary()).isTrue();
        assertEveryQueuedRequestAnswered(report);
    }

    @Test
    void redisRestartedWithoutPersistence() {
        ScenarioRun run = new ScenarioRun("queue-redis-restart-empty");
        Workload load = startWorkload(run, queueing(run.history()).longHolds(0.2, LEASE).multiLocks(StandaloneFaultsTest.MULTI_LOCKS));
        for (int cycle = 0; cycle < FaultProfile.cycles(1, 10); cycle++) {
            run.fault("Redis restarted empty");
            redis.restart();
            run.awaitGrants(load, 30, Await.seconds(30));
        }
        Checkers.Report report = run.finish(load);
        // the queues are gone with the data: their places are CANCELLED (backend), never granted, never left unanswered
        assertThat(report.ok()).as(report.summary()).isTrue();
        assertEveryQueuedRequestAnswered(report);
        assertQueued(run);
    }

    @Test
    void grantMessagesLost() {
        ScenarioRun run = new ScenarioRun("queue-pubsub-client-kill");
        Workload load = startWorkload(run, queueing(run.history()));
        for (int cycle = 0; cycle < FaultProfile.cycles(10, 200); cycle++) {
            run.fault("CLIENT KILL TYPE pubsub");
            redis.command("CLIENT", "KILL", "TYPE", "pubsub");
            run.awaitGrants(load, 5, Await.seconds(30));
        }
        Checkers.Report report = run.finish(load);
        assertThat(report.ok()).as(report.summary()).isTrue();
        // a grant whose message was lost is found by the grantee's node at its next keep-place: answered, and not late
        assertThat(report.lateRetries()).isZero();
        assertEveryQueuedRequestAnswered(report);
        assertNoLateGrants(report);
        assertQueued(run);
    }

    /**
     * Negative control for {@value Checkers#FIFO}: the queue is broken on purpose, from outside
     * the server. Every few milliseconds a script reverses the order of the hot lock's queue in
     * Redis (the places' scores mirrored, so the last queued is the head); the server's scripts
     * then hand the lock over in that order. The clients record only what they see, as in every
     * other run. The FIFO checker must find requests granted after later ones; nothing else is
     * broken (exclusion, tokens, leaving), so the other checkers must still pass.
     */
    @Test
    void withTheQueueReversedFifoIsFound() {
        ScenarioRun run = new ScenarioRun("control-queue-reversed");
        Workload load = startWorkload(run, Workload.builder(run.history()).queue().clients(6).locks(List.of("hot")));
        String reverse = "local m = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES') "
                + "if #m < 4 then return 0 end "
                + "local lo, hi = tonumber(m[2]), tonumber(m[#m]) "
                + "for i = 1, #m, 2 do redis.call('ZADD', KEYS[1], lo + hi - tonumber(m[i + 1]), m[i]) end "
                + "return #m / 2";
        AtomicBoolean reversing = new AtomicBoolean(true);
        AtomicLong reversals = new AtomicLong();
        Thread saboteur = new Thread(() -> {
            while (reversing.get()) {
                Object n = redis.command("EVAL", reverse, "1", "distlock:queue:hot");
                if (n instanceof Long count && count > 0) {
                    reversals.incrementAndGet();
                }
                java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
            }
        }, "queue-reverser");
        run.fault("the queue of 'hot' reversed in Redis every 5 ms");
        saboteur.start();
        try {
            run.awaitGrants(load, FaultProfile.cycles(200, 2000), Await.seconds(60));
        } finally {
            reversing.set(false);
            try {
                saboteur.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        run.heal("queue order left alone (" + reversals.get() + " reversals of 2 or more places)");
        Checkers.Report report = run.finish(load);
        assertThat(reversals.get()).isPositive();
        assertThat(report.violations(Checkers.FIFO)).as(report.summary()).isPositive();
        for (String checker : Checkers.ALL) {
            if (!checker.equals(Checkers.FIFO)) {
                assertThat(report.violations(checker)).as(checker + "\n" + report.summary()).isZero();
            }
        }
    }
}
