package io.distlock.core;

import static io.distlock.testing.Await.result;
import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;

import io.distlock.testing.Pushes;
import io.distlock.testing.TcpProxy;
import io.distlock.testing.TestRedis;

/** The core used as a library the way an embedder might misuse it: races on one session, callbacks that call back, edges. */
class ApiMisuseTest {

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void flush() {
        TestRedis.flushAll();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private LockService node(LockConfig config) {
        LockService service = LockService.connect(TestRedis.url(), config);
        toClose.add(service);
        return service;
    }

    private static Object owner(String lock) {
        return TestRedis.command("HGET", "distlock:lock:" + lock, "owner");
    }

    /** A lock called before a close but whose turn comes after it (the close took its place first) is refused. */
    @Test
    void aLockOrderedAfterTheCloseIsRefusedAndTakesNothing() throws Exception {
        LockService service = node(LockConfig.defaults());
        LockSession session = service.openSession("alice", new Pushes());
        CompletableFuture<CompletionStage<LockResult>> lock = new CompletableFuture<>();
        Thread caller = new Thread(() -> lock.complete(session.lock("doc-1")));
        CompletionStage<Void> closed;
        synchronized (session) { // the session's chain monitor: the caller has read "not closing" and waits to take its place
            caller.start();
            await().atMost(seconds(5)).until(() -> caller.getState() == Thread.State.BLOCKED);
            closed = session.closeAsync();
        }
        result(closed);
        LockResult answer = result(lock.get(10, TimeUnit.SECONDS));
        assertThat(answer).isInstanceOf(Refused.class);
        assertThat(((Refused) answer).reason()).isEqualTo(Refusal.SESSION_CLOSED);
        assertThat(owner("doc-1")).isNull();
        assertThat(session.heldLocks()).isEmpty();
    }

    /**
     * After LockService.close() nobody renews: a resumable session's handle (left detached for another node) must not
     * take a lock whose lease nobody keeps and whose loss nobody tells. Before: LOCKED, on the application's own client.
     */
    @Test
    void aResumableSessionTakesNoLockAfterItsServiceClosed() {
        RedissonClient client = Redisson.create(LockService.redissonConfig(TestRedis.url()));
        toClose.add(client::shutdown);
        LockService service = LockService.create(client, LockConfig.defaults());
        toClose.add(service);
        LockSession session = service.openSession("alice", new Pushes(), new SessionOptions(Duration.ofSeconds(5), null));
        service.close();
        LockResult answer = result(session.lock("doc-1"));
        assertThat(answer).isInstanceOf(Refused.class);
        assertThat(((Refused) answer).reason()).isEqualTo(Refusal.SESSION_CLOSED);
        assertThat(owner("doc-1")).isNull();
    }

    /** LockSession.detach(): "After a detach, this handle is stale". Before: LOCKED. */
    @Test
    void aDetachedHandleIsRefused() {
        LockService service = node(LockConfig.defaults());
        LockSession session = service.openSession("alice", new Pushes(), new SessionOptions(Duration.ofSeconds(5), null));
        assertThat(result(session.lock("doc-1"))).isInstanceOf(LockResult.Locked.class);
        result(session.detach());
        assertThat(result(session.lock("doc-2"))).isInstanceOf(Refused.class);
        assertThat(result(session.lockAll(List.of("doc-3")))).isInstanceOf(Refused.class);
        assertThat(result(session.unlock("doc-1"))).isInstanceOf(Refused.class);
        assertThat(owner("doc-2")).isNull();
        assertThat(owner("doc-1")).isEqualTo(session.id()); // kept for the grace
    }

    /**
     * Durations far past their bounds are refused with the IllegalArgumentException the javadoc promises. Before: an
     * ArithmeticException from toMillis() while building the message (timeout, lease, replicaSync, grace), or accepted
     * and failing later (tokenMemory at LockService.connect, maxGrace at openSession).
     */
    @Test
    void hugeDurationsAreRefusedWithIllegalArgument() {
        Duration huge = Duration.ofSeconds(Long.MAX_VALUE);
        Duration hugeNegative = Duration.ofSeconds(Long.MIN_VALUE);
        assertThatThrownBy(() -> LockOptions.DEFAULT.timeout(huge)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LockOptions.DEFAULT.timeout(hugeNegative)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LockConfig.builder().lease(huge)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LockConfig.builder().replicaSync(huge).build()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LockConfig.builder().tokenMemory(huge)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LockConfig.builder().maxGrace(huge)).isInstanceOf(IllegalArgumentException.class);
        LockService service = node(LockConfig.defaults());
        assertThatThrownBy(() -> service.openSession("alice", LockListener.NONE, new SessionOptions(huge, null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("grace");
        assertThat(LockOptions.DEFAULT.timeout(LockOptions.MAX_TIMEOUT).timeout()).isEqualTo(LockOptions.MAX_TIMEOUT);
        assertThatThrownBy(() -> LockOptions.DEFAULT.timeout(Duration.ofNanos(999_999))).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * LockListener: "Give callbackExecutor an executor of your own to block". A blocking close() from a push of the same
     * session, on such an executor, never returned: the close is answered on the serial stream the push occupies.
     */
    @Test
    @Timeout(60)
    void aBlockingCloseInsideAPushOfTheSameSessionReturns() {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        toClose.add(pool::shutdownNow);
        LockService service = node(LockConfig.builder().callbackExecutor(pool).build());
        LockSession alice = service.openSession("alice", new Pushes());
        CompletableFuture<Void> closedInside = new CompletableFuture<>();
        LockSession[] bob = new LockSession[1];
        bob[0] = service.openSession("bob", new LockListener() {
            @Override
            public void retry(String lock) {
                bob[0].close();
                closedInside.complete(null);
            }
        });
        assertThat(result(alice.lock("doc-1"))).isInstanceOf(LockResult.Locked.class);
        assertThat(result(bob[0].lock("doc-2"))).isInstanceOf(LockResult.Locked.class);
        assertThat(result(bob[0].lock("doc-1"))).isInstanceOf(LockResult.Waiting.class);
        result(alice.unlock("doc-1"));
        result(closedInside);
        await().atMost(seconds(5)).until(() -> owner("doc-2") == null);
        assertThat(bob[0].isClosed()).isTrue();
    }

    /** The same from a stage's callback, on the default executor and on a resumable session's handle. */
    @Test
    @Timeout(60)
    void aBlockingCloseInsideAStageCallbackOfTheSameSessionReturns() {
        LockService service = node(LockConfig.defaults());
        LockSession alice = service.openSession("alice", new Pushes());
        CompletionStage<Boolean> closed = alice.lock("doc-1").thenApply(r -> {
            alice.close();
            return alice.isClosed();
        });
        assertThat(result(closed)).isTrue();
        LockSession bob = service.openSession("bob", new Pushes(), new SessionOptions(Duration.ofSeconds(5), null));
        CompletionStage<Boolean> bobClosed = bob.lock("doc-2").thenApply(r -> {
            bob.close();
            return bob.isClosed();
        });
        assertThat(result(bobClosed)).isTrue();
        await().atMost(seconds(5)).until(() -> owner("doc-1") == null && owner("doc-2") == null);
    }

    /**
     * LockListener: "A listener that throws is logged and ignored: it cannot break locking." An unlockAll that Redis does
     * not answer gives up both locks and tells LOST for each; a lost() that threw for the first one lost the second's.
     */
    @Test
    void aListenerThatThrowsMissesNoPush() {
        TcpProxy proxy = TcpProxy.start(java.net.URI.create(TestRedis.url()).getPort());
        toClose.add(proxy);
        org.redisson.config.Config redissonConfig = LockService.redissonConfig("redis://127.0.0.1:" + proxy.port());
        redissonConfig.useSingleServer().setConnectionMinimumIdleSize(2);
        RedissonClient client = Redisson.create(redissonConfig);
        toClose.add(client::shutdown);
        LockService service = LockService.create(client, LockConfig.builder().lease(Duration.ofSeconds(2)).build());
        toClose.add(service);
        List<String> told = new java.util.concurrent.CopyOnWriteArrayList<>();
        LockSession session = service.openSession("alice", new LockListener() {
            @Override
            public void lost(String lock) {
                told.add(lock);
                throw new IllegalStateException("a listener's bug");
            }
        });
        assertThat(result(session.lockAll(List.of("doc-1", "doc-2")))).isInstanceOf(MultiLockResult.Locked.class);
        proxy.blackhole();
        CompletableFuture<UnlockResult> unlock = session.unlockAll(List.of("doc-1", "doc-2")).toCompletableFuture();
        await().atMost(seconds(5)).until(unlock::isDone);
        assertThat(unlock).isCompletedExceptionally();
        proxy.heal();
        await().atMost(seconds(5)).untilAsserted(() -> assertThat(told).containsExactlyInAnyOrder("doc-1", "doc-2"));
    }

    /**
     * LockService.close() "closes every session": one opened while close() runs was missed (open's check of "closed" came
     * before close, its registration after close's look at the sessions), left open on the closed service, and took locks
     * nobody renews. Opens sessions in a loop while the service closes, 100 times; before, one was left open within a few.
     */
    @Test
    @Timeout(120)
    void aSessionOpenedWhileTheServiceClosesIsClosedOrRefused() throws Exception {
        RedissonClient client = Redisson.create(LockService.redissonConfig(TestRedis.url()));
        toClose.add(client::shutdown);
        for (int i = 0; i < 100; i++) {
            LockService service = LockService.create(client, LockConfig.defaults());
            List<LockSession> opened = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread opener = new Thread(() -> {
                try {
                    while (true) {
                        opened.add(service.openSession("s", LockListener.NONE));
                    }
                } catch (IllegalStateException closed) {
                    // the service is closed: the loop ends
                }
            });
            opener.start();
            while (opened.size() < 20 && opener.isAlive()) {
                Thread.onSpinWait(); // close while the opener is at full speed
            }
            service.close();
            opener.join(TimeUnit.SECONDS.toMillis(10));
            for (LockSession s : opened) {
                assertThat(s.isClosed()).as("session %s of try %s", s, i).isTrue();
            }
        }
    }

    /**
     * The same for a resume from another node that is out when the service closes: the session was added to the closed
     * service, which renews nothing, and its handle took locks. Now it is left detached for another node like the sessions
     * close() saw: the answer (with the new secret) comes, its handle is stale, and another node resumes it with its lock.
     */
    @Test
    void aResumeFromAnotherNodeOutWhileTheServiceClosesIsLeftForAnotherNode() {
        LockService first = node(LockConfig.defaults());
        LockSession session = first.openSession("alice", new Pushes(), new SessionOptions(Duration.ofSeconds(10), null));
        long token = ((LockResult.Locked) result(session.lock("doc-1"))).token();
        String secret = session.resumeSecret().orElseThrow();
        result(session.detach());

        TcpProxy proxy = TcpProxy.start(java.net.URI.create(TestRedis.url()).getPort());
        toClose.add(proxy);
        RedissonClient client = Redisson.create(LockService.redissonConfig("redis://127.0.0.1:" + proxy.port()));
        toClose.add(client::shutdown);
        LockService closing = LockService.create(client, LockConfig.defaults());
        toClose.add(closing);
        proxy.delay(Duration.ofMillis(300)); // the resume's registry read, adoption and proofs are out while the service closes
        CompletionStage<ResumeResult> resuming = closing.resume(session.id(), secret, new Pushes());
        closing.close();
        ResumeResult resumed = result(resuming);
        assertThat(resumed).isInstanceOf(ResumeResult.Resumed.class);
        LockSession handle = ((ResumeResult.Resumed) resumed).session();
        assertThat(result(handle.lock("doc-2"))).isInstanceOf(Refused.class);
        assertThat(owner("doc-2")).isNull();
        proxy.heal();

        LockService third = node(LockConfig.defaults());
        ResumeResult again = result(third.resume(session.id(), ((ResumeResult.Resumed) resumed).secret(), new Pushes()));
        assertThat(again).isInstanceOf(ResumeResult.Resumed.class);
        assertThat(((ResumeResult.Resumed) again).locks()).containsKey("doc-1");
        assertThat(owner("doc-1")).isEqualTo(session.id());
        assertThat(TestRedis.command("HGET", "distlock:lock:doc-1", "token")).isEqualTo(Long.toString(token));
    }

    /**
     * query and LockWatch.watch: "completes exceptionally with IllegalArgumentException for an unacceptable name", as
     * lockAll refuses a null name (BAD_NAME). A null name threw NullPointerException from List.copyOf instead.
     */
    @Test
    void aNullNameInACollectionIsRefusedLikeAnyBadName() {
        LockService service = node(LockConfig.defaults());
        List<String> withNull = new ArrayList<>();
        withNull.add("doc-1");
        withNull.add(null);
        CompletableFuture<?> query = service.query(withNull).toCompletableFuture();
        assertThat(query).isCompletedExceptionally();
        assertThatThrownBy(query::join).hasCauseInstanceOf(IllegalArgumentException.class);
        LockWatch watch = service.watch((lock, state) -> { });
        CompletableFuture<?> watched = watch.watch(withNull).toCompletableFuture();
        assertThat(watched).isCompletedExceptionally();
        assertThatThrownBy(watched::join).hasCauseInstanceOf(IllegalArgumentException.class);
        watch.close();
        LockSession session = service.openSession("alice", new Pushes());
        assertThat(result(session.lockAll(withNull))).isInstanceOf(Refused.class);
    }

    /**
     * LockService.close() "closes every session, releasing its locks (waiting up to the lease for Redis)". On an
     * interrupted thread it stopped waiting at once and shut its Redisson client down under the releases: all 20 locks
     * stayed held for a lease, and the interrupt status was gone too (cleared by Redisson's shutdown).
     */
    @Test
    void aCloseOnAnInterruptedThreadStillReleasesAndKeepsTheInterrupt() {
        LockService service = LockService.connect(TestRedis.url(), LockConfig.defaults());
        toClose.add(service);
        LockSession session = service.openSession("alice", new Pushes());
        for (int i = 0; i < 20; i++) {
            assertThat(result(session.lock("doc-" + i))).isInstanceOf(LockResult.Locked.class);
        }
        Thread.currentThread().interrupt();
        service.close();
        assertThat(Thread.interrupted()).as("the interrupt is kept").isTrue();
        for (int i = 0; i < 20; i++) {
            assertThat(owner("doc-" + i)).as("doc-%s", i).isNull();
        }
    }

    /**
     * A grace under a millisecond is refused, as replicaSync is: the session counts its grace in whole ms, so one of 1 ns
     * was opened as resumable (a registry record, a resume secret) but had grace() zero, and detach() closed it.
     */
    @Test
    void aGraceUnderAMillisecondIsRefused() {
        assertThatThrownBy(() -> new SessionOptions(Duration.ofNanos(1), null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SessionOptions(Duration.ofNanos(999_999), null)).isInstanceOf(IllegalArgumentException.class);
        assertThat(new SessionOptions(Duration.ofMillis(1), null).grace()).isEqualTo(Duration.ofMillis(1));
        assertThat(new SessionOptions(Duration.ZERO, null).grace()).isZero();
    }

    /**
     * Found by review (2026-12-07): redis://host:port/0 was refused as naming a database, though database 0 is the
     * one distlock works in (and Spring Boot's spring.data.redis.url is often written so). Another database is still
     * refused, and the message names it, never the URL (which may hold a password).
     */
    @Test
    void aUrlNamingDatabaseZeroIsAcceptedAndAnotherDatabaseIsRefusedByNumber() {
        String url = TestRedis.url().replaceAll("/+$", "");
        LockService service = LockService.connect(url + "/0", LockConfig.defaults());
        toClose.add(service);
        LockSession session = service.openSession("alice", new Pushes());
        assertThat(result(session.lock("doc-1"))).isInstanceOf(LockResult.Locked.class);
        assertThat(owner("doc-1")).isNotNull();
        assertThatThrownBy(() -> LockService.redissonConfig("redis://:s3cret-pw@127.0.0.1:6379/3"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Redis URL names database 3 (/3)")
                .hasMessageNotContaining("s3cret-pw");
        assertThatThrownBy(() -> LockService.redissonConfig("redis://127.0.0.1:6379/cache"))
                .hasMessageStartingWith("Redis URL names a path other than a database number");
        assertThatThrownBy(() -> LockService.redissonConfig("redis://127.0.0.1:6379?db=0"))
                .hasMessageStartingWith("Redis URL must not have options (?...)")
                .hasMessageContaining("database 0");
        // Found by review (2026-12-07): a Redisson setting as an option was told about database 0.
        assertThatThrownBy(() -> LockService.redissonConfig("redis://127.0.0.1:6379?timeout=5"))
                .hasMessage("Redis URL must not have options (?...), which Redisson would ignore: give Redisson settings"
                        + " (timeouts, pool sizes...) in a Redisson Config instead (a RedissonClient of your own; distlock-server's --redis-config file)");
        // Redisson's parser takes this one, and the client then connected to port -1 (a review, 2026-12-07).
        assertThatThrownBy(() -> LockService.redissonConfig("redis://:s3cret-pw@127.0.0.1"))
                .hasMessageStartingWith("Redis URL has no port")
                .hasMessageNotContaining("s3cret-pw");
    }
}
