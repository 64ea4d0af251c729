package io.distlock.core;

import static io.distlock.testing.Await.result;
import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.distlock.testing.Pushes;
import io.distlock.testing.Pushes.Kind;
import io.distlock.testing.TestRedis;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

class LockServiceMetricsTest {

    @Test
    void countsSessionsLocksWaitersPushesAndRenewals() {
        LockConfig config = LockConfig.builder().keyPrefix("metrics-" + System.nanoTime()).lease(Duration.ofMillis(600)).build();
        TestRedis.markInService(config.keyPrefix());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (LockService node1 = LockService.connect(TestRedis.url(), config);
             LockService node2 = LockService.connect(TestRedis.url(), config)) {
            new LockServiceMetrics(node2).bindTo(registry);
            LockSession holder = node1.openSession("holder", LockListener.NONE);
            Pushes pushes = new Pushes();
            LockSession waiter = node2.openSession("waiter", pushes);
            result(holder.lock("doc"));
            result(waiter.lock("doc"));
            result(waiter.lock("mine"));

            assertThat(registry.get("distlock.sessions").gauge().value()).isEqualTo(1);
            assertThat(registry.get("distlock.locks.held").gauge().value()).isEqualTo(1);
            assertThat(registry.get("distlock.waiters").gauge().value()).isEqualTo(1);

            result(holder.unlock("doc"));
            pushes.expect(Kind.RETRY, "doc", seconds(5));
            assertThat(registry.get("distlock.retry.pushes").counter().count()).isEqualTo(1);
            assertThat(registry.get("distlock.retry.delay").timer().count()).isEqualTo(1);
            assertThat(registry.get("distlock.retry.delay").timer().max(TimeUnit.SECONDS)).isLessThan(5);
            assertThat(registry.get("distlock.waiters").gauge().value()).isZero();

            await().atMost(seconds(5)).until(() ->
                    registry.get("distlock.lease.renewals").tag("result", "renewed").counter().count() >= 2);

            TestRedis.command("DEL", config.keyPrefix() + ":lock:mine");
            pushes.expect(Kind.LOST, "mine", seconds(5));
            assertThat(registry.get("distlock.lost.pushes").counter().count()).isEqualTo(1);
            assertThat(registry.get("distlock.lease.renewals").tag("result", "lost").counter().count()).isEqualTo(1);
            assertThat(registry.get("distlock.locks.held").gauge().value()).isZero();

            result(holder.lock("queued"));
            result(waiter.lock("queued", LockOptions.exclusive().queue()));
            assertThat(registry.get("distlock.queued").gauge().value()).isEqualTo(1);
            result(holder.unlock("queued"));
            pushes.expect(Kind.GRANTED, "queued", seconds(5));
            assertThat(registry.get("distlock.granted.pushes").counter().count()).isEqualTo(1);
            assertThat(registry.get("distlock.queued").gauge().value()).isZero();
            assertThat(registry.get("distlock.locks.held").gauge().value()).isEqualTo(1);
        }
    }

    /**
     * Spring Boot binds every MeterBinder to each registry when there is no composite one: the
     * first registry's counters stayed at 0 (its gauges moved) once the binder was bound to a second.
     */
    @Test
    void countsInEveryRegistryItIsBoundTo() {
        LockConfig config = LockConfig.builder().keyPrefix("metrics-two-" + System.nanoTime()).lease(Duration.ofSeconds(5)).build();
        TestRedis.markInService(config.keyPrefix());
        SimpleMeterRegistry first = new SimpleMeterRegistry();
        SimpleMeterRegistry second = new SimpleMeterRegistry();
        try (LockService node = LockService.connect(TestRedis.url(), config)) {
            LockServiceMetrics metrics = new LockServiceMetrics(node);
            metrics.bindTo(first);
            metrics.bindTo(second);
            metrics.bindTo(second); // the same registry again counts once
            LockSession holder = node.openSession("holder", LockListener.NONE);
            Pushes pushes = new Pushes();
            LockSession waiter = node.openSession("waiter", pushes);
            result(holder.lock("doc"));
            result(waiter.lock("doc"));
            result(holder.unlock("doc"));
            pushes.expect(Kind.RETRY, "doc", seconds(5));
            for (SimpleMeterRegistry registry : java.util.List.of(first, second)) {
                assertThat(registry.get("distlock.retry.pushes").counter().count()).as("RETRY pushes in %s", registry).isEqualTo(1);
                assertThat(registry.get("distlock.retry.delay").timer().count()).isEqualTo(1);
                assertThat(registry.get("distlock.sessions").gauge().value()).isEqualTo(2);
            }
        }
    }

    /**
     * A push kept for a detached session counts when it reaches a listener: one that the session
     * ends without (no resume) was counted as pushed, at the time it was kept.
     */
    @Test
    void aPushKeptForADetachedSessionThatEndsWithoutAResumeIsNotCounted() {
        LockConfig config = LockConfig.builder().keyPrefix("metrics-kept-" + System.nanoTime()).lease(Duration.ofSeconds(5)).build();
        TestRedis.markInService(config.keyPrefix());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (LockService node = LockService.connect(TestRedis.url(), config)) {
            new LockServiceMetrics(node).bindTo(registry);
            LockSession holder = node.openSession("holder", LockListener.NONE);
            Pushes pushes = new Pushes();
            LockSession waiter = node.openSession("waiter", pushes, new SessionOptions(Duration.ofSeconds(30), null));
            Session session = ((Attachment) waiter).toSession();
            result(holder.lock("doc"));
            result(waiter.lock("doc")); // WAIT
            result(waiter.detach()); // the connection dropped: pushes are kept now
            result(holder.unlock("doc")); // RETRY for the detached waiter: kept
            await().atMost(seconds(5)).until(() -> result(session.keptPushes()) == 1);
            assertThat(registry.get("distlock.retry.pushes").counter().count()).isZero();

            result(waiter.closeAsync()); // the session ends without a resume: nobody got the RETRY
            assertThat(pushes.all()).isEmpty();
            assertThat(registry.get("distlock.retry.pushes").counter().count()).isZero();
            assertThat(registry.get("distlock.retry.delay").timer().count()).isZero();
        }
    }

    /** A push kept for a detached session counts once, when the resume hands it to the next listener. */
    @Test
    void aPushKeptForADetachedSessionCountsOnceWhenTheResumeDeliversIt() {
        LockConfig config = LockConfig.builder().keyPrefix("metrics-resume-" + System.nanoTime()).lease(Duration.ofSeconds(5)).build();
        TestRedis.markInService(config.keyPrefix());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (LockService node = LockService.connect(TestRedis.url(), config)) {
            new LockServiceMetrics(node).bindTo(registry);
            LockSession holder = node.openSession("holder", LockListener.NONE);
            LockSession waiter = node.openSession("waiter", new Pushes(), new SessionOptions(Duration.ofSeconds(30), null));
            Session session = ((Attachment) waiter).toSession();
            result(holder.lock("doc"));
            result(holder.lock("queued"));
            result(waiter.lock("doc")); // WAIT
            result(waiter.lock("queued", LockOptions.exclusive().queue())); // QUEUED
            result(waiter.detach());
            result(holder.unlock("doc")); // RETRY, kept
            result(holder.unlock("queued")); // GRANTED, kept
            await().atMost(seconds(5)).until(() -> result(session.keptPushes()) == 2);
            assertThat(registry.get("distlock.retry.pushes").counter().count()).isZero();
            assertThat(registry.get("distlock.granted.pushes").counter().count()).isZero();

            Pushes after = new Pushes();
            ResumeResult resumed = result(node.resume(waiter.id(), waiter.resumeSecret().orElseThrow(), after));
            assertThat(resumed).isInstanceOf(ResumeResult.Resumed.class);
            // Kept in the order they came, which the two paths (a release message, a grant message) do not fix.
            await().atMost(seconds(5)).until(() -> after.all().size() == 2);
            assertThat(after.all()).extracting(Pushes.Push::kind).containsExactlyInAnyOrder(Kind.RETRY, Kind.GRANTED);
            assertThat(registry.get("distlock.retry.pushes").counter().count()).isEqualTo(1);
            assertThat(registry.get("distlock.retry.delay").timer().count()).isEqualTo(1);
            assertThat(registry.get("distlock.granted.pushes").counter().count()).isEqualTo(1);
            ((ResumeResult.Resumed) resumed).session().close();
        }
    }
}
