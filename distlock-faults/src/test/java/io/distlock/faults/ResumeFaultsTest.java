package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Sessions across a dropped connection (protocol version 2, {@code grace} and {@code resume}) with
 * whole server processes: one Redis primary, three nodes (JVMs of their own), a scripted browser
 * ({@link SessionClient}, process 100) whose session outlives its connection, and queuing
 * browsers ({@link Workload}) that want the same lock all the time, so that any moment the lock
 * is free while the session still holds it is taken at once and shows in the history. The
 * checkers, {@value Checkers#NO_SILENT_GAP} included, must pass: a resumed session's grant
 * continues, with the same token, without a gap nobody was told of.
 */
class ResumeFaultsTest {

    static final Duration LEASE = Duration.ofSeconds(2);
    static final String DOC = "doc";
    static final int HOLDER = 100;

    private RedisProcess redis;
    private Nodes nodes;
    private Workload workload;
    private Duration lease = LEASE;
    private final List<SessionClient> clients = new ArrayList<>();

    @BeforeEach
    void start() {
        redis = RedisProcess.start();
        nodes = Nodes.standalone(redis, 3, LEASE, "--ping-ms", "500");
    }

    @AfterEach
    void stop() {
        try {
            clients.forEach(SessionClient::close);
            for (Object key : (List<?>) redis.command("KEYS", "distlock:session:*")) {
                System.out.println("[faults] after the clients closed: " + key + " " + redis.command("HGETALL", String.valueOf(key)) + " pttl=" + redis.command("PTTL", String.valueOf(key)));
            }
            if (workload != null || !clients.isEmpty()) {
                if (workload != null) {
                    workload.close();
                }
                Leaks.assertNothingLeft(redis, lease, nodes.size());
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

    /** Starts the nodes again with another lease, for a scenario whose bound needs it. */
    private void restartNodesWithLease(Duration other) {
        nodes.close();
        lease = other;
        nodes = Nodes.standalone(redis, 3, other, "--ping-ms", "500");
    }

    private SessionClient client(ScenarioRun run, int process) {
        SessionClient c = new SessionClient(run.history(), process, nodes.clientUris());
        clients.add(c);
        return c;
    }

    /**
     * Four queuing browsers on {@link #DOC} and one other lock: the lock is wanted whenever it is free; a fifth
     * of their cycles ask for both at once ({@code mlock}, never queued), which must not take {@link #DOC} from
     * the session either.
     */
    private Workload contenders(ScenarioRun run) {
        workload = Workload.builder(run.history()).nodes(nodes.clientUris()).queue().clients(4)
                .locks(List.of(DOC, "other")).multiLocks(StandaloneFaultsTest.MULTI_LOCKS).hold(Duration.ofMillis(5), Duration.ofMillis(20))
                .retryTimeout(Duration.ofSeconds(60)).build();
        workload.start();
        run.awaitGrants(workload, 20, Await.seconds(30));
        return workload;
    }

    /** The holder takes {@link #DOC} (queued behind the contenders) and writes under it. */
    private long take(SessionClient holder) {
        long token = holder.acquire(DOC, Await.seconds(30));
        workload.registers().get(DOC).write(holder.process(), token);
        return token;
    }

    /**
     * After a resume: the answer lists {@link #DOC} with the token it was granted; the grant goes
     * on (writes with that token are accepted, nobody else gets the lock meanwhile), and the unlock
     * finds it the session's.
     */
    private void continueAndRelease(ScenarioRun run, SessionClient holder, JsonNode resumed, long token, Duration holdOn) {
        assertThat(resumed.path("status").asText()).as(resumed.toString()).isEqualTo("OK");
        assertThat(resumed.path("locks").path(DOC).path("token").asLong()).as(resumed.toString()).isEqualTo(token);
        FencedRegister register = workload.registers().get(DOC);
        register.write(holder.process(), token);
        ScenarioRun.lasting(holdOn); // the grant's own length: contenders queue meanwhile
        register.write(holder.process(), token);
        assertThat(register.highest()).isEqualTo(token);
        JsonNode unlocked = holder.unlock(DOC);
        assertThat(unlocked.path("status").asText()).as(unlocked.toString()).isEqualTo("OK");
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }

    private static void assertAllCheckersPass(Checkers.Report report) {
        assertThat(report.ok()).as(report.summary()).isTrue();
        QueueFaultsTest.assertEveryQueuedRequestAnswered(report); // the contenders queue
    }

    /**
     * Drop and resume, {@code cycles} times: the holder's connection is cut (an abort, no close
     * frame) for longer than the lease (so its lease must be renewed while it is detached), then it
     * resumes on {@code resumeNode.apply(cycle)}.
     */
    private void dropAndResume(String name, java.util.function.IntUnaryOperator resumeNode) {
        ScenarioRun run = new ScenarioRun(name);
        Workload load = contenders(run);
        SessionClient holder = client(run, HOLDER);
        Duration cut = LEASE.multipliedBy(3).dividedBy(2);
        long grace = cut.multipliedBy(3).toMillis();
        holder.connect(0, grace);
        List<Long> resumeMillis = new ArrayList<>();
        for (int cycle = 0; cycle < FaultProfile.cycles(2, 20); cycle++) {
            long token = take(holder);
            int from = holder.connection().node;
            int to = resumeNode.applyAsInt(cycle);
            run.fault("p" + HOLDER + "'s connection to node " + from + " cut for " + cut.toMillis() + " ms (grace " + grace + " ms)");
            holder.drop("cut by the test");
            ScenarioRun.lasting(cut);
            long asked = System.nanoTime();
            JsonNode resumed = holder.resume(to);
            resumeMillis.add(millisSince(asked));
            run.heal("p" + HOLDER + " resumed on node " + to);
            continueAndRelease(run, holder, resumed, token, Duration.ofMillis(300));
            run.awaitGrants(load, 5, Await.seconds(30));
        }
        run.progress("resume answered in ms: " + resumeMillis);
        Checkers.Report report = run.finish(load);
        assertAllCheckersPass(report);
        assertThat(run.history().count(History.Op.RESUME, History.Kind.OK)).isEqualTo(FaultProfile.cycles(2, 20));
    }

    @Test
    void dropAndResumeOnTheSameNode() {
        dropAndResume("resume-same-node", cycle -> 0);
    }

    @Test
    void dropAndResumeOnAnotherNode() {
        dropAndResume("resume-other-node", cycle -> 1 + cycle % 2);
    }

    /**
     * The holder's node is killed (-9) while the holder holds the lock: its connection ends, nobody
     * renews the lease any more, and the session is resumed on another node before the lease runs
     * out. The session and its grant move, with the same token.
     */
    @Test
    void resumeOnAnotherNodeAfterTheHoldingNodeWasKilled() {
        ScenarioRun run = new ScenarioRun("resume-after-node-kill");
        Workload load = contenders(run);
        SessionClient holder = client(run, HOLDER);
        List<Long> killToResumed = new ArrayList<>();
        for (int cycle = 0; cycle < FaultProfile.cycles(2, 10); cycle++) {
            int victim = cycle % nodes.size();
            int to = (victim + 1) % nodes.size();
            holder.connect(victim, Duration.ofSeconds(30).toMillis());
            long token = take(holder);
            SessionClient.Conn old = holder.connection();
            long killed = System.nanoTime();
            run.nodeFault("kill -9 node " + victim + ", which holds p" + HOLDER + "'s session", victim);
            nodes.node(victim).kill();
            old.awaitClose(Await.seconds(10));
            JsonNode resumed = holder.resume(to);
            killToResumed.add(millisSince(killed));
            run.heal("p" + HOLDER + " resumed on node " + to);
            continueAndRelease(run, holder, resumed, token, Duration.ofMillis(300));
            holder.closeSession();
            nodes.restart(victim);
            run.heal("node " + victim + " restarted");
            run.awaitGrants(load, 5, Await.seconds(30));
        }
        run.progress("kill -9 to resumed, ms: " + killToResumed);
        Checkers.Report report = run.finish(load);
        assertAllCheckersPass(report);
        // within the lease: after it, the lock would be free and the resume could not list it
        assertThat(killToResumed).allSatisfy(ms -> assertThat(ms).isLessThan(LEASE.toMillis()));
    }

    /**
     * Nobody resumes within the grace: the session is closed as by {@code close}. Its locks are
     * released then (not before) and the waiters are told: a queued waiter is pushed
     * {@code GRANTED}, a version 1 waiter (who was answered {@code WAIT}) {@code RETRY}. A resume
     * after that is {@code SESSION_EXPIRED}, on any node.
     */
    @Test
    void afterTheGraceTheLocksAreReleasedAndWaitersTold() {
        ScenarioRun run = new ScenarioRun("resume-after-grace");
        long grace = 1500;
        // A lease of 6 s, renewed every sixth of it through the grace: a lock the grace's end did not release would
        // be free 5 s or more after the grace, well past the bound below (with 2 s, 1.7 s: inside the measured spread)
        restartNodesWithLease(Duration.ofSeconds(6));
        List<Long> grantedAfter = new ArrayList<>();
        List<Long> retryAfter = new ArrayList<>();
        for (int cycle = 0; cycle < FaultProfile.cycles(2, 10); cycle++) {
            int node = cycle % nodes.size();
            String queuedLock = "grace-q-" + cycle;
            String v1Lock = "grace-v1-" + cycle;
            SessionClient holder = client(run, HOLDER + cycle);
            holder.connect(node, grace);
            assertThat(holder.lockNow(queuedLock).path("status").asText()).isEqualTo("LOCKED");
            assertThat(holder.lockNow(v1Lock).path("status").asText()).isEqualTo("LOCKED");
            SessionClient queued = client(run, 200 + cycle);
            queued.connect((node + 1) % nodes.size(), 0);
            assertThat(queued.lockQueued(queuedLock).path("status").asText()).isEqualTo("QUEUED");
            SessionClient v1 = client(run, 300 + cycle);
            v1.connectV1((node + 2) % nodes.size());
            assertThat(v1.lockNow(v1Lock).path("status").asText()).isEqualTo("WAIT");

            run.fault("p" + holder.process() + "'s connection to node " + node + " cut; nobody resumes it (grace " + grace + " ms)");
            long dropped = System.nanoTime();
            holder.drop("cut by the test, for good");
            JsonNode granted = queued.awaitPush("GRANTED", queuedLock, Await.seconds(30));
            grantedAfter.add((granted.path(SessionClient.ARRIVED).asLong() - dropped) / 1_000_000);
            JsonNode retry = v1.awaitPush("RETRY", v1Lock, Await.seconds(30));
            retryAfter.add((retry.path(SessionClient.ARRIVED).asLong() - dropped) / 1_000_000);
            assertThat(v1.lockNow(v1Lock).path("status").asText()).isEqualTo("LOCKED");

            for (int n = 0; n < nodes.size(); n++) {
                JsonNode refused = holder.resume(n);
                assertThat(refused.path("status").asText()).as(refused.toString()).isEqualTo("FAIL");
                assertThat(refused.path("code").asText()).isEqualTo("SESSION_EXPIRED");
            }
            queued.unlock(queuedLock);
            v1.unlock(v1Lock);
        }
        run.progress("drop to GRANTED, ms: " + grantedAfter + "; drop to RETRY, ms: " + retryAfter);
        grantedAfter.forEach(ms -> run.releaseTime(Duration.ofMillis(ms)));
        retryAfter.forEach(ms -> run.releaseTime(Duration.ofMillis(ms)));
        Checkers.Report report = run.finish(null);
        assertAllCheckersPass(report);
        // not before the grace is over (the session's locks are kept for it), and soon after it: released by the grace's
        // end (worst measured 1,842 ms after the grace, the drop's detection included), not by the lease running out
        assertThat(grantedAfter).allSatisfy(ms -> assertThat(ms).isBetween(grace, grace + 2500));
        assertThat(retryAfter).allSatisfy(ms -> assertThat(ms).isBetween(grace, grace + 2500));
    }

    /**
     * A resume races the old connection's close: (a) the old connection is still open and the
     * session is resumed on a new one (the old one is closed by the server, 1000); (b) the old
     * connection is aborted and the resume sent at once on a connection opened before, so that the
     * old connection's end (which detaches a session) and the resume meet. Either way the session
     * must stay with the new connection: it holds on for longer than its grace afterwards (a
     * session the old close detached or closed would lose the lock by then, and the contenders
     * would get it), and its unlock finds the lock its own.
     */
    @Test
    void aResumeRacingTheOldConnectionsClose() {
        ScenarioRun run = new ScenarioRun("resume-races-old-close");
        Workload load = contenders(run);
        SessionClient holder = client(run, HOLDER);
        long grace = 1000;
        holder.connect(0, grace);
        for (int cycle = 0; cycle < FaultProfile.cycles(4, 20); cycle++) {
            long token = take(holder);
            SessionClient.Conn old = holder.connection();
            int to = cycle % 2 == 0 ? (old.node + 1) % nodes.size() : old.node;
            JsonNode resumed;
            if (cycle % 4 < 2) {
                run.fault("p" + HOLDER + " resumes on node " + to + " while its connection to node " + old.node + " is open");
                holder.abandon(old, "left open, resumed elsewhere");
                resumed = holder.resume(to);
                assertThat(old.awaitClose(Await.seconds(10))).isEqualTo(1000);
            } else {
                run.fault("p" + HOLDER + "'s connection to node " + old.node + " aborted as the resume goes to node " + to);
                SessionClient.Conn fresh = holder.open(to);
                holder.abandon(old, "aborted by the test");
                old.ws.abort();
                resumed = holder.resumeOn(holder.sessionId(), holder.secret());
                assertThat(holder.connection()).isSameAs(fresh);
            }
            run.heal("p" + HOLDER + " resumed on node " + to);
            continueAndRelease(run, holder, resumed, token, Duration.ofMillis(grace * 2));
            assertThat(holder.ping().path("status").asText()).isEqualTo("OK");
            assertThat(holder.connection().isClosed()).isFalse();
        }
        Checkers.Report report = run.finish(load);
        assertAllCheckersPass(report);
    }

    /**
     * The same race, with the old node frozen (SIGSTOP) while the session is resumed elsewhere,
     * its lock unlocked and the session closed there; then the old node runs again, and finds
     * the old connection ended (a detach) and the adoption message, in either order. The closed
     * session must stay closed: no record of it comes back, and the secret spent by the resume
     * is refused on every node. (Before the fix, a probe of this race found that the old node's
     * detach wrote the record again, with the spent secret's hash, and that a replay of that
     * secret resumed the closed session: 3 times in 7 tries. This scenario did not reproduce it
     * in more than 50 cycles before the fix, the order of the two events on the old node being
     * the scheduler's; {@code ResumeTest.aDetachNeverBringsBackARecordThatEndedOrExpired} in the
     * core reproduces the cause every time.)
     */
    @Test
    void aResumeWhileTheOldNodeIsFrozenThenClosedStaysClosed() {
        ScenarioRun run = new ScenarioRun("resume-old-node-frozen");
        SessionClient holder = client(run, HOLDER);
        int refused = 0;
        for (int cycle = 0; cycle < FaultProfile.cycles(8, 30); cycle++) {
            int frozen = 0; // node 0 frozen, the session resumed on node 1: as in the probe that found the defect
            int to = 1;
            String lock = "frozen-" + cycle;
            holder.connect(frozen, 30_000);
            long token = holder.lockNow(lock).path("token").asLong();
            assertThat(token).isPositive();
            String spent = holder.secret();
            String id = holder.sessionId();
            SessionClient.Conn old = holder.connection();
            run.fault("SIGSTOP node " + frozen + "; p" + HOLDER + " resumes on node " + to + ", unlocks and closes there");
            nodes.node(frozen).pause();
            try {
                holder.abandon(old, "aborted by the test, its node frozen");
                old.ws.abort();
                JsonNode resumed = holder.resume(to);
                assertThat(resumed.path("status").asText()).as(resumed.toString()).isEqualTo("OK");
                // A LOCKED waits for the registry write that lists the lock (41e6c95), so the adopting node
                // knows it: it is left out only if its renewal by the adopting node failed, which a healthy
                // Redis and a freeze far shorter than the lease do not cause. Unlisted is a lost lock.
                assertThat(resumed.path("locks").has(lock)).as("the lock taken before the freeze is listed: " + resumed).isTrue();
                assertThat(resumed.path("locks").path(lock).path("token").asLong()).as(resumed.toString()).isEqualTo(token);
                assertThat(holder.unlock(lock).path("status").asText()).isEqualTo("OK");
                holder.closeSession(); // at once: the old node is still frozen
            } finally {
                nodes.node(frozen).resume();
            }
            run.heal("SIGCONT node " + frozen);
            // the old node sees the connection's end and the adoption, in either order: nothing may bring the session back
            Awaitility.await("no record of the closed session").during(Duration.ofSeconds(1)).atMost(Await.seconds(10))
                    .pollInterval(Duration.ofMillis(20)).until(() -> redis.command("EXISTS", "distlock:session:" + id).equals(0L));
            for (int n = 0; n < nodes.size(); n++) {
                SessionClient thief = client(run, 500 + cycle * nodes.size() + n);
                thief.open(n);
                JsonNode replay = thief.resumeOn(id, spent);
                assertThat(replay.path("code").asText()).as(replay.toString()).isEqualTo("SESSION_EXPIRED");
                refused++;
                thief.close();
            }
        }
        run.progress(refused + " replays of spent secrets refused");
        Checkers.Report report = run.finish(null);
        assertAllCheckersPass(report);
    }

    /**
     * A secret stolen before a successful resume is spent: replayed after it, on the node that has
     * the session now or on another, it gets {@code FAIL SESSION_EXPIRED} and changes nothing. The
     * session keeps its connection (no close, a ping answered), its lock and its token; the new
     * secret still resumes it.
     */
    @Test
    void aStolenSecretReplayedAfterASuccessfulResumeIsRefused() {
        ScenarioRun run = new ScenarioRun("resume-stolen-secret");
        Workload load = contenders(run);
        SessionClient holder = client(run, HOLDER);
        holder.connect(0, 10_000);
        for (int cycle = 0; cycle < FaultProfile.cycles(2, 10); cycle++) {
            long token = take(holder);
            String stolen = holder.secret();
            int to = (holder.connection().node + 1) % nodes.size();
            holder.drop("cut by the test");
            JsonNode resumed = holder.resume(to);
            assertThat(resumed.path("status").asText()).as(resumed.toString()).isEqualTo("OK");
            assertThat(resumed.path("resume").asText()).isNotEqualTo(stolen);
            SessionClient.Conn current = holder.connection();

            for (int n = 0; n < nodes.size(); n++) {
                SessionClient thief = client(run, 400 + cycle * nodes.size() + n);
                thief.open(n);
                run.fault("p" + thief.process() + " replays p" + HOLDER + "'s spent secret on node " + n);
                JsonNode replay = thief.resumeOn(holder.sessionId(), stolen);
                assertThat(replay.path("status").asText()).as(replay.toString()).isEqualTo("FAIL");
                assertThat(replay.path("code").asText()).isEqualTo("SESSION_EXPIRED");
                // the thief's connection has no session (a ping needs one)
                assertThat(thief.ping().path("status").asText()).isEqualTo("FAIL");
                thief.close();
            }
            assertThat(holder.ping().path("status").asText()).isEqualTo("OK");
            assertThat(current.isClosed()).isFalse();
            continueAndRelease(run, holder, resumed, token, Duration.ofMillis(300));

            // the new secret still works, the stolen one did not spend it
            long again = take(holder);
            holder.drop("cut by the test");
            JsonNode second = holder.resume(to);
            continueAndRelease(run, holder, second, again, Duration.ofMillis(100));
        }
        Checkers.Report report = run.finish(load);
        assertAllCheckersPass(report);
    }

    /**
     * Negative control for {@value Checkers#NO_SILENT_GAP}: the server is broken on purpose, from
     * outside. While the holder's session is detached, its lock's key is deleted in Redis (a
     * server that let go of a detached session's lock without telling anyone would look the
     * same); the contenders' nodes find the lock free and grant it. The holder is told nothing
     * until it resumes. The checker must report the gap.
     */
    @Test
    void withTheDetachedLockDeletedTheGapIsFound() {
        ScenarioRun run = new ScenarioRun("control-detached-lock-deleted");
        Workload load = contenders(run);
        SessionClient holder = client(run, HOLDER);
        holder.connect(0, 30_000);
        take(holder);
        holder.drop("cut by the test");
        long grants = load.grants();
        run.fault("DEL distlock:lock:" + DOC + " while p" + HOLDER + "'s session is detached");
        redis.command("DEL", "distlock:lock:" + DOC);
        Awaitility.await("the contenders get the deleted lock").atMost(Await.seconds(30)).pollInterval(Duration.ofMillis(20))
                .until(() -> load.grants() > grants + 3);
        JsonNode resumed = holder.resume(1);
        run.progress("resume after the deletion: " + resumed);
        Checkers.Report report = run.finish(load);
        assertThat(report.violations(Checkers.NO_SILENT_GAP)).as(report.summary()).isPositive();
        assertThat(report.violations(Checkers.NO_OVERLAP)).as(report.summary()).isZero();
    }
}
