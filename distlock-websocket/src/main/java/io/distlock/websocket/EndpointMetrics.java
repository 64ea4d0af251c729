package io.distlock.websocket;

import java.time.Duration;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * Publishes the meters of one {@link DistLockEndpoints} to
 * Micrometer (an optional dependency: add {@code io.micrometer:micrometer-core} to use this
 * class). The lock service's own meters are {@code io.distlock.core.LockServiceMetrics}.
 *
 * <table>
 *   <caption>meters</caption>
 *   <tr><td>{@code distlock.websocket.requests}</td><td>timer, tags {@code action}, {@code status}</td>
 *       <td>requests answered, and the time from a request's frame arriving to its reply being
 *       queued for sending. {@code action}: {@code connect}, {@code close}, {@code lock},
 *       {@code unlock}, {@code mlock}, {@code munlock}, {@code cancel}, {@code ping}, {@code resume}, {@code query}, {@code watch}, {@code unwatch} (version 2),
 *       {@code unknown} (an action the session's protocol version does not have) or
 *       {@code invalid} (no readable action); {@code status}: {@code OK}, {@code LOCKED},
 *       {@code WAIT}, {@code QUEUED} (version 2) or {@code FAIL}</td></tr>
 *   <tr><td>{@code distlock.websocket.failures}</td><td>counter, tag {@code code}</td>
 *       <td>requests answered {@code FAIL}, by the protocol's code (a counter for each, from
 *       the start): {@code BACKEND_UNAVAILABLE} counts requests Redis did not answer in time,
 *       grants no replica confirmed in time (released again), resumes refused while a resume of
 *       the same session is in progress, and, rarely, locks whose held leases could not be proven;
 *       {@code RATE_LIMITED} counts requests over the rate limit and {@code ask}s sooner than
 *       {@link EndpointOptions#askInterval()} after the session's previous {@code ask} of the lock</td></tr>
 *   <tr><td>{@code distlock.websocket.pushes}</td><td>counter, tag {@code status}</td>
 *       <td>pushes sent, counted when handed to the container to send: {@code RETRY},
 *       {@code LOST}, and version 2's {@code GRANTED}, {@code CANCELLED}, {@code ASKED} and
 *       {@code CHANGED}; not those that never leave: a {@code CHANGED} replaced by a newer one of
 *       the same lock while it waited, a push dropped because its connection closed (or its
 *       session was closed) first</td></tr>
 *   <tr><td>{@code distlock.websocket.connections}</td><td>gauge</td><td>open connections</td></tr>
 *   <tr><td>{@code distlock.websocket.handshakes.refused}</td><td>counter, tag {@code reason}</td>
 *       <td>handshakes refused: {@code origin}, {@code host} (not one of
 *       {@link EndpointOptions#allowedHosts()}) and {@code authentication} (HTTP 403),
 *       {@code capacity} (HTTP 503, {@link EndpointOptions#maxConnections()} reached),
 *       {@code address} (HTTP 429, {@link EndpointOptions#maxConnectionsPerAddress()} reached)</td></tr>
 * </table>
 *
 * <pre>{@code new EndpointMetrics(endpoint).bindTo(registry);}</pre>
 *
 * Every registry it is bound to counts (Spring Boot binds each {@code MeterBinder} to every
 * registry when it has several and no composite); binding to the same registry again, with
 * this binder or another of the same endpoint, counts once.
 */
public final class EndpointMetrics implements MeterBinder {

    private static final String[] ACTIONS = {"connect", "close", "lock", "unlock", "mlock", "munlock", "cancel", "ping", "resume", "query", "watch", "unwatch", "unknown", "invalid"};
    /** The statuses a reply can have, in the order of {@link Status}. */
    private static final Status[] STATUSES = Arrays.stream(Status.values()).filter(s -> !s.isPush()).toArray(Status[]::new);
    private static final String[] REFUSALS = {"origin", "host", "authentication", "capacity", "address"};
    private static final Duration[] BUCKETS = {
        Duration.ofNanos(500_000), Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
        Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofSeconds(1)
    };

    private final DistLockEndpoints endpoint;

    public EndpointMetrics(DistLockEndpoints endpoint) {
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("distlock.websocket.connections", endpoint.node().connections, Set::size)
                .description("open WebSocket connections").register(registry);
        Map<Status, Counter> pushes = new EnumMap<>(Status.class);
        for (Status status : Status.values()) {
            if (status.isPush()) {
                pushes.put(status, pushes(registry, status));
            }
        }
        Counter[] refusals = new Counter[REFUSALS.length];
        for (int i = 0; i < REFUSALS.length; i++) {
            refusals[i] = Counter.builder("distlock.websocket.handshakes.refused").tag("reason", REFUSALS[i])
                    .description("WebSocket handshakes refused").register(registry);
        }
        Map<FailCode, Counter> failures = new EnumMap<>(FailCode.class);
        for (FailCode code : FailCode.values()) {
            failures.put(code, Counter.builder("distlock.websocket.failures").tag("code", code.name())
                    .description("requests answered FAIL, by code").register(registry));
        }
        AtomicReferenceArray<Timer> timers = new AtomicReferenceArray<>(ACTIONS.length * STATUSES.length);

        endpoint.telemetry(registry, new EndpointTelemetry() {
            @Override
            public void answered(String action, Status status, long nanos) {
                int a = index(ACTIONS, action, ACTIONS.length - 1);
                int s = index(STATUSES, status, STATUSES.length - 1);
                int i = a * STATUSES.length + s;
                Timer timer = timers.get(i);
                if (timer == null) {
                    timer = Timer.builder("distlock.websocket.requests")
                            .tag("action", ACTIONS[a]).tag("status", STATUSES[s].name())
                            .description("requests answered, from the frame's arrival to the reply queued")
                            .serviceLevelObjectives(BUCKETS)
                            .register(registry); // idempotent: a racing thread gets the same timer
                    timers.set(i, timer);
                }
                timer.record(nanos, TimeUnit.NANOSECONDS);
            }

            @Override
            public void failed(FailCode code) {
                failures.get(code).increment();
            }

            @Override
            public void pushed(Status status) {
                Counter counter = pushes.get(status);
                if (counter != null) {
                    counter.increment();
                }
            }

            @Override
            public void refused(String reason) {
                refusals[index(REFUSALS, reason, REFUSALS.length - 1)].increment();
            }
        });
    }

    private static Counter pushes(MeterRegistry registry, Status status) {
        return Counter.builder("distlock.websocket.pushes").tag("status", status.name())
                .description("pushes sent to connections").register(registry);
    }

    private static <T> int index(T[] values, T value, int otherwise) {
        for (int i = 0; i < values.length; i++) {
            if (values[i].equals(value)) {
                return i;
            }
        }
        return otherwise;
    }
}
