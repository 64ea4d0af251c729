package io.distlock.spring.boot;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

import io.distlock.core.LockService;
import io.distlock.websocket.DistLockEndpoints;

/**
 * {@code distlock}: UP while Redis answers a cheap command ({@code EXISTS <key prefix>:health})
 * within a second, DOWN otherwise; a node that cannot reach Redis cannot grant a lock.
 */
public class DistLockHealthIndicator extends AbstractHealthIndicator {

    static final Duration TIMEOUT = Duration.ofSeconds(1);

    private final RedissonClient redisson;
    private final LockService service;
    private final DistLockEndpoints endpoint;

    public DistLockHealthIndicator(RedissonClient redisson, LockService service, DistLockEndpoints endpoint) {
        super("distlock health check failed");
        this.redisson = redisson;
        this.service = service;
        this.endpoint = endpoint;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) throws Exception {
        String key = service.config().keyPrefix() + ":health";
        redisson.getBucket(key, StringCodec.INSTANCE).isExistsAsync().toCompletableFuture()
                .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        builder.up()
                .withDetail("sessions", service.sessionCount())
                .withDetail("connections", endpoint.openConnections());
    }
}
