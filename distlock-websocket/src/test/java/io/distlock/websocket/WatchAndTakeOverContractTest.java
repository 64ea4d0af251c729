package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.core.LockConfig;
import io.distlock.core.LockListener;
import io.distlock.core.LockMode;
import io.distlock.core.LockResult;
import io.distlock.core.LockService;
import io.distlock.core.LockServiceMetrics;
import io.distlock.core.LockSession;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.websocket.server.ServerEndpointConfig;

/**
 * Protocol version 2, part 3: seeing, watching, asking for and taking over locks ({@code query},
 * {@code watch}, {@code unwatch}, {@code CHANGED}, the lock options {@code steal} and {@code ask},
 * {@code ASKED}, {@code LOST} with {@code reason: "stolen"} and {@code by}), over real WebSocket
 * connections to a real container on a real Redis, once per container by the subclasses. A
 * second node (a lock service with its own Redis client) is served by the same container at
 * {@link #NODE_B}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class WatchAndTakeOverContractTest {

    static final String MAIN = "/distlock/lock";
    static final String HIDDEN = "/hidden";
    /** Its authorizer overrides the four-argument method: allows every operation (steals too) but on {@code forbidden-} names; records what it was asked. */
    static final String JUDGED = "/judged";
    /** Its ticker is {@link #clock}, moved by the test. */
    static final String CLOCK = "/clock";
    /** The second node's endpoint. */
    static final String NODE_B = "/node-b";
    /** The endpoint of a third node, whose {@link LockConfig#watching()} is off. */
    static final String NOT_WATCHING = "/not-watching";
    /** Frames of at most 1 KiB and 16 KiB that may wait for one connection: the smallest allowed. */
    static final String SMALL = "/small";
    static final Duration QUIET = Duration.ofMillis(300);
    private static final AtomicInteger TESTS = new AtomicInteger();

    record Asked(String lock, Authorizer.Operation operation, LockMode mode) { }

    private RedisProcess redis;
    private LockService service;
    private LockService serviceB;
    private LockService notWatching;
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final List<DistLockEndpoints> endpoints = new ArrayList<>();
    private TestServer server;
    private final List<AutoCloseable> opened = new ArrayList<>();
    private final Queue<Asked> asked = new ConcurrentLinkedQueue<>();
    private final AtomicLong clock = new AtomicLong(1_000_000_000L);
    private String prefix;
    /** A short name unique to this test. */
    private int tag;

    abstract TestServer startServer(List<ServerEndpointConfig> configs);

    @BeforeAll
    void startNodes() {
        redis = RedisProcess.start();
        LockConfig config = LockConfig.builder().lease(Duration.ofSeconds(5)).build();
        service = LockService.connect(redis.url(), config);
        serviceB = LockService.connect(redis.url(), config);
        notWatching = LockService.connect(redis.url(), config.toBuilder().watching(false).build());
        new LockServiceMetrics(service).bindTo(meters);
        Authorizer judge = new Authorizer() {
            @Override
            public boolean mayLock(Object principal, String lock) {
                throw new AssertionError("the endpoint asks the four-argument method");
            }

            @Override
            public boolean mayLock(Object principal, String lock, Operation operation, LockMode mode) {
                asked.add(new Asked(lock, operation, mode));
                return !lock.startsWith("forbidden-");
            }
        };
        for (EndpointOptions options : List.of(
                EndpointOptions.defaults(),
                EndpointOptions.builder().path(HIDDEN).hideHolder(true).build(),
                EndpointOptions.builder().path(JUDGED).authorizer(judge).build(),
                EndpointOptions.builder().path(CLOCK).ticker(clock::get).build(),
                EndpointOptions.builder().path(SMALL).maxFrameBytes(1024).maxQueuedBytes(16 * 1024).build())) {
            endpoints.add(DistLockEndpoints.create(service, options));
        }
        endpoints.add(DistLockEndpoints.create(serviceB, EndpointOptions.builder().path(NODE_B).build()));
        endpoints.add(DistLockEndpoints.create(notWatching, EndpointOptions.builder().path(NOT_WATCHING).build()));
        server = startServer(endpoints.stream().map(DistLockEndpoints::config).toList());
    }

    @AfterAll
    void stopNodes() {
        endpoints.forEach(DistLockEndpoints::close);
        for (AutoCloseable c : new AutoCloseable[] {server, service, serviceB, notWatching, redis}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                // best effort
            }
        }
    }

    @BeforeEach
    void name(TestInfo test) {
        tag = TESTS.incrementAndGet();
        prefix = test.getTestMethod().orElseThrow().getName() + "-" + tag;
        asked.clear();
    }

    @AfterEach
    void closeClients() throws Exception {
        for (AutoCloseable c : opened) {
            c.close();
        }
        opened.clear();
    }

    // ---- helpers ----

    String n(String base) {
        return prefix + "-" + base;
    }

    WsClient client(String path) {
        WsClient c = WsClient.open(server.uri(path));
        opened.add(c);
        return c;
    }

    WsClient v2(String name) {
        return v2(MAIN, name);
    }

    WsClient v2(String path, String name, Object... connectFields) {
        WsClient c = client(path);
        List<Object> fields = new ArrayList<>(List.of("action", "connect", "param", n(name), "version", 2));
        fields.addAll(List.of(connectFields));
        c.request("OK", fields.toArray());
        return c;
    }

    WsClient v1(String path, String name) {
        WsClient c = client(path);
        c.request("OK", "action", "connect", "param", n(name));
        return c;
    }

    String holderOf(String lock) {
        LockSession probe = service.openSession("probe", LockListener.NONE);
        try {
            LockResult result = Await.result(probe.lock(lock));
            return result instanceof LockResult.Waiting waiting ? waiting.holder() : null;
        } finally {
            probe.close();
        }
    }

    static void assertFields(JsonNode frame, String... fields) {
        List<String> names = new ArrayList<>();
        frame.fieldNames().forEachRemaining(names::add);
        assertThat(names).as("fields of %s", frame).containsExactly(fields);
    }

    /** The session names of a state's {@code holders} or {@code queue}, in order. */
    static List<String> names(JsonNode entries) {
        List<String> names = new ArrayList<>();
        entries.forEach(e -> names.add(e.path("name").asText()));
        return names;
    }

    /**
     * Skips {@code CHANGED} pushes for {@code lock} until one whose state matches (pushes may be
     * coalesced, and the last state always comes); any other frame fails.
     */
    static JsonNode changedUntil(WsClient c, String lock, Predicate<JsonNode> state) {
        while (true) {
            JsonNode push = c.expectNext("CHANGED");
            assertThat(push.path("lock").asText()).as("lock of %s", push).isEqualTo(lock);
            if (state.test(push.path("state"))) {
                return push;
            }
        }
    }

    static Predicate<JsonNode> holders(String... names) {
        return state -> names(state.path("holders")).equals(List.of(names));
    }

    static Predicate<JsonNode> queue(String... names) {
        return state -> names(state.path("queue")).equals(List.of(names));
    }

    static final Predicate<JsonNode> FREE = state -> state.path("holders").isEmpty() && state.path("queue").isEmpty();

    // ---- query ----

    @Test
    void queryOfAFreeLockIsEmptyHoldersAndQueue() {
        WsClient c = v2("alice");
        JsonNode ok = c.request("OK", "action", "query", "params", List.of(n("free")), "id", 1);
        assertFields(ok, "status", "message", "time", "id", "action", "state");
        assertThat(ok.path("action").asText()).isEqualTo("query");
        assertFields(ok.path("state"), n("free"));
        assertFields(ok.path("state").path(n("free")), "holders", "queue");
        assertThat(ok.path("state").path(n("free")).path("holders").isArray()).isTrue();
        assertThat(FREE.test(ok.path("state").path(n("free")))).isTrue();
        // param works as well as params.
        assertThat(c.request("OK", "action", "query", "param", n("free")).path("state").has(n("free"))).isTrue();
    }

    @Test
    void queryShowsTheHolderWithItsInfoModeAndSince() {
        long before = System.currentTimeMillis();
        WsClient holder = v2(MAIN, "holder", "info", Map.of("name", "Ann", "avatar", "a.png"));
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        WsClient c = v2("curious");
        JsonNode state = c.request("OK", "action", "query", "params", List.of(n("doc"), n("free"))).path("state");
        assertFields(state, n("doc"), n("free"));
        JsonNode entry = state.path(n("doc")).path("holders").get(0);
        assertFields(entry, "name", "info", "mode", "since");
        assertThat(entry.path("name").asText()).isEqualTo(n("holder"));
        assertThat(entry.path("info").isObject()).as("info is the object sent, not a string").isTrue();
        assertThat(entry.path("info").path("name").asText()).isEqualTo("Ann");
        assertThat(entry.path("info").path("avatar").asText()).isEqualTo("a.png");
        assertThat(entry.path("mode").asText()).isEqualTo("exclusive");
        assertThat(entry.path("since").asLong()).isBetween(before - 60_000, System.currentTimeMillis() + 60_000);
        assertThat(state.path(n("doc")).path("holders").size()).isEqualTo(1);
        assertThat(state.path(n("doc")).path("queue").isEmpty()).isTrue();
        assertThat(FREE.test(state.path(n("free")))).isTrue();
    }

    @Test
    void queryShowsSharedHoldersAndTheQueueInOrder() {
        WsClient a = v2("a");
        WsClient b = v2("b");
        WsClient writer = v2("writer");
        WsClient reader = v2("reader");
        a.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared");
        b.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared");
        writer.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true);
        reader.request("QUEUED", "action", "lock", "param", n("doc"), "mode", "shared", "wait", true);
        JsonNode state = v2("curious").request("OK", "action", "query", "param", n("doc")).path("state").path(n("doc"));
        assertThat(names(state.path("holders"))).containsExactlyInAnyOrder(n("a"), n("b"));
        assertThat(names(state.path("queue"))).containsExactly(n("writer"), n("reader"));
        assertThat(state.path("queue").get(0).path("mode").asText()).isEqualTo("exclusive");
        assertThat(state.path("queue").get(1).path("mode").asText()).isEqualTo("shared");
        assertThat(state.path("queue").get(0).path("info").isNull()).as("no info given: null").isTrue();
        state.path("holders").forEach(h -> assertThat(h.path("mode").asText()).isEqualTo("shared"));
        assertThat(state.path("queue").get(0).path("since").asLong())
                .isLessThanOrEqualTo(state.path("queue").get(1).path("since").asLong());
    }

    @Test
    void hideHolderLeavesNamesAndInfoOutOfTheState() {
        WsClient holder = v2(MAIN, "holder", "info", Map.of("name", "Ann"));
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        v2("queued").request("QUEUED", "action", "lock", "param", n("doc"), "wait", true);
        WsClient hidden = v2(HIDDEN, "curious");
        JsonNode ok = hidden.request("OK", "action", "query", "param", n("doc"));
        assertFields(ok.path("state").path(n("doc")).path("holders").get(0), "mode", "since");
        assertFields(ok.path("state").path(n("doc")).path("queue").get(0), "mode", "since");
        assertThat(ok.toString()).doesNotContain(n("holder")).doesNotContain(n("queued")).doesNotContain("Ann");
        JsonNode watched = hidden.request("OK", "action", "watch", "param", n("doc"));
        assertFields(watched.path("state").path(n("doc")).path("holders").get(0), "mode", "since");
        holder.request("OK", "action", "unlock", "param", n("doc"));
        JsonNode changed = changedUntil(hidden, n("doc"), state -> state.path("queue").isEmpty());
        assertFields(changed.path("state").path("holders").get(0), "mode", "since");
        assertThat(changed.toString()).doesNotContain(n("queued"));
    }

    @Test
    void aQueryOfMoreThan64LocksIsTooManyLocksAndDuplicatesCountOnce() {
        WsClient c = v2("alice");
        List<String> names65 = IntStream.range(0, 65).mapToObj(i -> n("l" + i)).toList();
        c.send("action", "query", "params", names65, "id", 1);
        JsonNode fail = c.expectFail("TOO_MANY_LOCKS");
        assertThat(fail.path("id").asInt()).isEqualTo(1);
        assertThat(fail.path("action").asText()).isEqualTo("query");
        List<String> names64 = new ArrayList<>(names65.subList(0, 64));
        names64.add(names64.get(0));
        assertThat(c.request("OK", "action", "query", "params", names64).path("state").size()).isEqualTo(64);
    }

    /**
     * An answer larger than may wait for one connection would close it as a slow consumer, and
     * its session with it: a {@code query} or {@code watch} whose states are that large, even
     * with each state cut to a 64th of it, is refused with {@code TOO_MANY_LOCKS} instead, and
     * such a watch watches nothing.
     */
    @Test
    void aQueryOrWatchAnswerLargerThanMayWaitIsTooManyLocksAndChangesNothing() {
        // Short names: the query of all of them must fit in a frame of 1 KiB.
        List<String> locks = IntStream.range(0, 32).mapToObj(i -> "big-" + tag + "-" + i).toList();
        Map<String, Object> info = Map.of("about", "x".repeat(480));
        for (int i = 0; i < 2; i++) { // 32 locks, each state cut to its first holder of ~600 bytes: ~22 KB
            v2(MAIN, "holder" + i, "info", info).request("LOCKED", "action", "mlock", "params", locks, "mode", "shared");
        }
        WsClient c = v2(SMALL, "reader");
        c.request("LOCKED", "action", "lock", "param", n("own"));

        c.send("action", "query", "params", locks, "id", "q");
        JsonNode fail = c.expectFail("TOO_MANY_LOCKS");
        assertThat(fail.path("id").asText()).isEqualTo("q");
        assertThat(fail.path("message").asText()).contains("bytes").contains(String.valueOf(16 * 1024));
        c.send("action", "watch", "params", locks);
        c.expectFail("TOO_MANY_LOCKS");

        // Nothing changed: still connected, its lock held, nothing of the refused watch watched.
        JsonNode queried = c.request("OK", "action", "query", "param", locks.get(0)).path("state").path(locks.get(0));
        assertThat(names(queried.path("holders"))).containsExactly(n("holder0"));
        assertThat(queried.path("holdersTotal").asInt()).isEqualTo(2);
        v2("holder-late").request("LOCKED", "action", "lock", "param", locks.get(1), "mode", "shared");
        c.expectNone(QUIET);
        c.request("LOCKED", "action", "lock", "param", n("own"));
        assertThat(c.request("OK", "action", "watch", "param", locks.get(2)).path("state").path(locks.get(2)).path("holdersTotal")
                .asInt()).isEqualTo(2);
    }

    /**
     * Found by review (e290664): a watch refused for the size of its answer uncounted every name
     * it had added, among them one that a watch sent right after it asked for too (and, counted
     * already, added nothing): that watch was answered OK, and no change of its lock was pushed.
     */
    @Test
    void aWatchSentWithOneRefusedForItsSizeIsAnsweredOkAndWatches() {
        List<String> locks = IntStream.range(0, 32).mapToObj(i -> "big-" + tag + "-" + i).toList();
        Map<String, Object> info = Map.of("about", "x".repeat(480));
        for (int i = 0; i < 2; i++) {
            v2(MAIN, "holder" + i, "info", info).request("LOCKED", "action", "mlock", "params", locks, "mode", "shared");
        }
        WsClient c = v2(SMALL, "reader");
        c.send("action", "watch", "params", locks, "id", "all");
        c.send("action", "watch", "param", locks.get(0), "id", "one");
        assertThat(c.expectFail("TOO_MANY_LOCKS").path("id").asText()).isEqualTo("all");
        assertThat(c.expectNext("OK").path("id").asText()).isEqualTo("one");

        WsClient late = v2("late");
        late.request("LOCKED", "action", "lock", "param", locks.get(0), "mode", "shared");
        JsonNode changed = c.expectNext("CHANGED");
        assertThat(changed.path("lock").asText()).isEqualTo(locks.get(0));
        assertThat(changed.path("state").path("holdersTotal").asInt()).isEqualTo(3);
        late.request("LOCKED", "action", "lock", "param", locks.get(1), "mode", "shared");
        c.expectNone(QUIET); // the rest of the refused watch is not watched
    }

    /**
     * A {@code CHANGED} cannot be refused, and a lock's state grows with its queue: a state longer
     * than a 64th of what may wait for one connection lists its earliest entries and the total,
     * so the watcher's connection, its session and its locks go on. (Sent whole, this state would
     * close the connection as a slow consumer.)
     */
    @Test
    void aChangedOfAQueueThatOutgrewWhatMayWaitListsItsHeadAndTheTotal() {
        WsClient watcher = v2(SMALL, "watcher");
        watcher.request("LOCKED", "action", "lock", "param", n("own"));
        watcher.request("OK", "action", "watch", "param", n("doc"));
        v2("holder").request("LOCKED", "action", "lock", "param", n("doc"));
        Map<String, Object> info = Map.of("about", "x".repeat(480));
        int queued = 40; // ~600 bytes each: ~24 KB of state, more than the 16 KiB that may wait
        for (int i = 0; i < queued; i++) {
            v2(MAIN, "queued" + i, "info", info).request("QUEUED", "action", "lock", "param", n("doc"), "wait", true);
        }

        JsonNode changed = changedUntil(watcher, n("doc"), state -> state.path("queueTotal").asInt() == queued);
        JsonNode state = changed.path("state");
        assertThat(names(state.path("holders"))).containsExactly(n("holder"));
        assertThat(state.has("holdersTotal")).isFalse();
        List<String> listed = names(state.path("queue"));
        assertThat(listed).isNotEmpty().hasSizeLessThan(queued)
                .isEqualTo(IntStream.range(0, listed.size()).mapToObj(i -> n("queued" + i)).toList());
        assertThat(changed.toString().length()).as("the CHANGED frame").isLessThan(2 * 1024);
        // The watcher goes on: connected, its lock held, still told of changes.
        watcher.request("LOCKED", "action", "lock", "param", n("own"));
        v2("late").request("QUEUED", "action", "lock", "param", n("doc"), "wait", true);
        changedUntil(watcher, n("doc"), s -> s.path("queueTotal").asInt() == queued + 1);
    }

    @Test
    void aQueryOrWatchOfABadNameIsBadNameAndWatchesNothing() {
        WsClient c = v2("alice");
        for (String action : List.of("query", "watch", "unwatch")) {
            c.send("action", action, "params", List.of(n("ok"), ""), "id", 1);
            assertThat(c.expectFail("BAD_NAME").path("action").asText()).isEqualTo(action);
            c.send("action", action, "params", List.of(n("ok"), "a\u0001b"));
            c.expectFail("BAD_NAME");
        }
        c.request("LOCKED", "action", "lock", "param", n("ok"));
        c.expectNone(QUIET); // the refused watch of n("ok") watches nothing
    }

    @Test
    void version1AndAConnectionWithoutSessionKnowNeitherQueryNorWatch() {
        WsClient none = client(MAIN);
        WsClient old = v1(MAIN, "old");
        for (WsClient c : List.of(none, old)) {
            for (String action : List.of("query", "watch", "unwatch")) {
                c.send("action", action, "params", List.of(n("doc")), "id", 3);
                JsonNode fail = c.expectFail("UNKNOWN_ACTION");
                assertThat(fail.path("action").asText()).isEqualTo(action);
                assertThat(fail.path("message").asText()).isEqualTo("unknown action '" + action + "'");
            }
        }
    }

    // ---- watch ----

    @Test
    void watchAnswersTheStateThenPushesEveryChangeFromAnotherConnection() {
        WsClient watcher = v2("watcher");
        WsClient holder = v2("holder");
        WsClient queued = v2("queued");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        JsonNode ok = watcher.request("OK", "action", "watch", "params", List.of(n("doc"), n("free")), "id", "w");
        assertFields(ok, "status", "message", "time", "id", "action", "state");
        assertThat(names(ok.path("state").path(n("doc")).path("holders"))).containsExactly(n("holder"));
        assertThat(FREE.test(ok.path("state").path(n("free")))).isTrue();

        queued.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true);
        JsonNode changed = changedUntil(watcher, n("doc"), queue(n("queued")));
        assertFields(changed, "status", "message", "time", "lock", "state");
        assertThat(changed.path("message").asText()).isEqualTo(n("doc"));
        assertFields(changed.path("state"), "holders", "queue");
        assertThat(names(changed.path("state").path("holders"))).containsExactly(n("holder"));

        queued.request("OK", "action", "cancel", "param", n("doc"));
        changedUntil(watcher, n("doc"), queue());
        holder.request("OK", "action", "unlock", "param", n("doc"));
        changedUntil(watcher, n("doc"), FREE);
        queued.request("LOCKED", "action", "lock", "param", n("free"));
        changedUntil(watcher, n("free"), holders(n("queued")));
        queued.request("OK", "action", "close");
        changedUntil(watcher, n("free"), FREE);
        watcher.expectNone(QUIET);
    }

    @Test
    void aBurstOfChangesEndsWithTheLastStateAndNothingStaleAfterIt() {
        WsClient watcher = v2("watcher");
        WsClient actor = v2("actor");
        watcher.request("OK", "action", "watch", "param", n("doc"));
        for (int i = 0; i < 30; i++) {
            actor.send("action", "lock", "param", n("doc"), "id", "l" + i);
            actor.send("action", "unlock", "param", n("doc"), "id", "u" + i);
        }
        actor.send("action", "lock", "param", n("doc"), "mode", "shared", "id", "last");
        for (int i = 0; i < 61; i++) {
            actor.next();
        }
        JsonNode last = changedUntil(watcher, n("doc"),
                state -> holders(n("actor")).test(state) && "shared".equals(state.path("holders").get(0).path("mode").asText()));
        assertThat(last.path("state").path("queue").isEmpty()).isTrue();
        watcher.expectNone(QUIET);
    }

    @Test
    void aQueueHandOverIsOneChangeOfHoldersAndQueue() {
        WsClient watcher = v2("watcher");
        WsClient holder = v2("holder");
        WsClient next = v2("next");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        next.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true);
        watcher.request("OK", "action", "watch", "param", n("doc"));
        holder.request("OK", "action", "unlock", "param", n("doc"));
        next.expectNext("GRANTED");
        // Never free in between: the holder is replaced by the head of the queue.
        JsonNode changed = watcher.expectNext("CHANGED");
        assertThat(names(changed.path("state").path("holders"))).containsExactly(n("next"));
        assertThat(changed.path("state").path("queue").isEmpty()).isTrue();
    }

    @Test
    void watchSeesChangesMadeOnAnotherNode() {
        WsClient watcher = v2("watcher");
        WsClient elsewhere = v2(NODE_B, "elsewhere", "info", Map.of("name", "Bob"));
        assertThat(FREE.test(watcher.request("OK", "action", "watch", "param", n("doc")).path("state").path(n("doc")))).isTrue();
        elsewhere.request("LOCKED", "action", "lock", "param", n("doc"));
        JsonNode changed = changedUntil(watcher, n("doc"), holders(n("elsewhere")));
        assertThat(changed.path("state").path("holders").get(0).path("info").path("name").asText()).isEqualTo("Bob");
        elsewhere.request("OK", "action", "unlock", "param", n("doc"));
        changedUntil(watcher, n("doc"), FREE);
        // And the other way round: a watcher on node B sees a change made here.
        WsClient watcherB = v2(NODE_B, "watcherB");
        watcherB.request("OK", "action", "watch", "param", n("doc"));
        v2("here").request("LOCKED", "action", "lock", "param", n("doc"));
        changedUntil(watcherB, n("doc"), holders(n("here")));
    }

    @Test
    void aPrefixWatchPushesChangesOfEveryMatchingLockAndOnlyThose() {
        WsClient watcher = v2("watcher");
        WsClient actor = v2("actor");
        JsonNode ok = watcher.request("OK", "action", "watch", "prefix", n("docs-"), "id", 1);
        assertFields(ok, "status", "message", "time", "id", "action", "prefix");
        assertThat(ok.path("prefix").asText()).isEqualTo(n("docs-"));
        actor.request("LOCKED", "action", "lock", "param", n("docs-1"));
        JsonNode changed = changedUntil(watcher, n("docs-1"), holders(n("actor")));
        assertFields(changed.path("state"), "holders", "queue");
        actor.request("LOCKED", "action", "lock", "param", n("other"));
        actor.request("LOCKED", "action", "lock", "param", n("Docs-2")); // case-sensitive
        watcher.expectNone(QUIET);
        actor.request("LOCKED", "action", "lock", "param", n("docs-2"));
        changedUntil(watcher, n("docs-2"), holders(n("actor")));
        // From another node too.
        v2(NODE_B, "far").request("LOCKED", "action", "lock", "param", n("docs-3"));
        changedUntil(watcher, n("docs-3"), holders(n("far")));
    }

    @Test
    void unwatchStopsThePushesAndIsOkForWhatIsNotWatched() {
        WsClient watcher = v2("watcher");
        WsClient actor = v2("actor");
        watcher.request("OK", "action", "watch", "params", List.of(n("a"), n("b")));
        watcher.request("OK", "action", "watch", "prefix", n("p-"));
        JsonNode ok = watcher.request("OK", "action", "unwatch", "params", List.of(n("a")), "id", 2);
        assertFields(ok, "status", "message", "time", "id", "action");
        actor.request("LOCKED", "action", "lock", "param", n("a"));
        actor.request("LOCKED", "action", "lock", "param", n("b"));
        changedUntil(watcher, n("b"), holders(n("actor"))); // b still watched, a not: nothing for a came first
        assertFields(watcher.request("OK", "action", "unwatch", "prefix", n("p-")), "status", "message", "time", "action", "prefix");
        actor.request("LOCKED", "action", "lock", "param", n("p-1"));
        watcher.expectNone(QUIET);
        watcher.request("OK", "action", "unwatch", "params", List.of(n("never"), n("a")));
        watcher.request("OK", "action", "unwatch", "prefix", n("never-"));
    }

    @Test
    void anUnwatchSentRightAfterItsWatchIsAnsweredInOrderAndLeavesNothingWatched() {
        WsClient watcher = v2("watcher");
        for (int i = 0; i < 20; i++) {
            watcher.send("action", "watch", "param", n("doc"), "id", i);
            watcher.send("action", "unwatch", "param", n("doc"), "id", "u" + i);
            JsonNode watched = watcher.next();
            assertThat(watched.path("id").asInt()).isEqualTo(i);
            assertThat(watched.path("code").asText()).as("%s", watched).isNotEqualTo("INTERNAL");
            assertThat(watcher.expectNext("OK").path("id").asText()).isEqualTo("u" + i);
            watcher.send("action", "watch", "prefix", n("p-"), "id", "p" + i);
            watcher.send("action", "unwatch", "prefix", n("p-"), "id", "q" + i);
            assertThat(watcher.expectNext("OK").path("id").asText()).isEqualTo("p" + i);
            assertThat(watcher.expectNext("OK").path("id").asText()).isEqualTo("q" + i);
        }
        WsClient actor = v2("actor");
        actor.request("LOCKED", "action", "lock", "param", n("doc"));
        actor.request("LOCKED", "action", "lock", "param", n("p-1"));
        watcher.expectNone(QUIET);
    }

    /**
     * Found by review (e290664): a second watch of a lock sent before the first was answered (two
     * components of one page watching one document) left the first unanswered, and every later
     * reply of the connection waited behind it.
     */
    @Test
    void watchesOfOneLockSentTogetherAreEachAnsweredInOrder() {
        WsClient watcher = v2("watcher");
        v2("holder").request("LOCKED", "action", "lock", "param", n("doc"));
        for (int i = 0; i < 5; i++) {
            watcher.send("action", "watch", "param", n("doc"), "id", "a" + i);
            watcher.send("action", "watch", "param", n("doc"), "id", "b" + i);
            watcher.send("action", "watch", "params", List.of(n("x" + i), n("y" + i)), "id", "c" + i);
            watcher.send("action", "watch", "param", n("y" + i), "id", "d" + i);
            watcher.send("action", "ping", "id", "p" + i);
            for (String id : List.of("a", "b")) {
                JsonNode ok = watcher.expectNext("OK");
                assertThat(ok.path("id").asText()).isEqualTo(id + i);
                assertThat(names(ok.path("state").path(n("doc")).path("holders"))).containsExactly(n("holder"));
            }
            assertThat(watcher.expectNext("OK").path("id").asText()).isEqualTo("c" + i);
            assertThat(watcher.expectNext("OK").path("id").asText()).isEqualTo("d" + i);
            assertThat(watcher.expectNext("OK").path("id").asText()).isEqualTo("p" + i);
        }
        v2("actor").request("LOCKED", "action", "lock", "param", n("y4"));
        changedUntil(watcher, n("y4"), holders(n("actor")));
    }

    @Test
    void watchesEndWithTheSessionAndAreNotCarriedByAResume() {
        WsClient actor = v2("actor");
        WsClient closing = v2("closing");
        closing.request("OK", "action", "watch", "param", n("a"));
        closing.request("OK", "action", "close");
        actor.request("LOCKED", "action", "lock", "param", n("a"));
        closing.expectNone(QUIET);

        WsClient first = client(MAIN);
        JsonNode connected = first.request("OK", "action", "connect", "param", n("ann"), "version", 2, "grace", 10_000);
        first.request("OK", "action", "watch", "param", n("b"));
        awaitDetached(first);
        WsClient resumed = client(MAIN);
        resumed.request("OK", "action", "resume", "session", connected.path("session").asText(), "resume", connected.path("resume").asText());
        actor.request("LOCKED", "action", "lock", "param", n("b"));
        resumed.expectNone(QUIET);
    }

    /** Drops {@code c}'s connection and waits until the node has detached its session. */
    void awaitDetached(WsClient c) {
        double before = meters.get("distlock.sessions.detached").gauge().value();
        c.abort();
        await().atMost(Await.seconds(10)).until(() -> meters.get("distlock.sessions.detached").gauge().value() > before);
    }

    @Test
    void watchLimitsAreCountedPerConnectionAndARefusedWatchChangesNothing() {
        WsClient c = v2("watcher");
        for (int i = 0; i < EndpointOptions.defaults().maxWatchedPrefixes(); i++) {
            c.request("OK", "action", "watch", "prefix", n("p" + i + "-"));
        }
        c.request("OK", "action", "watch", "prefix", n("p0-")); // already watched: counts once
        c.send("action", "watch", "prefix", n("one-too-many-"), "id", 1);
        assertThat(c.expectFail("TOO_MANY_LOCKS").path("prefix").asText()).isEqualTo(n("one-too-many-"));
        c.request("OK", "action", "unwatch", "prefix", n("p0-"));
        c.request("OK", "action", "watch", "prefix", n("one-too-many-"));

        // Short names: 250 of them fit in one frame.
        List<String> names = IntStream.range(0, EndpointOptions.defaults().maxWatchedLocks() - 1).mapToObj(i -> "t" + tag + "-" + i).toList();
        for (int from = 0; from < names.size(); from += 250) {
            c.request("OK", "action", "watch", "params", names.subList(from, Math.min(names.size(), from + 250)));
        }
        // One more would be 1000: two more are refused, and neither is watched.
        c.send("action", "watch", "params", List.of(n("x"), n("y")));
        c.expectFail("TOO_MANY_LOCKS");
        c.request("OK", "action", "watch", "params", List.of(n("x"), names.get(0))); // already watched: counts once
        c.send("action", "watch", "param", n("y"));
        c.expectFail("TOO_MANY_LOCKS");
        v2("actor").request("LOCKED", "action", "lock", "param", n("y"));
        c.expectNone(QUIET);
        c.request("OK", "action", "unwatch", "param", names.get(1));
        c.request("OK", "action", "watch", "param", n("y"));
        // Another connection has limits of its own.
        v2("other").request("OK", "action", "watch", "prefix", n("p0-"));
    }

    @Test
    void watchAndUnwatchTakeNamesOrANonEmptyPrefix() {
        WsClient c = v2("alice");
        c.send("action", "watch", "prefix", "", "id", 1);
        JsonNode fail = c.expectFail("BAD_NAME");
        assertThat(fail.path("id").asInt()).isEqualTo(1);
        assertThat(fail.path("prefix").asText()).isEmpty();
        c.send("action", "unwatch", "prefix", "");
        c.expectFail("BAD_NAME");
        // A prefix follows the rules of names (found by a probe: these were watched).
        for (String action : List.of("watch", "unwatch")) {
            // as JSON text: a lone surrogate is escaped (a client cannot send it raw in UTF-8)
            Map<String, String> refused = Map.of("\"a\\u0000\"", "prefix contains a control character",
                    "\"b\\ud800\"", "prefix contains an unpaired surrogate",
                    "\"" + "\\ud83d\\ude00".repeat(257) + "\"", "prefix is longer than 256 characters");
            refused.forEach((prefix, why) -> {
                c.sendRaw("{\"action\":\"" + action + "\",\"prefix\":" + prefix + "}");
                assertThat(c.expectFail("BAD_NAME").path("message").asText()).as(action).isEqualTo(why);
            });
            c.request("OK", "action", action, "prefix", "\uD83D\uDE00".repeat(256)); // 256 characters, 512 UTF-16 units
        }
        c.send("action", "watch", "prefix", n("p"), "params", List.of(n("a")));
        assertThat(c.expectFail("BAD_REQUEST").path("message").asText()).contains("'prefix'");
        c.send("action", "watch");
        c.expectFail("BAD_REQUEST");
        c.send("action", "unwatch", "params", List.of());
        c.expectFail("BAD_REQUEST");
    }

    @Test
    void aServerWithWatchingOffRefusesWatchButAnswersQuery() {
        WsClient c = v2(NOT_WATCHING, "alice");
        c.request("LOCKED", "action", "lock", "param", n("doc"));
        c.send("action", "watch", "params", List.of(n("doc")), "id", 1);
        JsonNode fail = c.expectFail("UNAUTHORIZED");
        assertThat(fail.path("id").asInt()).isEqualTo(1);
        assertThat(fail.path("message").asText()).isEqualTo("watching is turned off on this server");
        c.send("action", "watch", "prefix", n("d"));
        c.expectFail("UNAUTHORIZED");
        JsonNode state = c.request("OK", "action", "query", "params", List.of(n("doc"))).path("state").path(n("doc"));
        assertThat(state.path("holders").get(0).path("name").asText()).isEqualTo(n("alice"));
        c.request("OK", "action", "unlock", "param", n("doc")); // the session goes on
        c.expectNone(QUIET);
    }

    @Test
    void theAuthorizerIsAskedForQueryWatchAndStealWithTheOperation() {
        WsClient c = v2(JUDGED, "alice");
        c.request("OK", "action", "query", "params", List.of(n("a"), n("b")));
        c.request("OK", "action", "watch", "params", List.of(n("c")));
        c.request("OK", "action", "watch", "prefix", n("d-"));
        c.request("LOCKED", "action", "lock", "param", n("e"), "steal", true, "mode", "shared");
        c.request("OK", "action", "unwatch", "prefix", n("d-")); // not asked
        assertThat(asked).containsExactly(
                new Asked(n("a"), Authorizer.Operation.QUERY, null),
                new Asked(n("b"), Authorizer.Operation.QUERY, null),
                new Asked(n("c"), Authorizer.Operation.WATCH, null),
                new Asked(n("d-"), Authorizer.Operation.WATCH, null),
                new Asked(n("e"), Authorizer.Operation.STEAL, LockMode.SHARED));
        for (Object[] refused : List.of(
                new Object[] {"action", "query", "params", List.of(n("ok"), "forbidden-" + n("x"))},
                new Object[] {"action", "watch", "params", List.of(n("ok"), "forbidden-" + n("x"))},
                new Object[] {"action", "watch", "prefix", "forbidden-"},
                new Object[] {"action", "lock", "param", "forbidden-" + n("x"), "steal", true})) {
            c.send(refused);
            c.expectFail("UNAUTHORIZED");
        }
        // The refused watch watches nothing, not even its allowed name.
        v2("actor").request("LOCKED", "action", "lock", "param", n("ok"));
        c.expectNone(QUIET);
    }

    // ---- steal ----

    @Test
    void aStealIsUnauthorizedUnlessTheAuthorizerSaysSo() {
        WsClient holder = v2("holder");
        long token = holder.request("LOCKED", "action", "lock", "param", n("doc")).path("token").asLong();
        WsClient thief = v2("thief");
        thief.send("action", "lock", "param", n("doc"), "steal", true, "id", 1);
        JsonNode fail = thief.expectFail("UNAUTHORIZED");
        assertThat(fail.path("lock").asText()).isEqualTo(n("doc"));
        assertThat(holderOf(n("doc"))).isEqualTo(n("holder"));
        holder.expectNone(QUIET);
        assertThat(holder.request("LOCKED", "action", "lock", "param", n("doc")).path("token").asLong()).isEqualTo(token);
        // Even of a free lock: the default authorizer never allows the operation.
        thief.send("action", "lock", "param", n("free"), "steal", true);
        thief.expectFail("UNAUTHORIZED");
        // steal: false is no steal.
        thief.request("LOCKED", "action", "lock", "param", n("free"), "steal", false);
    }

    @Test
    void aStealTakesTheLockWithALargerTokenAndTheHolderIsToldLostStolenBy() {
        WsClient holder = v2("holder");
        WsClient queued = v2("queued");
        long token = holder.request("LOCKED", "action", "lock", "param", n("doc")).path("token").asLong();
        queued.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true);
        WsClient thief = v2(JUDGED, "thief");
        JsonNode locked = thief.request("LOCKED", "action", "lock", "param", n("doc"), "steal", true, "id", 1);
        assertFields(locked, "status", "message", "time", "id", "action", "lock", "token");
        assertThat(locked.path("token").asLong()).isGreaterThan(token);
        JsonNode lost = holder.expectNext("LOST");
        assertFields(lost, "status", "message", "time", "lock", "reason", "token", "by");
        assertThat(lost.path("lock").asText()).isEqualTo(n("doc"));
        assertThat(lost.path("reason").asText()).isEqualTo("stolen");
        assertThat(lost.path("token").asLong()).as("the grant that ended").isEqualTo(token);
        assertThat(lost.path("by").asText()).isEqualTo(n("thief"));
        holder.send("action", "unlock", "param", n("doc"));
        holder.expectFail("NOT_OWNER");
        assertThat(holderOf(n("doc"))).isEqualTo(n("thief"));
        // The queue kept its order: the queued session is next.
        queued.expectNone(QUIET);
        thief.request("OK", "action", "unlock", "param", n("doc"));
        assertThat(queued.expectNext("GRANTED").path("token").asLong()).isGreaterThan(locked.path("token").asLong());
    }

    @Test
    void aStealOfASharedLockTakesItFromEveryHolder() {
        WsClient a = v2("a");
        WsClient b = v2(NODE_B, "b");
        long tokenA = a.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared").path("token").asLong();
        long tokenB = b.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared").path("token").asLong();
        WsClient thief = v2(JUDGED, "thief");
        thief.request("LOCKED", "action", "lock", "param", n("doc"), "steal", true);
        for (WsClient holder : List.of(a, b)) {
            JsonNode lost = holder.expectNext("LOST");
            assertThat(lost.path("token").asLong()).as("each holder's own grant").isEqualTo(holder == a ? tokenA : tokenB);
            assertThat(lost.path("reason").asText()).isEqualTo("stolen");
            assertThat(lost.path("by").asText()).isEqualTo(n("thief"));
        }
        JsonNode state = thief.request("OK", "action", "query", "param", n("doc")).path("state").path(n("doc"));
        assertThat(names(state.path("holders"))).containsExactly(n("thief"));
        assertThat(state.path("holders").get(0).path("mode").asText()).isEqualTo("exclusive");
    }

    /**
     * The contract: "A steal of a lock held shared takes it from every shared holder (each gets
     * LOST)", whatever the steal's mode (the core's lock.lua did so only for an exclusive steal
     * before v2-watch-core's 342078a).
     */
    @Test
    void aSharedStealOfASharedLockTakesItFromEveryHolderToo() {
        WsClient a = v2("a");
        WsClient b = v2("b");
        a.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared");
        b.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared");
        WsClient thief = v2(JUDGED, "thief");
        thief.request("LOCKED", "action", "lock", "param", n("doc"), "steal", true, "mode", "shared");
        for (WsClient holder : List.of(a, b)) {
            assertThat(holder.expectNext("LOST").path("reason").asText()).isEqualTo("stolen");
        }
        JsonNode state = thief.request("OK", "action", "query", "param", n("doc")).path("state").path(n("doc"));
        assertThat(names(state.path("holders"))).containsExactly(n("thief"));
    }

    @Test
    void aSharedHolderCannotStealItExclusiveSinceGrantsAreNeverUpgraded() {
        WsClient thief = v2(JUDGED, "thief");
        WsClient other = v2("other");
        thief.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared");
        other.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared");
        thief.send("action", "lock", "param", n("doc"), "steal", true);
        assertThat(thief.expectFail("BAD_REQUEST").path("message").asText()).contains("held shared");
        other.expectNone(QUIET);
        thief.expectNone(QUIET);
        JsonNode state = other.request("OK", "action", "query", "param", n("doc")).path("state").path(n("doc"));
        assertThat(names(state.path("holders"))).containsExactlyInAnyOrder(n("thief"), n("other"));
    }

    @Test
    void aHiddenHolderIsNotToldWhoStoleAndAVersion1HolderHearsAPlainLost() {
        WsClient hidden = v2(HIDDEN, "hidden");
        WsClient old = v1(MAIN, "old");
        hidden.request("LOCKED", "action", "lock", "param", n("a"));
        old.request("LOCKED", "action", "lock", "param", n("b"));
        WsClient thief = v2(JUDGED, "thief");
        thief.request("LOCKED", "action", "lock", "param", n("a"), "steal", true);
        thief.request("LOCKED", "action", "lock", "param", n("b"), "steal", true);
        assertFields(hidden.expectNext("LOST"), "status", "message", "time", "lock", "reason", "token");
        JsonNode lost = old.expectNext("LOST");
        assertFields(lost, "status", "message", "time", "lock");
        assertThat(lost.path("lock").asText()).isEqualTo(n("b"));
    }

    @Test
    void stealIsNeverQueuedNorOnMlock() {
        WsClient thief = v2(JUDGED, "thief");
        thief.send("action", "lock", "param", n("doc"), "steal", true, "wait", true);
        assertThat(thief.expectFail("BAD_REQUEST").path("message").asText()).contains("'steal'");
        thief.send("action", "mlock", "params", List.of(n("doc")), "steal", true);
        assertThat(thief.expectFail("BAD_REQUEST").path("message").asText()).contains("'steal'");
        assertThat(asked).as("refused before the authorizer").isEmpty();
        assertThat(holderOf(n("doc"))).isNull();
    }

    // ---- ask ----

    @Test
    void anAskPushesAskedToTheHolderOncePer10SecondsOfTheEndpointsClock() {
        WsClient holder = v2("holder");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        WsClient asker = v2(CLOCK, "asker", "info", Map.of("name", "Bob", "avatar", "b.png"));
        JsonNode queued = asker.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "ask", true, "id", 1);
        assertThat(queued.path("position").asInt()).isEqualTo(1);
        JsonNode askedPush = holder.expectNext("ASKED");
        assertFields(askedPush, "status", "message", "time", "lock", "by", "info");
        assertThat(askedPush.path("lock").asText()).isEqualTo(n("doc"));
        assertThat(askedPush.path("message").asText()).isEqualTo(n("doc"));
        assertThat(askedPush.path("by").asText()).isEqualTo(n("asker"));
        assertThat(askedPush.path("info").path("name").asText()).isEqualTo("Bob");
        assertThat(askedPush.path("info").path("avatar").asText()).isEqualTo("b.png");

        // Again within 10 s: refused, and nothing changes.
        asker.send("action", "lock", "param", n("doc"), "wait", true, "ask", true, "id", 2);
        JsonNode limited = asker.expectFail("RATE_LIMITED");
        assertThat(limited.path("id").asInt()).isEqualTo(2);
        assertThat(limited.path("lock").asText()).isEqualTo(n("doc"));
        clock.addAndGet(TimeUnit.SECONDS.toNanos(10) - 1);
        asker.send("action", "lock", "param", n("doc"), "wait", true, "ask", true);
        asker.expectFail("RATE_LIMITED");
        holder.expectNone(QUIET);
        // Without ask it queues as always (keeping its place); another lock may be asked for.
        assertThat(asker.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true).path("position").asInt()).isEqualTo(1);
        holder.request("LOCKED", "action", "lock", "param", n("other"));
        asker.request("QUEUED", "action", "lock", "param", n("other"), "wait", true, "ask", true);
        assertThat(holder.expectNext("ASKED").path("lock").asText()).isEqualTo(n("other"));

        clock.incrementAndGet(); // exactly 10 s after the first ask
        assertThat(asker.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "ask", true).path("position").asInt())
                .isEqualTo(1);
        assertThat(holder.expectNext("ASKED").path("lock").asText()).isEqualTo(n("doc"));
        // The holder decides: it unlocks, and the asker is granted.
        holder.request("OK", "action", "unlock", "param", n("doc"));
        assertThat(asker.expectNext("GRANTED").path("lock").asText()).isEqualTo(n("doc"));
    }

    /** Found by review (2026-12-05): an ask answered LOCKED asked nobody, yet held up the next ask for 10 s. */
    @Test
    void anAskThatAskedNobodyKeepsNoPace() {
        WsClient asker = v2(CLOCK, "asker");
        asker.request("LOCKED", "action", "lock", "param", n("doc"), "wait", true, "ask", true);
        asker.request("OK", "action", "unlock", "param", n("doc"));
        WsClient holder = v2("holder");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        assertThat(asker.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "ask", true).path("position").asInt())
                .isEqualTo(1);
        assertThat(holder.expectNext("ASKED").path("by").asText()).isEqualTo(n("asker"));
        // That one asked: the next within 10 s is refused.
        asker.send("action", "lock", "param", n("doc"), "wait", true, "ask", true);
        asker.expectFail("RATE_LIMITED");
    }

    /** Found by a probe (2026-12-04): close, connect again on the same connection, ask again: 385 ASKED a second from 16 connections. */
    @Test
    void aNewSessionOnTheSameConnectionDoesNotRestartThePaceOfAsks() {
        WsClient holder = v2("holder");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        WsClient asker = client(CLOCK);
        asker.request("OK", "action", "connect", "param", n("asker"), "version", 2);
        asker.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "ask", true);
        holder.expectNext("ASKED");
        asker.request("OK", "action", "close");
        asker.request("OK", "action", "connect", "param", n("asker-again"), "version", 2);
        asker.send("action", "lock", "param", n("doc"), "wait", true, "ask", true);
        asker.expectFail("RATE_LIMITED");
        holder.expectNone(QUIET);
        clock.addAndGet(TimeUnit.SECONDS.toNanos(10));
        asker.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "ask", true);
        assertThat(holder.expectNext("ASKED").path("lock").asText()).isEqualTo(n("doc"));
    }

    /** Found by review (2026-12-04): a resume started the pace of asks afresh. */
    @Test
    void aResumeOnTheSameNodeDoesNotRestartThePaceOfAsks() {
        WsClient holder = v2("holder");
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        WsClient asker = client(CLOCK);
        JsonNode connected = asker.request("OK", "action", "connect", "param", n("asker"), "version", 2, "grace", 10_000);
        asker.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "ask", true);
        holder.expectNext("ASKED");

        WsClient resumed = client(CLOCK);
        resumed.request("OK", "action", "resume", "session", connected.path("session").asText(),
                "resume", connected.path("resume").asText());
        resumed.send("action", "lock", "param", n("doc"), "wait", true, "ask", true);
        resumed.expectFail("RATE_LIMITED");
        holder.expectNone(QUIET);
        clock.addAndGet(TimeUnit.SECONDS.toNanos(10));
        resumed.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "ask", true);
        assertThat(holder.expectNext("ASKED").path("lock").asText()).isEqualTo(n("doc"));
    }

    @Test
    void anAskOfASharedLockReachesEveryHolderAndAHiddenHolderIsNotToldWho() {
        WsClient a = v2(HIDDEN, "a");
        WsClient b = v2(NODE_B, "b");
        WsClient old = v1(MAIN, "old");
        a.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared");
        b.request("LOCKED", "action", "lock", "param", n("doc"), "mode", "shared");
        old.request("LOCKED", "action", "lock", "param", n("v1"));
        WsClient asker = v2("asker");
        asker.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "ask", true);
        assertFields(a.expectNext("ASKED"), "status", "message", "time", "lock");
        JsonNode toB = b.expectNext("ASKED");
        assertThat(toB.path("by").asText()).isEqualTo(n("asker"));
        assertThat(toB.path("info").isNull()).as("no info given: null").isTrue();
        // A version 1 holder is never sent ASKED.
        asker.request("QUEUED", "action", "lock", "param", n("v1"), "wait", true, "ask", true);
        old.expectNone(QUIET);
    }

    @Test
    void anAskWithoutWaitIsABadRequest() {
        WsClient asker = v2("asker");
        asker.send("action", "lock", "param", n("doc"), "ask", true);
        assertThat(asker.expectFail("BAD_REQUEST").path("message").asText()).contains("'ask'");
    }

    @Test
    void anAskedForADetachedSessionIsKeptAndComesAfterTheResume() {
        WsClient holder = client(MAIN);
        JsonNode connected = holder.request("OK", "action", "connect", "param", n("holder"), "version", 2, "grace", 10_000);
        holder.request("LOCKED", "action", "lock", "param", n("doc"));
        awaitDetached(holder);
        WsClient asker = v2(MAIN, "asker", "info", Map.of("name", "Bob"));
        // Detached, it still holds the lock, and shows as its holder.
        JsonNode state = asker.request("OK", "action", "query", "param", n("doc")).path("state").path(n("doc"));
        assertThat(names(state.path("holders"))).containsExactly(n("holder"));
        asker.request("QUEUED", "action", "lock", "param", n("doc"), "wait", true, "ask", true);

        WsClient resumed = client(MAIN);
        JsonNode ok = resumed.request("OK", "action", "resume", "session", connected.path("session").asText(),
                "resume", connected.path("resume").asText());
        assertThat(ok.path("locks").has(n("doc"))).isTrue();
        JsonNode askedPush = resumed.expectNext("ASKED");
        assertThat(askedPush.path("by").asText()).isEqualTo(n("asker"));
        assertThat(askedPush.path("info").path("name").asText()).isEqualTo("Bob");
    }
}
