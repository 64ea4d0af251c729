package io.distlock.spring.boot;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

import io.distlock.core.LockService;
import io.distlock.websocket.DistLockEndpoints;

/**
 * {@code distlock}: UP while the lock service's Redis answers a read of one lock's state
 * ({@link LockService#query}, of a lock nobody takes) within a second, DOWN otherwise; a node that
 * cannot reach Redis cannot grant a lock. Through the service itself, so it checks the Redis the
 * locks are in, whoever made the service.
 */
public class DistLockHealthIndicator extends AbstractHealthIndicator {

    static final Duration TIMEOUT = Duration.ofSeconds(1);
    static final String PROBE = "distlock-health-probe";

    private final LockService service;
    private final DistLockEndpoints endpoint;

    public DistLockHealthIndicator(LockService service, DistLockEndpoints endpoint) {
        super("distlock health check failed");
        this.service = service;
        this.endpoint = endpoint;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) throws Exception {
        service.query(List.of(PROBE)).toCompletableFuture().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        builder.up()
                .withDetail("sessions", service.sessionCount())
                .withDetail("connections", endpoint.openConnections());
    }
}
