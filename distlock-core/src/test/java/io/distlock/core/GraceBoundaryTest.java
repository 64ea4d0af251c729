package io.distlock.core;

import static io.distlock.testing.Await.result;
import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import io.distlock.testing.FakeTime;
import io.distlock.testing.Pushes;
import io.distlock.testing.TestRedis;

/**
 * The end of the grace on a clock the test moves (Redis is real): a resume one nanosecond before
 * it succeeds, one at it is refused and the locks are released. And the registry's arbitration
 * between an adoption and the end of the grace: whichever changes the record first wins. And the
 * timers a stopping service leaves on the scheduler: none.
 */
class GraceBoundaryTest {

    private static final Duration GRACE = Duration.ofSeconds(10);
    private static final Duration NANO = Duration.ofNanos(1);

    private final FakeTime time = new FakeTime();
    /** A long lease: renewals on the fake clock are answered in real time, and must not fall behind it. */
    private final LockConfig config = LockConfig.builder().lease(Duration.ofSeconds(60)).ticker(time).scheduler(time)
            .callbackExecutor(Runnable::run).build();

    private RedissonClient client;
    private LockService service;

    @BeforeEach
    void start() {
        TestRedis.flushAll();
        Config c = new Config();
        c.useSingleServer().setAddress(TestRedis.url());
        client = Redisson.create(c);
        service = LockService.create(client, config);
    }

    @AfterEach
    void stop() {
        service.close();
        client.shutdown(0, 0, TimeUnit.SECONDS);
    }

    @Test
    void aResumeOneNanosecondBeforeTheEndOfTheGraceSucceeds() {
        LockSession session = service.openSession("ann", new Pushes(), new SessionOptions(GRACE, null));
        long token = ((LockResult.Locked) result(session.lock("doc"))).token();
        result(session.detach());

        time.advance(GRACE.minus(NANO));
        ResumeResult r = result(service.resume(session.id(), session.resumeSecret().orElseThrow(), new Pushes()));
        assertThat(r).isInstanceOf(ResumeResult.Resumed.class);
        assertThat(((ResumeResult.Resumed) r).locks()).containsEntry("doc", new ResumeResult.Held(token, LockMode.EXCLUSIVE));

        time.advance(NANO); // the grace timer is cancelled: nothing is released
        LockSession probe = service.openSession("probe", new Pushes());
        assertThat(result(probe.lock("doc"))).isInstanceOf(LockResult.Waiting.class);
    }

    @Test
    void aResumeAtTheEndOfTheGraceIsRefusedAndTheLocksAreReleased() {
        LockSession session = service.openSession("ann", new Pushes(), new SessionOptions(GRACE, null));
        result(session.lock("doc"));
        result(session.detach());

        time.advance(GRACE);
        assertThat(result(service.resume(session.id(), session.resumeSecret().orElseThrow(), new Pushes())))
                .isEqualTo(LockService.expired());
        LockSession probe = service.openSession("probe", new Pushes());
        await().atMost(seconds(5)).until(() -> result(probe.lock("doc")) instanceof LockResult.Locked);
    }

    @Test
    void theRecordFollowsTheLocksOfAnAttachedSessionWithoutWaitingForARenewalTick() {
        LockSession session = service.openSession("ann", new Pushes(), new SessionOptions(GRACE, null));
        String key = "distlock:session:" + session.id();
        result(session.lock("doc")); // the fake clock stands still: no renewal tick runs
        await().atMost(seconds(5)).until(() -> String.valueOf(TestRedis.command("HGET", key, "locks")).startsWith("doc\t"));
        result(session.lock("q")); // a second lock, then the first released
        result(session.unlock("doc"));
        await().atMost(seconds(5)).until(() -> String.valueOf(TestRedis.command("HGET", key, "locks")).matches("q\t\\d+\tx\n"));
    }

    /**
     * Found by review: a service that stopped left its resumable sessions' waits and queue timeouts on
     * the application's scheduler: each wait re-checked Redis for ever (every lease, every third of it
     * once its client was shut down), and a place's timeout left a queue for a session that another
     * node may have adopted.
     */
    @Test
    void aServiceThatStopsLeavesNoTimerOfItsResumableSessionsBehind() {
        LockSession holder = service.openSession("holder", new Pushes(), new SessionOptions(GRACE, null));
        result(holder.lock("doc"));
        result(holder.lock("q"));
        LockSession session = service.openSession("ann", new Pushes(), new SessionOptions(GRACE, null));
        assertThat(result(session.lock("doc"))).isInstanceOf(LockResult.Waiting.class); // a re-check at the lease's end
        assertThat(result(session.lock("q", LockOptions.DEFAULT.queue().timeout(Duration.ofSeconds(30)))))
                .isInstanceOf(LockResult.Queued.class); // a timeout
        assertThat(time.pending()).hasSizeGreaterThanOrEqualTo(3); // with the renewal tick

        service.close(); // both left for another node: nothing released, nothing waited for here

        assertThat(time.pending()).isEmpty();
    }

    @Test
    void theRegistryLetsOnlyOneOfAdoptionAndEndClaimWin() {
        for (boolean adoptFirst : new boolean[] {true, false}) {
            LockSession session = service.openSession("ann", new Pushes(), new SessionOptions(GRACE, null));
            result(session.detach());
            SessionRegistry registry = service.registry();
            SessionRegistry.Entry read = result(registry.read(session.id()));
            Session s = (Session) ((Attachment) session).toSession();
            if (adoptFirst) {
                assertThat(result(registry.adopt(session.id(), read, new byte[32], true))).isNotNull();
                assertThat(result(registry.claimEnd(session.id(), s.gen()))).isZero(); // lost: release nothing
            } else {
                assertThat(result(registry.claimEnd(session.id(), s.gen()))).isEqualTo(1L);
                assertThat(result(registry.adopt(session.id(), read, new byte[32], true))).isNull();
            }
        }
    }
}
