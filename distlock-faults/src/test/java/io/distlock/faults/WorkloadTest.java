package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import io.distlock.server.NodeProcess;
import io.distlock.faults.History.Event;
import io.distlock.faults.History.Kind;
import io.distlock.faults.History.Op;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The workload against the real thing: one Redis, two server nodes in JVMs of their own, six
 * simulated browsers on two hot locks. Without faults the checkers must pass; with a node killed
 * mid-run they must still pass, and its browsers must carry on through the other node.
 */
class WorkloadTest {

    private static final int CLIENTS = 6;

    private final History history = new History();
    private final List<NodeProcess> nodes = new ArrayList<>();
    private final List<RedisProcess> redises = new ArrayList<>();
    private Workload workload;
    private String testName;

    @BeforeEach
    void name(TestInfo info) {
        testName = info.getTestMethod().orElseThrow().getName();
    }

    /** One node per Redis given (the same one twice for a healthy cluster), then the workload over them. */
    private void start(boolean fencing, RedisProcess... redisOfNode) {
        start(Workload.builder(history).fencing(fencing), redisOfNode);
    }

    private void start(Workload.Builder builder, RedisProcess... redisOfNode) {
        // the JVMs start at the same time, then we wait for each
        for (RedisProcess redis : redisOfNode) {
            nodes.add(NodeProcess.fromClasspath("--port", "0", "--host", "127.0.0.1", "--redis", redis.url(), "--lease-ms", "3000"));
        }
        nodes.forEach(NodeProcess::awaitStarted);
        workload = builder
                .nodes(nodes.stream().map(NodeProcess::webSocketUri).toList())
                .clients(CLIENTS)
                .seed(42)
                .build();
        workload.start();
    }

    private RedisProcess redis() {
        RedisProcess redis = RedisProcess.start();
        redises.add(redis);
        return redis;
    }

    @AfterEach
    void closeEverything() throws Exception {
        if (workload != null) {
            workload.close();
        }
        nodes.forEach(NodeProcess::close);
        redises.forEach(RedisProcess::close);
        // the history of every run is kept for a look afterwards
        Path results = Path.of(System.getProperty("distlock.faults.results", "target/fault-results"));
        Files.createDirectories(results);
        history.save(results.resolve("WorkloadTest-" + testName + ".jsonl"));
    }

    @Test
    void withoutFaultsEveryCheckerPasses() {
        RedisProcess redis = redis();
        start(true, redis, redis);
        await().atMost(Await.seconds(10)).until(() -> IntStream.range(0, CLIENTS).map(workload::nodeOf).distinct().count() == 2);
        await().atMost(Await.seconds(20)).until(() -> workload.grants() >= 300);
        workload.stop(Duration.ofSeconds(5));

        Checkers.Report report = Checkers.check(history);
        System.out.println(testName + ": " + report.summary() + counts());

        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(report.grants()).isGreaterThan(50);
        assertThat(waits()).isPositive();
        assertThat(history.count(Op.RETRY, Kind.OK)).isPositive();
        assertThat(report.writesAccepted()).isPositive();
        assertThat(report.increments()).isPositive();
        // every connection was closed by stop(), and by nothing else
        assertThat(history.count(Op.DISCONNECT, Kind.OK)).isEqualTo(CLIENTS);
        assertThat(history.count(Op.DISCONNECT, Kind.INFO)).isZero();
    }

    @Test
    void killingANodeKeepsExclusionAndItsBrowsersMoveToTheOther() {
        RedisProcess redis = redis();
        start(true, redis, redis);
        await().atMost(Await.seconds(20)).until(() -> workload.grants() >= 50);

        history.fault("kill node 0");
        nodes.get(0).kill();
        long before = workload.grants();
        await().atMost(Await.seconds(20)).until(() -> workload.grants() >= before + 30);
        await().atMost(Await.seconds(10)).until(() -> IntStream.range(0, CLIENTS).allMatch(p -> workload.nodeOf(p) == 1));
        workload.stop(Duration.ofSeconds(5));

        Checkers.Report report = Checkers.check(history);
        System.out.println(testName + ": " + report.summary() + counts());

        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(history.count(Op.DISCONNECT, Kind.INFO)).as("connections lost with node 0").isPositive();
        assertThat(history.count(Op.CONNECT, Kind.OK)).as("reconnections").isGreaterThan(CLIENTS);
    }

    /**
     * Protocol version 2 clients that queue, a third of them readers, some cancelling, some with
     * short timeouts: every checker passes, and every kind of event the checkers judge happened.
     */
    @Test
    void queuedSharedAndLeavingClientsPassEveryChecker() {
        RedisProcess redis = redis();
        // no closes while queued until the endpoint's fix (QueueFaultsTest.closingWhileQueued)
        start(Workload.builder(history).queue().shared(0.3).cancels(0.1)
                .timeouts(0.2, Duration.ofMillis(5), Duration.ofMillis(60)), redis, redis);
        await().atMost(Await.seconds(30)).until(() -> workload.grants() >= 400);
        workload.stop(Duration.ofSeconds(5));

        Checkers.Report report = Checkers.check(history);
        System.out.println(testName + ": " + report.summary() + counts());

        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(history.count(Op.QUEUED, Kind.OK)).as("queued").isPositive();
        assertThat(count(Op.LOCK, Kind.OK, "GRANTED")).as("GRANTED").isPositive();
        assertThat(count(Op.LOCK, Kind.OK, "GRANTED mode=shared")).as("shared GRANTED").isPositive();
        assertThat(count(Op.CANCEL, Kind.OK, "")).as("cancelled").isPositive();
        assertThat(count(Op.CANCELLED, Kind.OK, "reason=timeout")).as("timed out").isPositive();
        assertThat(history.count(Op.READ, Kind.OK)).as("reads").isPositive();
        assertThat(report.increments()).isPositive();
        assertThat(report.lateRetries()).isZero();
        assertThat(report.lateGrants()).as(report.summary()).isZero();
        assertThat(report.missingGrants()).as(report.summary()).isZero();
        assertThat(waits()).as("no WAIT for queued requests").isZero();
        Leaks.assertNothingLeft(redis, Duration.ofSeconds(3), 2);
    }

    /**
     * Multi-locks (version 1): a third of the cycles take 2 or 3 of three hot locks with {@code mlock}
     * and give them back with {@code munlock}, against single locks of the same names. Every checker
     * passes, and mlock grants, mlock waits told by RETRY, munlocks and single grants all happened.
     */
    @Test
    void multiLocksContendWithSingleLocksAndPassEveryChecker() {
        RedisProcess redis = redis();
        start(Workload.builder(history).locks(List.of("hot-1", "hot-2", "hot-3")).multiLocks(0.3), redis, redis);
        await().atMost(Await.seconds(30)).until(() -> workload.grants() >= 400);
        workload.stop(Duration.ofSeconds(5));

        Checkers.Report report = Checkers.check(history);
        System.out.println(testName + ": " + report.summary() + counts() + multiCounts());

        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(count(Op.LOCK, Kind.OK, "mlock ")).as("mlock grants").isPositive();
        assertThat(count(Op.LOCK, Kind.OK, "null")).as("single grants").isPositive();
        assertThat(count(Op.LOCK, Kind.FAIL, "WAIT holder=")).as("waits").isPositive();
        assertThat(history.events().stream().filter(e -> e.op() == Op.LOCK && e.kind() == Kind.FAIL
                && e.detail().startsWith("WAIT") && e.detail().endsWith(" mlock")).count()).as("mlock waits").isPositive();
        assertThat(count(Op.UNLOCK, Kind.OK, "munlock")).as("munlocks").isPositive();
        assertThat(count(Op.UNLOCK, Kind.FAIL, "")).as("failed unlocks").isZero();
        assertThat(report.lateRetries()).isZero();
        Leaks.assertNothingLeft(redis, Duration.ofSeconds(3), 2);
    }

    /** The same with clients that queue (version 2): an mlock is never queued, a third of them shared. */
    @Test
    void multiLocksBesideQueuedClientsPassEveryChecker() {
        RedisProcess redis = redis();
        start(Workload.builder(history).queue().shared(0.3).cancels(0.1).locks(List.of("hot-1", "hot-2", "hot-3"))
                .multiLocks(0.3), redis, redis);
        await().atMost(Await.seconds(30)).until(() -> workload.grants() >= 400);
        workload.stop(Duration.ofSeconds(5));

        Checkers.Report report = Checkers.check(history);
        System.out.println(testName + ": " + report.summary() + counts() + multiCounts());

        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(count(Op.LOCK, Kind.OK, "mlock ")).as("mlock grants").isPositive();
        assertThat(history.events().stream().filter(e -> e.op() == Op.LOCK && e.kind() == Kind.OK
                && e.detail() != null && e.detail().startsWith("mlock ") && e.detail().endsWith("mode=shared")).count())
                .as("shared mlock grants").isPositive();
        assertThat(count(Op.LOCK, Kind.OK, "GRANTED")).as("queued grants").isPositive();
        assertThat(count(Op.UNLOCK, Kind.OK, "munlock")).as("munlocks").isPositive();
        assertThat(report.missingGrants()).as(report.summary()).isZero();
        Leaks.assertNothingLeft(redis, Duration.ofSeconds(3), 2);
    }

    private String multiCounts() {
        return String.format(" mlock grants=%d mlock waits=%d munlocks=%d munlock fails=%d",
                count(Op.LOCK, Kind.OK, "mlock "), history.events().stream().filter(e -> e.op() == Op.LOCK && e.kind() == Kind.FAIL
                        && String.valueOf(e.detail()).startsWith("WAIT") && e.detail().endsWith(" mlock")).count(),
                count(Op.UNLOCK, Kind.OK, "munlock"), count(Op.UNLOCK, Kind.FAIL, "code=") );
    }

    /**
     * The negative control of RETRY INFO {@code missing}, on a real node: holds of 3.5 s on one lock,
     * a wait late after 1 s and missing after 2 s. A wait that begins with more than 2 s of the hold
     * left is never told in time (missing: the client asks again); one that begins later is told
     * late. The late waits open when the workload stops are waited out, each to its RETRY or to missing.
     */
    @Test
    void aRetryThatDoesNotComeByTheDeadlinesIsLateThenMissing() {
        RedisProcess redis = redis();
        start(Workload.builder(history).locks(List.of("hot")).hold(Duration.ofMillis(3500), Duration.ofMillis(3500))
                .retryTimeout(Duration.ofSeconds(1)).retryMissing(Duration.ofSeconds(2)), redis);
        await().atMost(Await.seconds(30)).until(() -> count(Op.RETRY, Kind.INFO, "missing") > 0 && lateWaits(true) > 0);
        workload.stop(Duration.ofSeconds(1));

        Checkers.Report report = Checkers.check(history);
        System.out.println(testName + ": " + report.summary() + counts());

        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(report.missingRetries()).as(report.summary()).isPositive().isEqualTo(count(Op.RETRY, Kind.INFO, "missing"));
        assertThat(report.lateRetries()).as(report.summary()).isEqualTo(count(Op.RETRY, Kind.INFO, "late"))
                .isEqualTo(report.missingRetries() + lateWaits(true));
        assertThat(lateWaits(false)).as("late waits neither told nor missing").isZero();
    }

    /**
     * The same for queued requests: holds of 3.5 s on one lock, a queued wait late after 1 s and
     * missing after 2 s. A request queued with more than 2 s of the hold (and of those ahead) left
     * is never answered in time (missing: the client cancels); one granted between 1 and 2 s is a
     * late grant, counted apart. Every late wait is judged, those open when the workload stops too.
     */
    @Test
    void aGrantThatDoesNotComeByTheDeadlinesIsLateThenMissing() {
        RedisProcess redis = redis();
        start(Workload.builder(history).queue().locks(List.of("hot")).hold(Duration.ofMillis(3500), Duration.ofMillis(3500))
                .retryTimeout(Duration.ofSeconds(1)).retryMissing(Duration.ofSeconds(2)), redis);
        await().atMost(Await.seconds(60)).until(() -> count(Op.QUEUED, Kind.INFO, "missing") > 0 && lateGrants() > 0);
        workload.stop(Duration.ofSeconds(1));

        Checkers.Report report = Checkers.check(history);
        System.out.println(testName + ": " + report.summary() + counts());

        assertThat(report.ok()).as(report.summary()).isTrue();
        assertThat(report.missingGrants()).as(report.summary()).isPositive();
        assertThat(report.lateGrants()).as(report.summary()).isPositive();
        // every late wait judged: answered late, or missing (a missing one may still be granted after its cancel: late then)
        assertThat(report.lateGrants() + report.missingGrants()).as(report.summary()).isEqualTo(count(Op.QUEUED, Kind.INFO, "late"));
        assertThat(report.lateRetries()).isZero();
        assertThat(waits()).as("no WAIT for queued requests").isZero();
    }

    /** Queued waits that were late (QUEUED INFO late) and then granted: the process's next event of that lock is its GRANTED. */
    private long lateGrants() {
        java.util.Set<Integer> late = new java.util.HashSet<>();
        long n = 0;
        for (Event e : history.events()) {
            if (e.op() == Op.QUEUED && e.kind() == Kind.INFO) {
                if ("late".equals(e.detail())) {
                    late.add(e.process());
                } else {
                    late.remove(e.process());
                }
            } else if (e.op() == Op.LOCK && e.kind() == Kind.OK && late.remove(e.process())) {
                n++;
            } else if (e.op() == Op.LOCK && e.kind() == Kind.INVOKE) {
                late.remove(e.process());
            }
        }
        return n;
    }

    /** Late waits (RETRY INFO late) that ended with their RETRY ({@code told}), or that ended neither so nor missing. */
    private long lateWaits(boolean told) {
        java.util.Map<Integer, Boolean> open = new java.util.HashMap<>();
        long n = 0;
        for (Event e : history.events()) {
            if (e.op() != Op.RETRY) {
                continue;
            }
            if (e.kind() == Kind.INFO && "late".equals(e.detail())) {
                open.put(e.process(), true);
            } else if (open.remove(e.process()) != null && told && e.kind() == Kind.OK) {
                n++;
            }
        }
        return told ? n : open.size();
    }

    private long count(Op op, Kind kind, String detailPrefix) {
        return history.events().stream()
                .filter(e -> e.op() == op && e.kind() == kind && String.valueOf(e.detail()).startsWith(detailPrefix)).count();
    }

    /**
     * The negative control: each node on a Redis of its own is a split brain, two holders at
     * once. The checkers must see it, and without fencing the register takes stale writes.
     */
    @Test
    void aSplitBrainIsFoundByTheCheckers() {
        start(false, redis(), redis());
        await().atMost(Await.seconds(20)).until(() -> workload.grants() >= 300);
        workload.stop(Duration.ofSeconds(5));

        Checkers.Report report = Checkers.check(history);
        System.out.println(testName + ": " + report.summary() + counts());

        assertThat(report.violations(Checkers.NO_OVERLAP)).as(report.summary()).isPositive();
        assertThat(report.violations(Checkers.FENCED_REGISTER)).as(report.summary()).isPositive();
        assertThat(report.writesRejected()).isZero();
    }

    private long waits() {
        return history.events().stream()
                .filter(e -> e.op() == Op.LOCK && e.kind() == Kind.FAIL && e.detail().startsWith("WAIT"))
                .count();
    }

    private String counts() {
        List<Event> events = history.events();
        return String.format("  events=%d waits=%d retries=%d lost=%d disconnects(info)=%d connect fails=%d lock infos=%d",
                events.size(), waits(), history.count(Op.RETRY, Kind.OK), history.count(Op.LOST, Kind.OK),
                history.count(Op.DISCONNECT, Kind.INFO), history.count(Op.CONNECT, Kind.FAIL), history.count(Op.LOCK, Kind.INFO));
    }
}
