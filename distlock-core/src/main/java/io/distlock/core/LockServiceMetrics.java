package io.distlock.core;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * Publishes a {@link LockService}'s meters to Micrometer (an optional dependency: add
 * {@code io.micrometer:micrometer-core} to use this class):
 *
 * <table>
 *   <caption>meters</caption>
 *   <tr><td>{@code distlock.sessions}</td><td>gauge</td><td>open sessions on this node</td></tr>
 *   <tr><td>{@code distlock.sessions.attached}</td><td>gauge</td><td>of those, sessions with a connection</td></tr>
 *   <tr><td>{@code distlock.sessions.detached}</td><td>gauge</td><td>sessions whose connection dropped, kept for their grace</td></tr>
 *   <tr><td>{@code distlock.locks.held}</td><td>gauge</td><td>locks held by this node's sessions</td></tr>
 *   <tr><td>{@code distlock.waiters}</td><td>gauge</td><td>(session, lock) waits on this node</td></tr>
 *   <tr><td>{@code distlock.redis.up}</td><td>gauge</td><td>1 while Redis answers this node's renewal tick (every sixth of the lease), 0
 *       from a tick it did not answer until one it does; the same state as the log lines {@code Redis at ... does not answer} and
 *       {@code ... answers again}</td></tr>
 *   <tr><td>{@code distlock.queued}</td><td>gauge</td><td>places of this node's sessions in lock queues</td></tr>
 *   <tr><td>{@code distlock.granted.pushes}</td><td>counter</td><td>grants of queued requests pushed to a listener</td></tr>
 *   <tr><td>{@code distlock.retry.pushes}</td><td>counter</td><td>RETRY pushes to a listener</td></tr>
 *   <tr><td>{@code distlock.retry.delay}</td><td>timer</td><td>from a published release (Redis clock) to its RETRY push to a listener (this node's clock)</td></tr>
 *   <tr><td>{@code distlock.lost.pushes}</td><td>counter</td><td>LOST pushes to a listener (stolen ones too)</td></tr>
 *   <tr><td>{@code distlock.lease.renewals}</td><td>counter, tag {@code result}</td><td>per lock renewed: {@code renewed}, {@code lost} (Redis
 *       no longer held it, taken or stolen, and its session was told so; not a lock it was unlocking meanwhile),
 *       {@code failed} (no answer, or the batch could not be sent)</td></tr>
 * </table>
 *
 * <p>A push counts when it reaches a listener: one kept for a detached session counts when its
 * resume hands it over (its {@code distlock.retry.delay} includes the wait), and not at all if
 * the session ends first.
 *
 * <pre>{@code new LockServiceMetrics(service).bindTo(registry);}</pre>
 *
 * <p>Bound to several registries (as Spring Boot binds every {@code MeterBinder} to each
 * registry when there is no composite one), it counts in each of them; bound to the same
 * registry again, by this binder or another of the same service, it counts once. A meter that
 * throws is logged and stops nothing.
 */
public final class LockServiceMetrics implements MeterBinder {

    private final LockService service;

    public LockServiceMetrics(LockService service) {
        this.service = Objects.requireNonNull(service, "service");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("distlock.sessions", service, LockService::sessionCount)
                .description("open sessions on this node").register(registry);
        Gauge.builder("distlock.sessions.attached", service, LockService::attachedSessions)
                .description("sessions on this node with a connection").register(registry);
        Gauge.builder("distlock.sessions.detached", service, LockService::detachedSessions)
                .description("sessions on this node whose connection dropped, kept for their grace").register(registry);
        Gauge.builder("distlock.locks.held", service, LockService::heldLocks)
                .description("locks held by this node's sessions").register(registry);
        Gauge.builder("distlock.waiters", service, LockService::waits)
                .description("(session, lock) waits on this node").register(registry);
        Gauge.builder("distlock.queued", service, LockService::queuedPlaces)
                .description("places of this node's sessions in lock queues").register(registry);
        Gauge.builder("distlock.redis.up", service, s -> s.redisUp() ? 1 : 0)
                .description("1 while Redis answers this node's renewal tick, 0 from a tick it did not answer until one it does")
                .register(registry);
        Counter granted = Counter.builder("distlock.granted.pushes").description("grants of queued requests pushed").register(registry);
        Counter retries = Counter.builder("distlock.retry.pushes").description("RETRY pushes").register(registry);
        Timer retryDelay = Timer.builder("distlock.retry.delay")
                .description("from a published release to its RETRY push").publishPercentileHistogram().register(registry);
        Counter lost = Counter.builder("distlock.lost.pushes").description("LOST pushes").register(registry);
        Counter renewed = renewals(registry, "renewed");
        Counter renewalLost = renewals(registry, "lost");
        Counter renewalFailed = renewals(registry, "failed");

        service.telemetry(registry, new Telemetry() {
            @Override
            public void retryPushed(long releasedAtMicros) {
                retries.increment();
                if (releasedAtMicros > 0) {
                    long delay = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now()) - releasedAtMicros;
                    retryDelay.record(Math.max(0, delay), TimeUnit.MICROSECONDS);
                }
            }

            @Override
            public void grantedPushed() {
                granted.increment();
            }

            @Override
            public void lostPushed() {
                lost.increment();
            }

            @Override
            public void leaseRenewed(boolean stillHeld) {
                (stillHeld ? renewed : renewalLost).increment();
            }

            @Override
            public void leaseRenewalFailed() {
                renewalFailed.increment();
            }
        });
    }

    private static Counter renewals(MeterRegistry registry, String result) {
        return Counter.builder("distlock.lease.renewals").tag("result", result)
                .description("lease renewals by result").register(registry);
    }
}
