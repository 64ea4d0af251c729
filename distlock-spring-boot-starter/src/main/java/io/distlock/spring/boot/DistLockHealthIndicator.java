package io.distlock.spring.boot;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

import io.distlock.core.LockService;
import io.distlock.websocket.DistLockEndpoints;

/**
 * {@code distlock}: UP while the lock service's Redis answers a read of one lock's state
 * ({@link LockService#query}, of a lock nobody takes: {@code distlock-health-probe}, cut to the
 * configured longest lock name) within a second, DOWN otherwise; a node that
 * cannot reach Redis cannot grant a lock. OUT_OF_SERVICE (503 by default) once the endpoint it
 * reports on is closed (the application is stopping and refuses handshakes), without asking Redis. Through the service itself, so it checks the Redis the
 * locks are in, whoever made the service.
 *
 * <p>A Redis that is down or does not answer is an expected state here, not a failure of the
 * check: it is reported DOWN with a fixed reason as the {@code error} detail (the class name of the
 * failure at most: Redisson's messages name addresses), and not thrown, since
 * {@link AbstractHealthIndicator} would log a stack trace at WARN for every probe (every few
 * seconds from a load balancer or Kubernetes) for as long as Redis is away; the lock service logs
 * the outage itself.
 *
 * <p>Details: the service's {@code sessions} (browsers' and the application's own), and the
 * endpoint's open {@code connections} where the application serves one (a servlet web application).
 */
public class DistLockHealthIndicator extends AbstractHealthIndicator {

    static final Duration TIMEOUT = Duration.ofSeconds(1);
    static final String PROBE = "distlock-health-probe";

    private final LockService service;
    /**
     * {@link #PROBE}, cut to the service's longest lock name ({@code LockConfig.maxLockNameLength},
     * which may be as short as 1): the name is ASCII, and a longer one would be refused by
     * {@code query} and report DOWN forever.
     */
    private final String probe;
    /** The endpoint's, or null where there is none (a non-web or a reactive application). */
    private final DistLockEndpoints endpoint;

    /** For an application without the browser endpoint: no {@code connections} detail. */
    public DistLockHealthIndicator(LockService service) {
        super("distlock health check failed");
        this.service = Objects.requireNonNull(service, "service");
        this.endpoint = null;
        this.probe = probeName(service);
    }

    public DistLockHealthIndicator(LockService service, DistLockEndpoints endpoint) {
        super("distlock health check failed");
        this.service = Objects.requireNonNull(service, "service");
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
        this.probe = probeName(service);
    }

    /** The deepest cause, the most specific name for what failed (RedisConnectionException, say). */
    private static Throwable innermost(Throwable failure) {
        Throwable t = failure;
        for (int depth = 0; t.getCause() != null && t.getCause() != t && depth < 50; depth++) {
            t = t.getCause();
        }
        return t;
    }

    static String probeName(LockService service) {
        return PROBE.substring(0, Math.min(PROBE.length(), service.config().maxLockNameLength()));
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) throws Exception {
        if (endpoint != null && endpoint.isClosed()) {
            // The application is stopping: handshakes are refused 503 already, so a balancer should take the node out now.
            builder.outOfService().withDetail("reason", "the endpoint is closed: the application is stopping");
            return;
        }
        try {
            service.query(List.of(probe)).toCompletableFuture().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            // Fixed text, not the failure's message: Redisson's names the channel's local and remote addresses, and this
            // detail is shown to whoever may read the health endpoint. The lock service logs the outage with its reason.
            builder.down().withDetail("error", "the query of Redis failed (" + innermost(e).getClass().getSimpleName() + ")");
            return;
        } catch (TimeoutException e) {
            builder.down().withDetail("error", "Redis did not answer within " + TIMEOUT.toMillis() + " ms");
            return;
        }
        builder.up().withDetail("sessions", service.sessionCount());
        if (endpoint != null) {
            builder.withDetail("connections", endpoint.openConnections());
        }
    }
}
