package io.distlock.core;

import static io.distlock.testing.Await.result;
import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.distlock.testing.Pushes;
import io.distlock.testing.Pushes.Kind;
import io.distlock.testing.TestRedis;

/** Three nodes (three services, each with its own Redisson client) on one Redis. */
class MultiNodeTest {

    private final List<LockService> nodes = new ArrayList<>();

    @BeforeEach
    void startNodes() {
        TestRedis.flushAll();
        for (int i = 0; i < 3; i++) {
            nodes.add(LockService.connect(TestRedis.url(), LockConfig.defaults()));
        }
    }

    @AfterEach
    void stopNodes() {
        nodes.forEach(LockService::close);
    }

    private static long token(LockResult r) {
        assertThat(r).isInstanceOf(LockResult.Locked.class);
        return ((LockResult.Locked) r).token();
    }

    @Test
    void retryReachesWaitersOnEveryNodeAfterUnlock() {
        LockSession holder = nodes.get(0).openSession("holder", new Pushes());
        Pushes p1 = new Pushes();
        Pushes p2 = new Pushes();
        LockSession w1 = nodes.get(1).openSession("w1", p1);
        LockSession w2 = nodes.get(2).openSession("w2", p2);
        token(result(holder.lock("doc")));
        assertThat(result(w1.lock("doc"))).isEqualTo(new LockResult.Waiting("holder"));
        assertThat(result(w2.lock("doc"))).isEqualTo(new LockResult.Waiting("holder"));

        result(holder.unlock("doc"));
        p1.expect(Kind.RETRY, "doc", seconds(5));
        p2.expect(Kind.RETRY, "doc", seconds(5));
    }

    @Test
    void retryReachesWaitersOnOtherNodesAfterUnlockAllAndClose() {
        LockSession holder = nodes.get(0).openSession("holder", new Pushes());
        Pushes pushes = new Pushes();
        LockSession waiter = nodes.get(1).openSession("waiter", pushes);
        result(holder.lockAll(List.of("a", "b")));
        result(holder.lock("c"));
        assertThat(result(waiter.lockAll(List.of("a", "b", "c")))).isInstanceOf(MultiLockResult.Waiting.class);

        result(holder.unlockAll(List.of("a", "b")));
        List<String> told = new ArrayList<>(List.of(pushes.next(seconds(5)).lock(), pushes.next(seconds(5)).lock()));
        assertThat(told).containsExactlyInAnyOrder("a", "b");

        result(holder.closeAsync());
        pushes.expect(Kind.RETRY, "c", seconds(5));
        assertThat(result(waiter.lockAll(List.of("a", "b", "c")))).isInstanceOf(MultiLockResult.Locked.class);
    }

    @Test
    void aWaiterIsToldOncePerRelease() {
        LockSession a = nodes.get(0).openSession("a", new Pushes());
        LockSession b = nodes.get(2).openSession("b", new Pushes());
        Pushes pushes = new Pushes();
        LockSession waiter = nodes.get(1).openSession("waiter", pushes);

        token(result(a.lock("doc")));
        assertThat(result(waiter.lock("doc"))).isInstanceOf(LockResult.Waiting.class);
        result(a.unlock("doc"));
        pushes.expect(Kind.RETRY, "doc", seconds(5));

        // The waiter did not ask again: later releases are not its business.
        token(result(b.lock("doc")));
        result(b.unlock("doc"));
        pushes.expectNone(Duration.ofMillis(500));

        // Asking again and waiting again earns exactly one more RETRY.
        token(result(a.lock("doc")));
        assertThat(result(waiter.lock("doc"))).isInstanceOf(LockResult.Waiting.class);
        assertThat(result(waiter.lock("doc"))).as("asking twice is still one wait").isInstanceOf(LockResult.Waiting.class);
        result(a.unlock("doc"));
        pushes.expect(Kind.RETRY, "doc", seconds(5));
        pushes.expectNone(Duration.ofMillis(500));
    }

    @Test
    void aSessionThatAcquiresOrClosesIsNoLongerAWaiter() {
        LockSession a = nodes.get(0).openSession("a", new Pushes());
        Pushes pushes = new Pushes();
        LockSession waiter = nodes.get(1).openSession("waiter", pushes);
        token(result(a.lock("x")));
        assertThat(result(waiter.lockAll(List.of("x")))).isInstanceOf(MultiLockResult.Waiting.class);
        result(waiter.closeAsync());
        result(a.unlock("x"));
        pushes.expectNone(Duration.ofMillis(500));
        assertThat(nodes.get(1).waitedLocks()).isZero();
    }

    @Test
    void tokensStrictlyIncreaseAcrossNodes() {
        List<LockSession> sessions = new ArrayList<>();
        for (LockService node : nodes) {
            sessions.add(node.openSession("s", LockListener.NONE));
        }
        long last = 0;
        for (int round = 0; round < 30; round++) {
            LockSession s = sessions.get(round % 3);
            long token = token(result(s.lock("counter")));
            assertThat(token).isGreaterThan(last);
            last = token;
            result(s.unlock("counter"));
        }
    }

    @Test
    void tokensKeepIncreasingAfterRedisForgetsTheLock() {
        LockSession s = nodes.get(0).openSession("s", LockListener.NONE);
        long first = token(result(s.lock("doc")));
        result(s.unlock("doc"));
        TestRedis.command("DEL", "distlock:lock:doc"); // as after a restart without persistence
        long second = token(result(s.lock("doc")));
        assertThat(second).isGreaterThan(first);
    }
}
