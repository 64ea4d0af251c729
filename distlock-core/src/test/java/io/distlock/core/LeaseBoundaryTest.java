package io.distlock.core;

import static io.distlock.testing.Await.result;
import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import io.distlock.testing.FakeTime;
import io.distlock.testing.LogRecorder;
import io.distlock.testing.Pushes;
import io.distlock.testing.Pushes.Kind;
import io.distlock.testing.RedisProcess;
import io.distlock.testing.TcpProxy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * The lease boundaries on a clock the test moves: LOST exactly at the first renewal tick at
 * which two thirds of the lease have passed since the last proof, and a waiter's re-check
 * exactly when the awaited lease, or the quarantine after a data loss, runs out. Redis is real; only time is fake, so each case
 * takes milliseconds and stands one nanosecond on either side of its boundary.
 */
class LeaseBoundaryTest {

    private static final Duration LEASE = Duration.ofSeconds(3);
    private static final Duration TICK = LEASE.dividedBy(6);
    private static final Duration TWO_THIRDS = LEASE.multipliedBy(2).dividedBy(3);
    private static final Duration NANO = Duration.ofNanos(1);
    /** A lease whose sixth is no whole ms (1,666.67 ms): the tick's delay is 1,666 ms. */
    private static final Duration ODD_LEASE = Duration.ofSeconds(10);
    private static final Duration ODD_TICK = Duration.ofMillis(ODD_LEASE.toMillis() / 6);

    private final FakeTime time = new FakeTime();
    /** Pushes are delivered on the thread that decides them: the test's, while it moves the clock. */
    private final LockConfig config = LockConfig.builder().lease(LEASE).ticker(time).scheduler(time)
            .callbackExecutor(Runnable::run).build();

    private RedisProcess redis;
    private TcpProxy proxy;
    private RedissonClient client;

    @BeforeEach
    void start() {
        redis = RedisProcess.start();
        proxy = TcpProxy.start(redis.port());
        Config redissonConfig = new Config();
        redissonConfig.useSingleServer().setAddress("redis://127.0.0.1:" + proxy.port());
        client = Redisson.create(redissonConfig);
    }

    @AfterEach
    void stop() {
        proxy.heal();
        client.shutdown(0, 0, TimeUnit.SECONDS);
        proxy.close();
        redis.close();
    }

    @Test
    void aLockWithoutProofIsLostAtTheTickWhereTwoThirdsOfTheLeaseHavePassed() {
        try (LockService service = LockService.create(client, config)) {
            Pushes pushes = new Pushes();
            LockSession session = service.openSession("holder", pushes);
            LockResult locked = result(session.lock("doc")); // its lease starts now
            assertThat(locked).isInstanceOf(LockResult.Locked.class);
            proxy.blackhole(); // renewals go out and are never answered

            time.advance(TWO_THIRDS.minus(NANO));
            assertThat(pushes.all()).isEmpty();
            assertThat(session.heldLocks()).containsKey("doc");

            time.advance(NANO); // the tick at two thirds of the lease
            // told from the session's serial executor, which Redisson's thread may still be draining
            await().atMost(seconds(5)).until(() -> !pushes.all().isEmpty());
            assertThat(pushes.all()).extracting(Pushes.Push::kind, Pushes.Push::token)
                    .containsExactly(tuple(Kind.LOST, ((LockResult.Locked) locked).token()));
            assertThat(session.heldLocks()).isEmpty();
        }
    }

    @Test
    void aRenewalThatIsAnsweredMovesTheBoundaryToItsSendTime() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (LockService service = LockService.create(client, config)) {
            new LockServiceMetrics(service).bindTo(registry);
            Pushes pushes = new Pushes();
            LockSession session = service.openSession("holder", pushes);
            assertThat(result(session.lock("doc"))).isInstanceOf(LockResult.Locked.class);

            time.advance(TICK); // the first tick renews, and Redis answers
            await().atMost(seconds(5)).until(() -> registry.counter("distlock.lease.renewals", "result", "renewed").count() == 1);
            proxy.blackhole();

            time.advance(TWO_THIRDS.minus(NANO)); // two thirds after the renewal was sent, less a nanosecond
            assertThat(pushes.all()).isEmpty();
            time.advance(NANO);
            await().atMost(seconds(5)).until(() -> !pushes.all().isEmpty());
            assertThat(pushes.all()).extracting(Pushes.Push::kind).containsExactly(Kind.LOST);
        }
    }

    @Test
    void aRenewalThatGetsNoAnswerInTimeIsSentAgainAtTheNextTickAndTheLockIsKept() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (LockService service = LockService.create(client, config)) {
            new LockServiceMetrics(service).bindTo(registry);
            Pushes pushes = new Pushes();
            LockSession session = service.openSession("holder", pushes);
            long token = ((LockResult.Locked) result(session.lock("doc"))).token(); // its lease starts now
            proxy.blackhole(); // the answer to the first renewal comes after its response timeout (a sixth of the lease, real time)

            time.advance(TICK);
            await().atMost(seconds(5)).until(() -> registry.counter("distlock.lease.renewals", "result", "failed").count() == 1);
            proxy.heal(); // Redis answers again (and the late answer is dropped)
            time.advance(TICK); // the next tick renews again, and Redis answers
            await().atMost(seconds(5)).until(() -> registry.counter("distlock.lease.renewals", "result", "renewed").count() >= 1);

            time.advance(TWO_THIRDS.minus(TICK.multipliedBy(2))); // where a lock without any proof is lost
            assertThat(pushes.all()).isEmpty();
            assertThat(session.heldLocks()).containsEntry("doc", token);
        }
    }

    /**
     * A renewal out for its whole answer timeout has failed, reported or not: the tick that comes
     * with that timeout (the two are the same sixth of the lease) renews again instead of
     * leaving it for the tick after; but not a third while both are out. On the fake clock the
     * ticks come before the renewals' timeouts are reported (real time), the order a loaded
     * machine may give.
     */
    @Test
    void aTickRenewsAgainWhenTheRenewalOutHasBeenOutForItsWholeTimeout() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (LockService service = LockService.create(client, config.toBuilder().lease(ODD_LEASE).build())) {
            new LockServiceMetrics(service).bindTo(registry);
            Pushes pushes = new Pushes();
            LockSession session = service.openSession("holder", pushes);
            long token = ((LockResult.Locked) result(session.lock("doc"))).token();
            proxy.blackhole();

            time.advance(ODD_TICK); // the first renewal goes out, and gets no answer
            // Out for a whole timeout on the node's clock (1,666 ms, as the tick's delay; an exact
            // sixth of the lease would be 0.67 ms more): a second one goes out. (That no third goes
            // while two are out, the keep-place test below holds.)
            time.advance(ODD_TICK);
            await().atMost(seconds(5)).until(() -> registry.counter("distlock.lease.renewals", "result", "failed").count() == 2);
            assertThat(pushes.all()).isEmpty();
            assertThat(session.heldLocks()).containsEntry("doc", token); // LOST only at two thirds of the lease, the next tick
        }
    }

    @Test
    void aWaiterLooksAgainExactlyWhenTheAwaitedLeaseRunsOut() {
        try (LockService direct = LockService.connect(redis.url(), LockConfig.builder().lease(LEASE).build());
             LockService service = LockService.create(client, config)) {
            LockSession holder = direct.openSession("holder", new Pushes());
            assertThat(result(holder.lock("doc"))).isInstanceOf(LockResult.Locked.class);
            Pushes pushes = new Pushes();
            LockSession waiter = service.openSession("waiter", pushes);
            assertThat(result(waiter.lock("doc"))).isEqualTo(new LockResult.Waiting("holder"));

            // The re-check is due when the holder's lease would run out: its TTL then, + 5 ms. It is
            // scheduled right after the WAIT is delivered.
            await().atMost(seconds(5)).until(() -> time.pending().size() == 2);
            Duration recheck = time.pending().stream().filter(d -> !d.equals(TICK)).findFirst().orElseThrow();
            assertThat(recheck).isBetween(LEASE.minusMillis(500), LEASE.plusMillis(5));
            // The lock goes away as an expiry does: no release is published, only a look tells.
            redis.command("DEL", "distlock:lock:doc");

            time.advance(recheck.minus(NANO));
            assertThat(pushes.all()).isEmpty();
            time.advance(NANO); // the re-check runs, and finds the lock free
            await().atMost(seconds(5)).until(() -> !pushes.all().isEmpty());
            assertThat(pushes.all()).extracting(Pushes.Push::kind).containsExactly(Kind.RETRY);
        }
    }

    @Test
    void aWaiterInTheDataLossQuarantineLooksAgainExactlyWhenItEnds() {
        redis.command("DEL", "distlock:epoch"); // as after a restart without persistence: the next grant starts a quarantine
        try (LockService service = LockService.create(client, config)) {
            Pushes pushes = new Pushes();
            LockSession waiter = service.openSession("waiter", pushes);
            assertThat(result(waiter.lock("doc"))).isEqualTo(new LockResult.Waiting(LockResult.Waiting.RECOVERING));

            await().atMost(seconds(5)).until(() -> time.pending().size() == 2);
            Duration recheck = time.pending().stream().filter(d -> !d.equals(TICK)).findFirst().orElseThrow();
            assertThat(recheck).isBetween(LEASE.minusMillis(500), LEASE.plusMillis(5));
            // Redis's clock is real: end the quarantine there as its own time would.
            String marker = String.valueOf(redis.command("GET", "distlock:epoch"));
            redis.command("SET", "distlock:epoch", marker.substring(0, marker.lastIndexOf(':') + 1) + "0");

            time.advance(recheck.minus(NANO));
            assertThat(pushes.all()).isEmpty();
            time.advance(NANO);
            await().atMost(seconds(5)).until(() -> !pushes.all().isEmpty());
            assertThat(pushes.all()).extracting(Pushes.Push::kind).containsExactly(Kind.RETRY);
            assertThat(result(waiter.lock("doc"))).isInstanceOf(LockResult.Locked.class);
        }
    }

    @Test
    void aQueuePlaceWithoutProofIsGivenUpAtTheTickWhereTwoThirdsOfTheLeaseHavePassed() {
        try (LockService direct = LockService.connect(redis.url(), LockConfig.builder().lease(LEASE).build());
             LockService service = LockService.create(client, config)) {
            assertThat(result(direct.openSession("holder", new Pushes()).lock("doc"))).isInstanceOf(LockResult.Locked.class);
            Pushes pushes = new Pushes();
            LockSession waiter = service.openSession("waiter", pushes);
            assertThat(result(waiter.lock("doc", LockOptions.exclusive().queue()))).isEqualTo(new LockResult.Queued(1, "holder"));
            proxy.blackhole(); // keep-place commands go out and are never answered

            time.advance(TWO_THIRDS.minus(NANO));
            assertThat(pushes.all()).isEmpty();
            assertThat(waiter.queuedLocks()).containsExactly("doc");

            time.advance(NANO);
            await().atMost(seconds(5)).until(() -> !pushes.all().isEmpty());
            assertThat(pushes.all()).extracting(Pushes.Push::kind, Pushes.Push::detail).containsExactly(tuple(Kind.CANCELLED, "backend"));
            assertThat(waiter.queuedLocks()).isEmpty();
        }
    }

    /**
     * A grant of a queued request that reaches the node once the place's last proof is two thirds
     * of a lease old (its message was late: a stalled node, a slow pub/sub link) is not told:
     * Redis may have let it go (the hand-over gave it what was left of the place's lease) and
     * granted the lock again. The place is given up, as lease renewal would give it up at that
     * point, and the grant is freed. Here the renewal tick never runs (the scheduler's clock does
     * not move), as on a node whose tick is late: only the grant's message can tell.
     */
    @Test
    void aGrantOfAPlaceThatComesTwoThirdsOfTheLeaseAfterItsProofIsNotToldButFreed() {
        try (LockService direct = LockService.connect(redis.url(), LockConfig.builder().lease(LEASE).build());
             LockService service = LockService.create(client, withoutTicks())) {
            LockSession holder = direct.openSession("holder", new Pushes());
            assertThat(result(holder.lock("doc"))).isInstanceOf(LockResult.Locked.class);
            Pushes pushes = new Pushes();
            LockSession waiter = service.openSession("waiter", pushes);
            long askedAt = System.nanoTime(); // Redis's clock is real: the place, and a grant of it, live a lease from after this
            assertThat(result(waiter.lock("doc", LockOptions.exclusive().queue()))).isEqualTo(new LockResult.Queued(1, "holder"));

            time.advance(TWO_THIRDS);
            assertThat(result(holder.unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED); // the hand-over: a grant message to the waiter's node

            await().atMost(seconds(5)).until(() -> !pushes.all().isEmpty());
            assertThat(pushes.all()).extracting(Pushes.Push::kind, Pushes.Push::detail).containsExactly(tuple(Kind.CANCELLED, "backend"));
            assertThat(waiter.heldLocks()).isEmpty();
            assertThat(waiter.queuedLocks()).isEmpty();
            await().atMost(seconds(5)).pollInterval(Duration.ofMillis(10)).until(() -> redis.command("HGET", "distlock:lock:doc", "owner") == null);
            assertThat(Duration.ofNanos(System.nanoTime() - askedAt)).as("given back, not run out").isLessThan(LEASE);
            assertThat(result(direct.openSession("next", new Pushes()).lock("doc"))).isInstanceOf(LockResult.Locked.class);
        }
    }

    /** One nanosecond earlier, the same grant is told: a third of the place's lease is left in Redis. */
    @Test
    void aGrantOfAPlaceThatComesJustBeforeTwoThirdsOfTheLeaseAfterItsProofIsTold() {
        try (LockService direct = LockService.connect(redis.url(), LockConfig.builder().lease(LEASE).build());
             LockService service = LockService.create(client, withoutTicks())) {
            LockSession holder = direct.openSession("holder", new Pushes());
            assertThat(result(holder.lock("doc"))).isInstanceOf(LockResult.Locked.class);
            Pushes pushes = new Pushes();
            LockSession waiter = service.openSession("waiter", pushes);
            assertThat(result(waiter.lock("doc", LockOptions.exclusive().queue()))).isEqualTo(new LockResult.Queued(1, "holder"));

            time.advance(TWO_THIRDS.minus(NANO));
            assertThat(result(holder.unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);

            Pushes.Push granted = pushes.expect(Kind.GRANTED, "doc", seconds(5));
            assertThat(waiter.heldLocks()).containsEntry("doc", granted.token());
        }
    }

    /**
     * The same grant found by the session's own request (asked again while queued: the attempt's
     * hand-over grants the place, whose lease the attempt does not extend): not answered with; the
     * attempt gives it back and asks anew, and is answered with a grant of its own.
     */
    @Test
    void aRequestAnsweredWithItsPlacesGrantTwoThirdsOfTheLeaseAfterTheProofGetsAGrantOfItsOwn() {
        try (LockService direct = LockService.connect(redis.url(), LockConfig.builder().lease(LEASE).build());
             LockService service = LockService.create(client, withoutTicks())) {
            assertThat(result(direct.openSession("holder", new Pushes()).lock("doc"))).isInstanceOf(LockResult.Locked.class);
            Pushes pushes = new Pushes();
            LockSession waiter = service.openSession("waiter", pushes);
            assertThat(result(waiter.lock("doc", LockOptions.exclusive().queue()))).isEqualTo(new LockResult.Queued(1, "holder"));
            String placeAttempt = attemptOf(String.valueOf(redis.command("HGET", "distlock:queued:doc", waiter.id())));
            redis.command("HDEL", "distlock:lock:doc", "owner", "holder", "attempt"); // the holder's grant ends, and nothing hands it over

            time.advance(TWO_THIRDS);
            LockResult answer = result(waiter.lock("doc", LockOptions.exclusive().queue())); // its hand-over grants the place

            assertThat(answer).isInstanceOf(LockResult.Locked.class);
            assertThat(redis.command("HGET", "distlock:lock:doc", "attempt")).as("the grant answered is the request's own, not the place's")
                    .isNotEqualTo(placeAttempt);
            assertThat(waiter.heldLocks()).containsEntry("doc", ((LockResult.Locked) answer).token());
            assertThat(pushes.all()).isEmpty();
        }
    }

    /**
     * The same with a shared place asked again exclusive: Redis answers with the place's shared
     * grant (normally told as that request's {@code GRANTED}, the exclusive request refused
     * {@code HELD_SHARED}); too late to be told, it is given back and the exclusive request asks anew.
     */
    @Test
    void anExclusiveRequestAnsweredWithItsSharedPlacesGrantTwoThirdsOfTheLeaseAfterTheProofGetsAGrantOfItsOwn() {
        try (LockService direct = LockService.connect(redis.url(), LockConfig.builder().lease(LEASE).build());
             LockService service = LockService.create(client, withoutTicks())) {
            assertThat(result(direct.openSession("holder", new Pushes()).lock("doc"))).isInstanceOf(LockResult.Locked.class);
            Pushes pushes = new Pushes();
            LockSession waiter = service.openSession("waiter", pushes);
            assertThat(result(waiter.lock("doc", LockOptions.shared().queue()))).isEqualTo(new LockResult.Queued(1, "holder"));
            redis.command("HDEL", "distlock:lock:doc", "owner", "holder", "attempt"); // the holder's grant ends, and nothing hands it over

            time.advance(TWO_THIRDS);
            LockResult answer = result(waiter.lock("doc", LockOptions.exclusive().queue())); // its hand-over grants the place, shared

            assertThat(answer).isInstanceOf(LockResult.Locked.class);
            assertThat(redis.command("HGET", "distlock:lock:doc", "owner")).isEqualTo(waiter.id());
            assertThat(redis.command("HEXISTS", "distlock:shared:doc", waiter.id())).isEqualTo(0L);
            assertThat(waiter.heldLocks()).containsEntry("doc", ((LockResult.Locked) answer).token());
            assertThat(pushes.all()).isEmpty();
        }
    }

    /**
     * A request asked again while queued that is still out when lease renewal gives the place up
     * (two thirds of the lease without proof: {@code CANCELLED}, and a leave queued behind the
     * request) fails: here the hand-over the request itself ran granted the place, and the queued
     * leave frees that grant to the next in line. Answered with the grant, the session would hold
     * what the leave then freed (found by review); answered with a new grant or place, the client
     * would take it for what the {@code CANCELLED}, which reaches it after the answer (a connection
     * places a push behind the replies it owes), ends (found by the next review).
     */
    @Test
    void aRepeatOutWhileRenewalGivesThePlaceUpFailsAndThePlacesGrantGoesToTheNext() {
        try (LockService direct = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(30)).build());
             LockService service = LockService.create(client, config)) {
            assertThat(result(direct.openSession("holder", new Pushes()).lock("doc"))).isInstanceOf(LockResult.Locked.class);
            Pushes pushes = new Pushes();
            LockSession waiter = service.openSession("waiter", pushes);
            assertThat(result(waiter.lock("doc", LockOptions.exclusive().queue()))).isEqualTo(new LockResult.Queued(1, "holder"));
            Pushes otherPushes = new Pushes();
            LockSession other = direct.openSession("other", otherPushes);
            assertThat(result(other.lock("doc", LockOptions.exclusive().queue()))).isInstanceOf(LockResult.Queued.class);
            redis.command("HDEL", "distlock:lock:doc", "owner", "holder", "attempt"); // the holder's grant ends, and nothing hands it over

            CompletionStage<LockResult> again = repeatOutWhileThePlaceIsGivenUp(waiter);

            assertThatThrownBy(() -> result(again)).hasCauseInstanceOf(BackendUnavailableException.class);
            otherPushes.expect(Kind.GRANTED, "doc", seconds(5));
            assertThat(waiter.heldLocks()).isEmpty();
            assertThat(waiter.queuedLocks()).isEmpty();
            assertThat(pushes.all()).extracting(Pushes.Push::kind, Pushes.Push::detail).containsExactly(tuple(Kind.CANCELLED, "backend"));
        }
    }

    /**
     * The same request answered with the place itself (the lock still held): it fails, and the
     * queued leave drops the place; the session queues nowhere, as its {@code CANCELLED} says.
     */
    @Test
    void aRepeatOutWhileRenewalGivesThePlaceUpFailsAndLeavesNoPlace() {
        try (LockService direct = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(30)).build());
             LockService service = LockService.create(client, config)) {
            LockSession holder = direct.openSession("holder", new Pushes());
            assertThat(result(holder.lock("doc"))).isInstanceOf(LockResult.Locked.class);
            Pushes pushes = new Pushes();
            LockSession waiter = service.openSession("waiter", pushes);
            assertThat(result(waiter.lock("doc", LockOptions.exclusive().queue()))).isEqualTo(new LockResult.Queued(1, "holder"));
            Pushes otherPushes = new Pushes();
            assertThat(result(direct.openSession("other", otherPushes).lock("doc", LockOptions.exclusive().queue())))
                    .isInstanceOf(LockResult.Queued.class);

            CompletionStage<LockResult> again = repeatOutWhileThePlaceIsGivenUp(waiter);

            assertThatThrownBy(() -> result(again)).hasCauseInstanceOf(BackendUnavailableException.class);
            await().atMost(seconds(5)).until(() -> redis.command("HGET", "distlock:queued:doc", waiter.id()) == null);
            assertThat(waiter.queuedLocks()).isEmpty();
            assertThat(result(holder.unlock("doc"))).isEqualTo(UnlockResult.UNLOCKED);
            otherPushes.expect(Kind.GRANTED, "doc", seconds(5));
            assertThat(pushes.all()).extracting(Pushes.Push::kind, Pushes.Push::detail).containsExactly(tuple(Kind.CANCELLED, "backend"));
        }
    }

    /**
     * The same, but lease renewal gives the place up only once the answer is in, right after the
     * node looked at the place's proof and found it young enough (found by review 2026-12-06, a
     * thread switch wide; the clock pauses the answer's thread at that look): answered LOCKED with
     * the place's grant, the session held what the renewal's queued leave then freed to the next.
     */
    @Test
    void aPlaceGivenUpJustAfterItsGrantWasFoundYoungEnoughIsNotAnswered() {
        placeGivenUpJustAfterItsGrantWasFoundYoungEnough(LockOptions.exclusive().queue(), LockOptions.exclusive().queue());
    }

    /** The same for an exclusive request answered with its shared place's grant (told GRANTED shared before). */
    @Test
    void aSharedPlaceGivenUpJustAfterItsGrantWasFoundYoungEnoughIsNotAnswered() {
        placeGivenUpJustAfterItsGrantWasFoundYoungEnough(LockOptions.shared().queue(), LockOptions.exclusive().queue());
    }

    private void placeGivenUpJustAfterItsGrantWasFoundYoungEnough(LockOptions queuedAs, LockOptions askedAgainAs) {
        try (LockService direct = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(30)).build());
             LockService service = LockService.create(client, config)) {
            assertThat(result(direct.openSession("holder", new Pushes()).lock("doc"))).isInstanceOf(LockResult.Locked.class);
            Pushes pushes = new Pushes();
            LockSession waiter = service.openSession("waiter", pushes);
            assertThat(result(waiter.lock("doc", queuedAs))).isEqualTo(new LockResult.Queued(1, "holder"));
            Pushes otherPushes = new Pushes();
            LockSession other = direct.openSession("other", otherPushes);
            assertThat(result(other.lock("doc", LockOptions.exclusive().queue()))).isInstanceOf(LockResult.Queued.class);
            redis.command("HDEL", "distlock:lock:doc", "owner", "holder", "attempt"); // the request's own hand-over grants the place

            proxy.capture(true);
            proxy.delay(Duration.ofMillis(150)); // the keep-place commands of the ticks below are answered too late
            CompletionStage<LockResult> again = waiter.lock("doc", askedAgainAs);
            await().atMost(seconds(5)).until(() -> proxy.captured().stream().anyMatch(command -> command.contains("distlock:lock:doc")));
            AtomicBoolean givenUp = new AtomicBoolean();
            time.atNextReadElsewhere(() -> { // the answer's thread, looking at the place's proof
                Thread ticks = new Thread(() -> time.advance(TWO_THIRDS)); // the last tick gives the place up
                ticks.start();
                try {
                    ticks.join(TimeUnit.SECONDS.toMillis(10));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                givenUp.set(waiter.queuedLocks().isEmpty());
            });

            Throwable failure = catchThrowable(() -> result(again));
            assertThat(givenUp).as("the place was given up while the answer's thread looked at the clock").isTrue();
            assertThat(failure).hasCauseInstanceOf(BackendUnavailableException.class);
            otherPushes.expect(Kind.GRANTED, "doc", seconds(5));
            assertThat(waiter.heldLocks()).isEmpty();
            assertThat(pushes.all()).extracting(Pushes.Push::kind, Pushes.Push::detail).containsExactly(tuple(Kind.CANCELLED, "backend"));
        }
    }

    /**
     * A re-lock (a refresh of a lock held) still out when lease renewal gives that lock up as
     * {@code LOST} fails: its {@code LOST} reaches the client after the answer, and a grant
     * answered now (asked for anew, as the session once did) would seem to be the one lost, while
     * the session kept renewing it (found by review). The lost grant's release is queued: the
     * lock is free for others right after.
     */
    @Test
    void aRelockOutWhileRenewalGivesTheLockUpFails() {
        try (LockService service = LockService.create(client, config);
             LockService direct = LockService.connect(redis.url(), LockConfig.builder().lease(LEASE).build())) {
            Pushes pushes = new Pushes();
            LockSession holder = service.openSession("holder", pushes);
            assertThat(result(holder.lock("doc"))).isInstanceOf(LockResult.Locked.class); // its lease starts now

            proxy.capture(true);
            proxy.delay(Duration.ofMillis(150)); // each way: answered 300 ms after it was sent, within the command timeout (500 ms)
            CompletionStage<LockResult> again = holder.lock("doc");
            await().atMost(seconds(5)).until(() -> proxy.captured().stream().anyMatch(command -> command.contains("distlock:lock:doc")));
            time.advance(TWO_THIRDS); // the renewals' answers come too late: the last tick gives the lock up
            proxy.delay(Duration.ZERO);

            assertThatThrownBy(() -> result(again)).hasCauseInstanceOf(BackendUnavailableException.class);
            assertThat(pushes.all()).extracting(Pushes.Push::kind, Pushes.Push::detail).containsExactly(tuple(Kind.LOST, "lease"));
            assertThat(holder.heldLocks()).isEmpty();
            LockSession next = direct.openSession("next", new Pushes());
            await().atMost(seconds(5)).until(() -> result(next.lock("doc")) instanceof LockResult.Locked);
        }
    }

    /**
     * Found by review (2026-12-07): lease renewal looks at a grant, finds its lease unproven for two
     * thirds of it, and gives it up; a re-lock answered between that look and the give-up (on
     * Redisson's thread, a few instructions apart) had proven the lease anew and answered LOCKED
     * with its token. The grant was given up all the same: the LOST and the LOCKED reached the
     * listener in either order, and a LOST told first seemed to end the grant before, not the one
     * just answered, while the session released the lock in Redis. The give-up looks again, atomically
     * with the re-lock's refresh. The two threads are stood exactly there: the clock moves without
     * renewal ticks (they run on a scheduler nobody advances), and the give-up is called as the
     * renewal calls it, with the grant it looked at before the re-lock. The control: with no re-lock,
     * the same call gives the lock up and tells LOST.
     */
    @Test
    void aGrantProvenAgainSinceTheRenewalLookedIsNotGivenUp() {
        FakeTime clock = new FakeTime();
        LockConfig noTicks = LockConfig.builder().lease(LEASE).ticker(clock).scheduler(new FakeTime())
                .callbackExecutor(Runnable::run).build();
        try (LockService service = LockService.create(client, noTicks)) {
            Pushes pushes = new Pushes();
            Session holder = (Session) service.openSession("holder", pushes);
            long token = ((LockResult.Locked) result(holder.lock("doc"))).token(); // its lease starts now
            Session.Grant looked = holder.grants().get("doc");

            clock.advance(TWO_THIRDS); // a renewal tick now finds the lease unproven for two thirds of it
            assertThat(result(holder.lock("doc"))).as("the re-lock, answered after that look").isEqualTo(new LockResult.Locked(token));
            assertThat(holder.lose("doc", looked, LossCause.LEASE)).as("the tick's give-up, after the re-lock").isFalse();
            assertThat(pushes.all()).isEmpty();
            assertThat(holder.heldLocks()).containsEntry("doc", token);

            clock.advance(TWO_THIRDS); // the control: nothing proved it since
            assertThat(holder.lose("doc", looked, LossCause.LEASE)).isTrue();
            // told on the session's stream, which Redisson's thread may still be draining
            await().atMost(seconds(5)).until(() -> !pushes.all().isEmpty());
            assertThat(pushes.all()).extracting(Pushes.Push::kind, Pushes.Push::token).containsExactly(tuple(Kind.LOST, token));
            assertThat(holder.heldLocks()).isEmpty();
        }
    }

    /**
     * Found by review (2026-12-07): a grant is kept on Redisson's thread and its answer delivered
     * later, on the session's serial executor; a grant given up in between (a queue place's grant,
     * whose lease counts from the place's last proof, can reach two thirds of it right after it is
     * kept) had its LOST told ahead of the answer, or right behind it, and the answer still told the
     * grant: {@code LOST t} then {@code LOCKED t}, and the client held a lock the session had let go.
     * The answer now fails when its grant is gone by its delivery. The callbacks run when the test
     * says: the answer waits in the session's stream while the lease, proven when the lock was sent,
     * is given up as a renewal tick gives it up (the clock moved two thirds of the lease; no tick runs
     * on its own). This stands in the wider half of the window (the LOST queued behind the answer,
     * where the old order, LOCKED then LOST, was allowed): it pins the rule, a grant gone by its
     * answer's delivery is not answered; the half where the LOST is queued first (a thread switch
     * between the keep and the hand-over to the stream) has no hook to stand in, and the same check
     * covers it.
     */
    @Test
    void aGrantGivenUpBeforeItsAnswerIsDeliveredIsNotAnswered() {
        FakeTime clock = new FakeTime();
        java.util.concurrent.ConcurrentLinkedQueue<Runnable> callbacks = new java.util.concurrent.ConcurrentLinkedQueue<>();
        LockConfig held = LockConfig.builder().lease(LEASE).ticker(clock).scheduler(new FakeTime()).callbackExecutor(callbacks::add).build();
        try (LockService service = LockService.create(client, held)) {
            Pushes pushes = new Pushes();
            Session holder = (Session) service.openSession("holder", pushes);
            CompletionStage<LockResult> lock = holder.lock("doc");
            await().atMost(seconds(5)).until(() -> holder.grants().containsKey("doc")); // kept; its answer waits in the stream
            Session.Grant kept = holder.grants().get("doc");
            clock.advance(TWO_THIRDS);
            assertThat(holder.lose("doc", kept, LossCause.LEASE)).isTrue();

            await().atMost(seconds(5)).until(() -> {
                for (Runnable r; (r = callbacks.poll()) != null; ) {
                    r.run();
                }
                return lock.toCompletableFuture().isDone() && !pushes.all().isEmpty();
            });
            assertThat(catchThrowable(() -> result(lock))).hasCauseInstanceOf(BackendUnavailableException.class);
            assertThat(pushes.all()).extracting(Pushes.Push::kind, Pushes.Push::token).containsExactly(tuple(Kind.LOST, kept.token()));
            assertThat(holder.heldLocks()).isEmpty();
        }
    }

    /**
     * Found by review (2026-12-07): a session with a grace holds back what it is told while an answer
     * that took a lock waits for its registry write (a LOST of the grant it gives comes after it). It
     * held back everything, so a LOST given up meanwhile waited one or two registry timeouts, up to a
     * third of the lease when Redis does not answer, and reached its holder near the lease's end or
     * after it: a LOST of another lock, and a LOST of the very grant the answer gives (a queue place's
     * grant, whose lease counts from the place's last proof, can be given up while its answer waits).
     * Now a LOST of another lock goes at once, and one of the answer's only grant takes the answer with
     * it, ahead of the record. Here the registry write of a lock's answer is out (delayed each way,
     * answered within its timeout) when a tick gives up two leases: that of a lock held since before,
     * and that of the lock just taken (its command sent when the clock stood at the other's proof).
     */
    @Test
    void aLostIsNotHeldBehindAnAnswerWaitingForItsRegistryWrite() {
        Duration lease = Duration.ofSeconds(24); // a command timeout of 4 s: room for a slow machine within the delays
        LockConfig config = LockConfig.builder().lease(lease).ticker(time).scheduler(time).callbackExecutor(Runnable::run).build();
        try (LockService service = LockService.create(client, config)) {
            List<String> told = new java.util.concurrent.CopyOnWriteArrayList<>();
            LockListener listener = new LockListener() {
                @Override
                public void lost(String lock, long token, LossCause cause) {
                    told.add("LOST " + lock);
                }
            };
            LockSession holder = service.openSession("holder", listener, new SessionOptions(Duration.ofSeconds(30), null));
            result(holder.recorded());
            assertThat(result(holder.lock("held"))).isInstanceOf(LockResult.Locked.class);
            String record = "distlock:session:" + holder.id();

            proxy.capture(true);
            proxy.delay(Duration.ofSeconds(1)); // each way: the registry write is out for 2 s (the test stands in it), within its timeout
            CompletionStage<LockResult> taken = holder.lock("taken");
            taken.whenComplete((r, e) -> told.add(r instanceof LockResult.Locked ? "LOCKED taken" : "failed: " + r + " " + e));
            await().atMost(seconds(10)).until(() -> proxy.captured().stream().anyMatch(command -> command.contains(record)));
            assertThat(taken.toCompletableFuture()).as("the answer waits for its registry write").isNotDone();
            time.advance(lease.multipliedBy(2).dividedBy(3)); // the last tick gives up both leases, proven at 0 at best

            assertThat(told).as("told at the tick, while the registry write is out").containsExactlyInAnyOrder("LOST held", "LOCKED taken", "LOST taken");
            assertThat(told.indexOf("LOCKED taken")).as("the answer before its grant's LOST: %s", told).isLessThan(told.indexOf("LOST taken"));
            proxy.delay(Duration.ZERO);
        }
    }

    /**
     * Found by review (2026-12-07): a queue place's grant is told GRANTED after its operation's answer,
     * which for a session with a grace waits for the registry write that lists the grant; the grant's
     * lease counts from the place's last proof, and a tick that gave it up meanwhile had its LOST held
     * back with everything else and released ahead of the GRANTED: {@code LOST t}, then
     * {@code GRANTED t}, and the client held what the session had let go. Now the step says it tells
     * that lock, and the LOST takes it along at the tick: the request is told it ended (CANCELLED, its
     * grant being gone by then), then the LOST, which names a grant the client never had. A GRANTED
     * told with no check waited behind a LOST the same way without a grace, a few instructions wide:
     * it is told only if its grant is still held. The place is proven at the clock's 0,
     * the grant comes while the clock still stands there, and the registry write it waits for is out
     * (each way delayed, answered within its timeout) when the clock moves two thirds of the lease.
     */
    @Test
    void aPlacesGrantGivenUpWhileItsRecordIsWrittenIsNeverToldAfterItsLost() {
        Duration lease = Duration.ofSeconds(24); // a command timeout of 4 s: room for a slow machine within the delays
        LockConfig config = LockConfig.builder().lease(lease).ticker(time).scheduler(time).callbackExecutor(Runnable::run).build();
        try (LockService direct = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(30)).build());
             LockService service = LockService.create(client, config)) {
            LockSession holder = direct.openSession("holder", new Pushes());
            assertThat(result(holder.lock("doc"))).isInstanceOf(LockResult.Locked.class);
            List<String> told = new java.util.concurrent.CopyOnWriteArrayList<>();
            LockListener listener = new LockListener() {
                @Override
                public void granted(String lock, long token, LockMode mode) {
                    told.add("GRANTED " + lock);
                }

                @Override
                public void lost(String lock, long token, LossCause cause) {
                    told.add("LOST " + lock);
                }

                @Override
                public void cancelled(String lock, CancelReason reason) {
                    told.add("CANCELLED " + lock);
                }
            };
            LockSession waiter = service.openSession("waiter", listener, new SessionOptions(Duration.ofSeconds(30), null));
            result(waiter.recorded());
            assertThat(result(waiter.lock("doc", LockOptions.exclusive().queue()))).isEqualTo(new LockResult.Queued(1, "holder"));
            String record = "distlock:session:" + waiter.id();

            proxy.capture(true);
            proxy.delay(Duration.ofSeconds(1)); // each way: the registry write is out for 2 s (the test stands in it), within its timeout
            result(holder.unlock("doc")); // the hand-over grants the place; its message reaches the waiter's node late
            await().atMost(seconds(10)).until(() -> proxy.captured().stream().anyMatch(command -> command.contains(record)));
            assertThat(told).as("the grant is told after the registry write").isEmpty();
            time.advance(lease.multipliedBy(2).dividedBy(3)); // the last tick gives the grant up: its place was proven at 0

            assertThat(told).as("told at the tick, while the registry write is out").containsExactly("CANCELLED doc", "LOST doc");
            proxy.delay(Duration.ZERO);
        }
    }

    /**
     * Found by review (2026-12-06): an mlock naming a lock the session queued for (its place at the
     * head, the lock free) and a lock it held, answered after a tick gave the held one up as LOST,
     * failed and forgot its new grants (the LOST was told meanwhile), but the place whose grant it
     * had replaced was dropped without a word: the client, told QUEUED and nothing since, waited for
     * a GRANTED that never came. The place is given up and told (CANCELLED).
     */
    @Test
    void anMlockThatFailsOnALockLostMeanwhileTellsThePlaceItEnded() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (LockService service = LockService.create(client, config)) {
            new LockServiceMetrics(service).bindTo(meters);
            LockSession holder = service.openSession("holder", new Pushes());
            assertThat(result(holder.lock("L"))).isInstanceOf(LockResult.Locked.class);
            Pushes pushes = new Pushes();
            LockSession session = service.openSession("me", pushes);
            assertThat(result(session.lock("M"))).isInstanceOf(LockResult.Locked.class); // its lease proven now, and not again
            assertThat(result(session.lock("L", LockOptions.DEFAULT.queue()))).isInstanceOf(LockResult.Queued.class);

            proxy.blackhole(); // three ticks whose renewals fail (time out)
            for (int i = 0; i < 3; i++) {
                double failed = renewalsFailed(meters);
                time.advance(TICK);
                await().atMost(seconds(5)).until(() -> renewalsFailed(meters) > failed);
            }
            proxy.heal();
            redis.command("PEXPIRE", "distlock:lock:M", "60000"); // Redis's clock ran on meanwhile
            // The place is proven again by the request asked again; M's lease is not.
            assertThat(result(session.lock("L", LockOptions.DEFAULT.queue()))).isInstanceOf(LockResult.Queued.class);
            redis.command("DEL", "distlock:lock:L"); // its holder's lease ran out: L is free, the session's place at the head

            proxy.capture(true);
            proxy.delay(Duration.ofMillis(150)); // each way: answered 300 ms after it was sent, within the command timeout (500 ms)
            CompletionStage<MultiLockResult> all = session.lockAll(java.util.List.of("L", "M"));
            await().pollInterval(Duration.ofMillis(5)).atMost(seconds(5))
                    .until(() -> proxy.captured().stream().anyMatch(command -> command.contains("distlock:lock:M")));
            proxy.blackhole(); // the mlock (or its answer) held until the tick has given M up, however slow the machine
            time.advance(TICK); // two thirds of the lease since M's proof: LOST, while the mlock is out
            proxy.heal();

            assertThatThrownBy(() -> result(all)).hasMessageContaining("LOST");
            await().atMost(seconds(5)).untilAsserted(() -> assertThat(pushes.all()).extracting(Pushes.Push::kind, Pushes.Push::lock)
                    .contains(tuple(Kind.LOST, "M"), tuple(Kind.CANCELLED, "L")));
            assertThat(session.queuedLocks()).isEmpty();
            assertThat(session.heldLocks()).isEmpty();
        }
    }

    private static double renewalsFailed(SimpleMeterRegistry meters) {
        return meters.find("distlock.lease.renewals").tag("result", "failed").counters().stream().mapToDouble(c -> c.count()).sum();
    }

    /**
     * Asks for "doc" again, queued, and while that request is out (the proxy delays it) moves the
     * clock to two thirds of the lease: the ticks send keep-place commands, whose answers come too
     * late, and the last gives the place up. Returns the request's answer.
     */
    private CompletionStage<LockResult> repeatOutWhileThePlaceIsGivenUp(LockSession waiter) {
        proxy.capture(true);
        proxy.delay(Duration.ofMillis(150)); // each way: answered 300 ms after it was sent, within the command timeout (500 ms)
        CompletionStage<LockResult> again = waiter.lock("doc", LockOptions.exclusive().queue());
        await().atMost(seconds(5)).until(() -> proxy.captured().stream().anyMatch(command -> command.contains("distlock:lock:doc")));
        time.advance(TWO_THIRDS);
        assertThat(waiter.queuedLocks()).as("given up by lease renewal").isEmpty();
        proxy.delay(Duration.ZERO);
        return again;
    }

    /**
     * A renewal tick that runs a whole interval late (the node stalled: nothing was renewed
     * meanwhile) is warned of, the only trace a stall leaves on the node; one on time is not.
     * The ticks run when a second clock says (the scheduler's), the ticker is the test's.
     */
    @Test
    void aTickAWholeIntervalLateIsWarnedOf() {
        FakeTime scheduler = new FakeTime();
        try (LockService service = LockService.create(client, config.toBuilder().scheduler(scheduler).build());
             LogRecorder log = LogRecorder.of(LeaseRenewal.class)) {
            scheduler.advance(TICK); // the first tick
            time.advance(TICK);
            scheduler.advance(TICK); // on time
            time.advance(TICK.multipliedBy(2).minus(NANO));
            scheduler.advance(TICK); // a whole interval late, less a nanosecond
            assertThat(log.messages(java.util.logging.Level.WARNING)).isEmpty();

            time.advance(TICK.multipliedBy(2));
            scheduler.advance(TICK); // a whole interval late
            assertThat(log.messages(java.util.logging.Level.WARNING)).singleElement().asString()
                    .startsWith("Lease renewal ran 1,000 ms after the previous run, due every 500 ms: this node was stalled");
        }
    }

    /** A config on the test's clock whose scheduled tasks (lease renewal's ticks) never run. */
    private LockConfig withoutTicks() {
        return config.toBuilder().scheduler(new FakeTime()).build();
    }

    /** The attempt id in a queued request's entry: '<mode>|<expires>|<attempt>|<node>|<holder>'. */
    private static String attemptOf(String queuedEntry) {
        return queuedEntry.split("\\|")[2];
    }

    /** The same for queue places: a second keep-place command while the first is out for its whole timeout, not a third. */
    @Test
    void aTickKeepsAPlaceAgainWhenTheKeepOutHasBeenOutForItsWholeTimeout() {
        // Nothing else writes scripts meanwhile: no beats (quarantine off), and the holder's node renews only after 5 s.
        LockConfig quiet = LockConfig.builder().lease(Duration.ofSeconds(60)).dataLossQuarantine(false).build();
        try (LockService direct = LockService.connect(redis.url(), quiet);
             LockService service = LockService.create(client, config.toBuilder().lease(ODD_LEASE).dataLossQuarantine(false).build())) {
            assertThat(result(direct.openSession("holder", new Pushes()).lock("doc"))).isInstanceOf(LockResult.Locked.class);
            LockSession waiter = service.openSession("waiter", new Pushes());
            assertThat(result(waiter.lock("doc", LockOptions.exclusive().queue()))).isEqualTo(new LockResult.Queued(1, "holder"));
            time.advance(ODD_TICK); // a first keep-place, answered: the script is loaded (a NOSCRIPT would count twice)
            await().atMost(seconds(5)).until(() -> scriptCalls() > 0);
            long before = scriptCalls();
            proxy.blackhole();

            time.advance(ODD_TICK); // the first keep-place goes out, and gets no answer
            time.advance(ODD_TICK); // out for a whole timeout on the node's clock: a second one goes out
            time.advance(ODD_TICK); // two out: no third
            proxy.heal(); // both reach Redis now
            await().atMost(seconds(5)).until(() -> scriptCalls() - before >= 2);
            await().during(Duration.ofMillis(500)).atMost(seconds(2)).until(() -> scriptCalls() - before == 2);
            assertThat(waiter.queuedLocks()).containsExactly("doc");
        }
    }

    /**
     * A tick's keep-places of a long queue do not each look at every shared holder (found by review
     * 2026-12-06: each keep-place ran the hand-over, which reads the shared holders whole, so a queue
     * of Q behind S readers cost Redis Q × S every tick: 3 ms per place at 1,000 readers). Only the
     * head's keep-place, or one that finds the head dead, hands over.
     */
    @Test
    void aTickKeepsTheQueuesPlacesWithoutEachReadingTheSharedHolders() {
        int places = 20;
        LockConfig quiet = LockConfig.builder().lease(Duration.ofSeconds(60)).dataLossQuarantine(false).build();
        try (LockService direct = LockService.connect(redis.url(), quiet);
             LockService service = LockService.create(client, config.toBuilder().dataLossQuarantine(false).build())) {
            for (int i = 0; i < 3; i++) {
                assertThat(result(direct.openSession("reader-" + i, new Pushes()).lock("doc", LockOptions.shared())))
                        .isInstanceOf(LockResult.Locked.class);
            }
            assertThat(result(direct.openSession("writer", new Pushes()).lock("doc", LockOptions.exclusive().queue())))
                    .isInstanceOf(LockResult.Queued.class); // the head, kept by a node that ticks every 10 s
            for (int i = 0; i < places; i++) {
                assertThat(result(service.openSession("later-" + i, new Pushes()).lock("doc", LockOptions.shared().queue())))
                        .isInstanceOf(LockResult.Queued.class);
            }
            long asked = scriptCalls();
            time.advance(TICK); // a first keep-place of each: the script is loaded
            await().atMost(seconds(5)).until(() -> scriptCalls() - asked >= places);
            long scripts = scriptCalls();
            long reads = commandCalls("hgetall");

            time.advance(TICK);
            await().atMost(seconds(5)).until(() -> scriptCalls() - scripts >= places);
            assertThat(commandCalls("hgetall") - reads).as("reads of the shared holders in a tick of %d places", places).isZero();
        }
    }

    /** EVALSHA commands Redis has run. */
    private long scriptCalls() {
        return commandCalls("evalsha");
    }

    /** Commands {@code command} Redis has run, those inside scripts included. */
    private long commandCalls(String command) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("cmdstat_" + command + ":calls=(\\d+)")
                .matcher(String.valueOf(redis.command("INFO", "commandstats")));
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    @Test
    void aQueueTimeoutEndsTheWaitExactlyWhenItRunsOut() {
        try (LockService direct = LockService.connect(redis.url(), LockConfig.builder().lease(LEASE).build());
             LockService service = LockService.create(client, config)) {
            assertThat(result(direct.openSession("holder", new Pushes()).lock("doc"))).isInstanceOf(LockResult.Locked.class);
            Pushes pushes = new Pushes();
            LockSession waiter = service.openSession("waiter", pushes);
            Duration timeout = Duration.ofMillis(700);
            assertThat(result(waiter.lock("doc", LockOptions.exclusive().timeout(timeout)))).isInstanceOf(LockResult.Queued.class);

            time.advance(timeout.minus(NANO));
            // A round trip of the session's own: anything a timeout had queued before it has been told by now.
            assertThat(result(waiter.lock("probe"))).isInstanceOf(LockResult.Locked.class);
            assertThat(pushes.all()).isEmpty();
            time.advance(NANO);
            await().atMost(seconds(5)).until(() -> !pushes.all().isEmpty());
            assertThat(pushes.all()).extracting(Pushes.Push::kind, Pushes.Push::detail).containsExactly(tuple(Kind.CANCELLED, "timeout"));
        }
    }

    /**
     * A renew batch that throws before it goes out counts each of its grants {@code failed}: it
     * counted none (the grants were marked failed for renewal, not for the meter).
     */
    @Test
    void aRenewBatchThatThrowsCountsEachOfItsGrantsFailed() {
        AtomicBoolean refuseBatches = new AtomicBoolean();
        RedissonClient refusing = (RedissonClient) Proxy.newProxyInstance(RedissonClient.class.getClassLoader(),
                new Class<?>[] {RedissonClient.class}, (self, method, args) -> {
                    if (refuseBatches.get() && method.getName().equals("createBatch")) {
                        throw new IllegalStateException("no batch (test)");
                    }
                    try {
                        return method.invoke(client, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (LockService service = LockService.create(refusing, config)) {
            new LockServiceMetrics(service).bindTo(registry);
            LockSession session = service.openSession("holder", new Pushes());
            assertThat(result(session.lock("a"))).isInstanceOf(LockResult.Locked.class);
            assertThat(result(session.lock("b"))).isInstanceOf(LockResult.Locked.class);
            refuseBatches.set(true);

            time.advance(TICK); // the tick's renew batch throws (the tick logs it and goes on)
            assertThat(registry.counter("distlock.lease.renewals", "result", "failed").count()).isEqualTo(2);
            refuseBatches.set(false);
        }
    }

    /**
     * A renewal that Redis refuses for a lock the session was unlocking meanwhile is no lost
     * lock: it was counted {@code lost} before the session decided. The renewal goes out, then
     * the unlock; Redis gets both only after the lock's key is gone, so the renewal is refused
     * whichever answer comes first. Another session's lock renewed in the same batch marks its answer.
     */
    @Test
    void aRenewalRefusedForALockBeingUnlockedIsNotCountedLost() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Duration lease = Duration.ofSeconds(30); // answers wait up to 3 s of real time: the blackhole below never times them out
        LockConfig longLease = config.toBuilder().lease(lease).build();
        try (LockService service = LockService.create(client, longLease)) {
            new LockServiceMetrics(service).bindTo(registry);
            LockSession session = service.openSession("holder", new Pushes());
            LockSession marker = service.openSession("marker", new Pushes());
            assertThat(result(session.lock("doc"))).isInstanceOf(LockResult.Locked.class);
            assertThat(result(marker.lock("marker"))).isInstanceOf(LockResult.Locked.class);
            proxy.blackhole();

            time.advance(lease.dividedBy(6)); // the renewals of both go out, held by the proxy
            proxy.capture(true);
            CompletionStage<UnlockResult> unlock = session.unlock("doc"); // then the unlock, held too
            String key = longLease.keyPrefix() + ":lock:doc";
            // out before the heal (else, on a loaded machine, the refused renewal can come first and is a loss)
            await().atMost(seconds(5)).until(() -> proxy.captured().stream().anyMatch(command -> command.contains(key)));
            redis.command("DEL", key);
            proxy.heal();

            result(unlock);
            await().atMost(seconds(5)).until(() -> registry.counter("distlock.lease.renewals", "result", "renewed").count() == 1);
            await().during(Duration.ofMillis(300)).atMost(seconds(2))
                    .until(() -> registry.counter("distlock.lease.renewals", "result", "lost").count() == 0);
        }
    }

    /**
     * A meter that throws (an application's registry may) stops nothing: a lock that Redis no
     * longer holds is still taken from the session and told LOST, and another registry still
     * counts it. Found by review: the count ran after the grant was dropped and before the LOST,
     * so a throw there lost the grant silently, and the client believed it held the lock for good.
     */
    @Test
    void aMeterThatThrowsStopsNothing() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (LockService service = LockService.create(client, config)) {
            service.telemetry(new Object(), new Telemetry() {
                @Override
                public void leaseRenewed(boolean stillHeld) {
                    throw new IllegalStateException("a broken registry (test)");
                }

                @Override
                public void lostPushed() {
                    throw new Error("a broken registry (test)"); // an Error too (review 2026-12-06)
                }
            });
            new LockServiceMetrics(service).bindTo(registry);
            Pushes pushes = new Pushes();
            LockSession session = service.openSession("holder", pushes);
            assertThat(result(session.lock("doc"))).isInstanceOf(LockResult.Locked.class);
            redis.command("DEL", config.keyPrefix() + ":lock:doc"); // Redis no longer holds it: the renewal is refused

            time.advance(TICK);
            pushes.expect(Pushes.Kind.LOST, "doc", seconds(5));
            assertThat(session.heldLocks()).isEmpty();
            assertThat(registry.counter("distlock.lease.renewals", "result", "lost").count()).isEqualTo(1);
            assertThat(registry.counter("distlock.lost.pushes").count()).isEqualTo(1);
        }
    }
}
