package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.core.LockConfig;
import io.distlock.core.LockResult;
import io.distlock.core.LockService;
import io.distlock.core.LockSession;
import io.distlock.testing.Await;
import io.distlock.testing.Pushes;
import io.distlock.testing.RedisProcess;
import io.distlock.testing.TcpProxy;

/**
 * The lost-lock notice against replies owed (safety.md, "Lost-lock notice": found by review
 * 2026-12-07). A node that cannot renew a lease decides {@code LOST} two thirds of a lease after
 * it sent its last successful renewal, so that its holder hears it before Redis can let the lock
 * go. But a connection sent every push behind every reply it still owed, and while the node cannot
 * reach Redis a request that needs Redis stays owed until its commands time out. The holder then
 * heard {@code LOST} when the last reply it waited behind was sent: after the lease ran out in
 * Redis, and after another node was granted the lock.
 *
 * <p>Node A reaches Redis through a {@link TcpProxy}; node B (the core API, no endpoint) straight.
 * A client of node A locks {@code L}; the proxy then blackholes A's link at {@code t0}. Nothing
 * sent after that reaches Redis, so the lease of {@code L} in Redis ends at the latest at
 * {@code t0 + lease} (read exactly with {@code PTTL} right after the blackhole). Meanwhile the
 * client sends, every 100 ms until A decides the {@code LOST} (its renewal's WARNING; at most 40),
 * requests that need Redis, without waiting for their answers; node B tries to take {@code L}
 * every 20 ms. The promise: the client receives {@code LOST} before B is granted {@code L}, and no
 * later than the lease's end (in Redis, and {@code t0 + lease}). The control sends nothing.
 *
 * <p>Lease 3 s: a renewal tick and a command timeout of 500 ms each; the {@code LOST} is decided
 * at the fourth tick after the last renewal sent, 2 s after it, about 1 s before the lease ends in
 * Redis.
 *
 * <p>Before the fix (47d404e, 6 runs of the class) the {@code lock} variant failed every time:
 * a session's operations run one after another, and each {@code lock} of another name fails only
 * after its command's timeout and then its undo's (about 1 s, a third of the lease), so the
 * {@code LOST} waited behind all 15 to 19 replies owed at its decision and reached the client
 * 16.5 to 21.0 s after {@code t0}, 13.9 to 18.0 s after B was granted {@code L}. Now a {@code LOST}
 * overtakes every reply still owed ({@link Outbound#pushOvertaking}), and comes at its decision,
 * about 1 s before the lease's end, with 17 replies owed. The {@code query} variant and the control
 * passed before too.
 */
class LostBehindOwedRepliesTest {

    private static final String PATH = "/distlock/lock";
    private static final Duration LEASE = Duration.ofSeconds(3);
    private static final Duration SEND_EVERY = Duration.ofMillis(100);
    private static final int MAX_SENT = 40;

    /** What the client sends while A's link is blackholed. */
    private enum Load {
        NOTHING, QUERY_OTHER_NAME, LOCK_OTHER_NAMES,
        /** As {@code LOCK_OTHER_NAMES}, but the third request (id 3) locks L again. */
        RELOCK_AMONG_OTHER_NAMES
    }

    /** The control: nothing owed when the LOST is decided, so it goes out at once. */
    @Test
    void lostReachesAHolderWithNothingOwedBeforeAnotherNodeIsGranted() {
        Timeline t = run(Load.NOTHING);
        t.assertPromiseKept();
    }

    /**
     * A {@code query} of another name every 100 ms: each waits for its one command's timeout (a
     * sixth of the lease) and is answered {@code BACKEND_UNAVAILABLE}; the LOST waits behind the
     * queries sent before it was decided, about half a second (before the fix; now it overtakes them).
     */
    @Test
    void lostReachesAHolderWithQueriesOwedBeforeAnotherNodeIsGranted() {
        Timeline t = run(Load.QUERY_OTHER_NAME);
        assertThat(t.repliesOwedAtDecision).as("replies owed when the LOST was decided: %s", t).isPositive();
        t.assertPromiseKept();
    }

    /**
     * A {@code lock} of another name every 100 ms: a session's operations run one after another,
     * and each attempt waits for its command's timeout, then for its undo's (a sixth of the lease
     * each); the LOST waited behind every lock sent before it was decided, and came seconds after
     * B was granted L; now it overtakes them.
     */
    @Test
    void lostReachesAHolderWithLocksOfOtherNamesOwedBeforeAnotherNodeIsGranted() {
        Timeline t = run(Load.LOCK_OTHER_NAMES);
        assertThat(t.repliesOwedAtDecision).as("replies owed when the LOST was decided: %s", t).isPositive();
        t.assertPromiseKept();
    }

    /**
     * A {@code lock} of L itself among them (the third, queued in the core behind two locks of other
     * names): still owed when the LOST is decided, it is answered after the loss, so it cannot carry
     * the lost grant (a re-lock out then fails, the core sees to that; one that starts after the loss
     * asks anew), and the LOST overtakes it too. It stays only behind a reply already made about L
     * ({@code OutboundTest}). Until 2026-12-07 it stayed behind every reply to a request naming L,
     * made or not: here the LOST came 3.1 s after the cut, after B's grant (two runs; the gap
     * safety.md described).
     */
    @Test
    void lostReachesAHolderWithARelockOfItsLockOwedBeforeAnotherNodeIsGranted() {
        Timeline t = run(Load.RELOCK_AMONG_OTHER_NAMES);
        assertThat(relockAnsweredAt).as("the re-lock of L is still owed when the LOST is decided: %s", t).isGreaterThan(t.decided());
        t.assertPromiseKept();
    }

    private static final int RELOCK_ID = 3;
    /** For {@link Load#RELOCK_AMONG_OTHER_NAMES}: when the reply to the re-lock of L arrived. */
    private long relockAnsweredAt;

    // ---- the scenario ----

    private Timeline run(Load load) {
        LockConfig config = LockConfig.builder().lease(LEASE).build();
        DecisionLog decided = DecisionLog.start();
        ScheduledExecutorService pace = Executors.newScheduledThreadPool(2);
        try (RedisProcess redis = RedisProcess.start();
             TcpProxy proxy = TcpProxy.start(redis.port())) {
            try (LockService a = LockService.connect("redis://127.0.0.1:" + proxy.port(), config);
                 LockService b = LockService.connect(redis.url(), config);
                 DistLockEndpoints endpoint = DistLockEndpoints.create(a, EndpointOptions.defaults());
                 TestServer nodeA = TestServer.tyrus(List.of(endpoint.config()));
                 StampedClient client = StampedClient.open(nodeA.uri(PATH))) {
                client.send(WsClient.json("action", "connect", "param", "holder", "version", 2));
                client.awaitStatus("OK", null);
                client.send(WsClient.json("action", "lock", "param", "L"));
                client.awaitStatus("LOCKED", "L");
                LockSession bob = b.openSession("bob", new Pushes());
                assertThat(Await.result(bob.lock("L"))).as("B first finds L held").isInstanceOf(LockResult.Waiting.class);
                // A renewal goes through first (the lock's TTL in Redis rises again), so the cut comes after a proven one.
                // Against the reading before, not the first: read within a ms of the grant, that is the whole lease,
                // which a renewal only restores.
                AtomicLong lastTtl = new AtomicLong(pttl(redis));
                await().atMost(Await.seconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
                    long ttl = pttl(redis);
                    return ttl > lastTtl.getAndSet(ttl);
                });

                decided.clear();
                proxy.blackhole();
                long t0 = System.nanoTime();
                long pttlAt = System.nanoTime();
                long pttl = pttl(redis);
                long leaseEnd = pttlAt + TimeUnit.MILLISECONDS.toNanos(pttl);

                // Node B tries L every 20 ms until granted; the client sends a request every 100 ms until A
                // has decided the LOST (at most MAX_SENT). Both on a scheduler, stopped when the run ends.
                AtomicLong grantedB = new AtomicLong();
                AtomicLong grantedBSent = new AtomicLong();
                pace.scheduleWithFixedDelay(() -> {
                    if (grantedB.get() != 0) {
                        return;
                    }
                    long sent = System.nanoTime();
                    try {
                        if (bob.lock("L").toCompletableFuture().get(5, TimeUnit.SECONDS) instanceof LockResult.Locked) {
                            grantedBSent.set(sent);
                            grantedB.set(System.nanoTime());
                        }
                    } catch (Exception e) {
                        // a failed attempt: the next one tries again
                    }
                }, 0, 20, TimeUnit.MILLISECONDS);

                List<Long> sentAt = new CopyOnWriteArrayList<>();
                int owedAtDecision = -1;
                if (load != Load.NOTHING) {
                    pace.scheduleAtFixedRate(() -> {
                        if (sentAt.size() >= MAX_SENT || decided.at() != 0) {
                            return;
                        }
                        int id = sentAt.size() + 1;
                        String other = load == Load.RELOCK_AMONG_OTHER_NAMES && id == RELOCK_ID ? "L" : "other-" + id;
                        String frame = load == Load.QUERY_OTHER_NAME
                                ? WsClient.json("action", "query", "params", List.of(other), "id", id)
                                : WsClient.json("action", "lock", "param", other, "id", id);
                        sentAt.add(System.nanoTime());
                        client.send(frame);
                    }, 0, SEND_EVERY.toMillis(), TimeUnit.MILLISECONDS);
                }
                await().atMost(Await.seconds(10)).until(() -> decided.at() != 0);
                long decidedAt = decided.at();
                if (load != Load.NOTHING) {
                    owedAtDecision = (int) (sentAt.stream().filter(s -> s < decidedAt).count()
                            - client.repliesBefore(decidedAt));
                }

                StampedClient.Frame lost = client.awaitStatus("LOST", "L", Await.seconds(60));
                await().atMost(Await.seconds(40)).until(() -> grantedB.get() != 0);

                if (load == Load.RELOCK_AMONG_OTHER_NAMES) {
                    relockAnsweredAt = client.awaitReply(RELOCK_ID, Await.seconds(30)).atNanos();
                }
                Timeline t = new Timeline(load, t0, leaseEnd, pttl, decidedAt, lost.atNanos(), grantedBSent.get(), grantedB.get(),
                        sentAt.size(), owedAtDecision, client.repliesBetween(decidedAt, lost.atNanos()),
                        client.lastReplyBefore(lost.atNanos()), lost.json(), client.replyTimes(t0));
                System.out.println("LostBehindOwedRepliesTest " + t);
                proxy.heal();
                return t;
            } finally {
                proxy.heal(); // nothing may close against a blackholed link
            }
        } finally {
            pace.shutdownNow();
            decided.stop();
        }
    }

    private static long pttl(RedisProcess redis) {
        return ((Number) redis.command("PTTL", "distlock:lock:L")).longValue();
    }

    /** The times of one run, in ns of {@link System#nanoTime()}. */
    private record Timeline(Load load, long t0, long leaseEnd, long pttlMillis, long decided, long lost, long bSent, long bGranted,
                            int sent, int repliesOwedAtDecision, int repliesBetweenDecisionAndLost,
                            JsonNode replyJustBeforeLost, JsonNode lostFrame, String replyTimes) {

        private long ms(long at) {
            return TimeUnit.NANOSECONDS.toMillis(at - t0);
        }

        void assertPromiseKept() {
            assertThat(lost).as("LOST received before node B was granted L (B's LOCKED at t0%+d ms): %s", ms(bGranted), this)
                    .isLessThan(bGranted);
            assertThat(lost).as("LOST received no later than the lease's end in Redis: %s", this).isLessThanOrEqualTo(leaseEnd);
            assertThat(lost).as("LOST received no later than t0 + lease: %s", this).isLessThanOrEqualTo(t0 + LEASE.toNanos());
        }

        @Override
        public String toString() {
            return load + ": relative to t0 (blackhole): lease end in Redis " + ms(leaseEnd) + " ms (PTTL " + pttlMillis
                    + "), LOST decided " + ms(decided) + " ms, LOST received " + ms(lost) + " ms, B's granted attempt sent "
                    + ms(bSent) + " ms, B granted " + ms(bGranted) + " ms; LOST after B's grant: " + (lost > bGranted)
                    + "; LOST after the lease end: " + (lost > leaseEnd) + "; requests sent " + sent + ", replies owed at the decision "
                    + repliesOwedAtDecision + ", replies received between decision and LOST " + repliesBetweenDecisionAndLost
                    + ", the reply just before the LOST " + replyJustBeforeLost + ", LOST " + lostFrame
                    + "; replies (id@ms since t0): " + replyTimes;
        }
    }

    /** When the lease renewal of the core logs that it gave leases up (it tells the sessions LOST just before). */
    private static final class DecisionLog extends Handler {

        private static final Logger RENEWAL = Logger.getLogger("io.distlock.core.LeaseRenewal");
        private final AtomicLong at = new AtomicLong();

        static DecisionLog start() {
            DecisionLog log = new DecisionLog();
            RENEWAL.addHandler(log);
            return log;
        }

        long at() {
            return at.get();
        }

        void clear() {
            at.set(0);
        }

        void stop() {
            RENEWAL.removeHandler(this);
        }

        @Override
        public void publish(LogRecord record) {
            if (String.valueOf(record.getMessage()).contains("could not be renewed in time")) {
                at.compareAndSet(0, System.nanoTime());
            }
        }

        @Override
        public void flush() { }

        @Override
        public void close() { }
    }

    /** A WebSocket client (the JDK's) that stamps every text frame with the time it arrived. */
    private static final class StampedClient implements WebSocket.Listener, AutoCloseable {

        record Frame(long atNanos, JsonNode json) { }

        private final List<Frame> frames = new CopyOnWriteArrayList<>();
        private final StringBuilder partial = new StringBuilder();
        private volatile WebSocket ws;

        static StampedClient open(URI uri) {
            StampedClient c = new StampedClient();
            try {
                c.ws = HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(uri, c).get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError("cannot open " + uri, e);
            }
            return c;
        }

        void send(String text) {
            try {
                ws.sendText(text, true).get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError("send failed", e);
            }
        }

        Frame awaitStatus(String status, String lock) {
            return awaitStatus(status, lock, WsClient.TIMEOUT);
        }

        /** The first frame (received so far or later) with {@code status} (and {@code lock}, if not null). */
        Frame awaitStatus(String status, String lock, Duration within) {
            Frame[] found = new Frame[1];
            await().atMost(within).pollInterval(Duration.ofMillis(5)).until(() -> {
                for (Frame f : frames) {
                    if (status.equals(f.json().path("status").asText()) && (lock == null || lock.equals(f.json().path("lock").asText()))) {
                        found[0] = f;
                        return true;
                    }
                }
                return false;
            });
            return found[0];
        }

        private static boolean isReplyToSent(Frame f) {
            return f.json().has("id");
        }

        /** Replies (to the requests sent with an id) received before {@code at}. */
        int repliesBefore(long at) {
            return (int) frames.stream().filter(f -> isReplyToSent(f) && f.atNanos() < at).count();
        }

        int repliesBetween(long from, long to) {
            return (int) frames.stream().filter(f -> isReplyToSent(f) && f.atNanos() >= from && f.atNanos() < to).count();
        }

        /** Each reply to a request sent with an id, as {@code id@ms} since {@code t0}, in the order received. */
        String replyTimes(long t0) {
            StringBuilder b = new StringBuilder();
            for (Frame f : frames) {
                if (isReplyToSent(f)) {
                    b.append(b.isEmpty() ? "" : " ").append(f.json().path("id").asInt()).append('@')
                            .append(TimeUnit.NANOSECONDS.toMillis(f.atNanos() - t0));
                }
            }
            return b.toString();
        }

        /** The reply to request {@code id}, received so far or later. */
        Frame awaitReply(int id, Duration within) {
            Frame[] found = new Frame[1];
            await().atMost(within).pollInterval(Duration.ofMillis(5)).until(() -> {
                for (Frame f : frames) {
                    if (isReplyToSent(f) && f.json().path("id").asInt() == id) {
                        found[0] = f;
                        return true;
                    }
                }
                return false;
            });
            return found[0];
        }

        JsonNode lastReplyBefore(long at) {
            JsonNode last = null;
            for (Frame f : frames) {
                if (f.atNanos() < at && isReplyToSent(f)) {
                    last = f.json();
                }
            }
            return last;
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                long now = System.nanoTime();
                try {
                    frames.add(new Frame(now, WsClient.JSON.readTree(partial.toString())));
                } catch (Exception e) {
                    throw new AssertionError("not JSON: " + partial, e);
                } finally {
                    partial.setLength(0);
                }
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public void close() {
            try {
                ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(2, TimeUnit.SECONDS);
            } catch (Exception e) {
                // the abort below is enough
            }
            ws.abort();
        }
    }
}
