package io.distlock.server;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

import io.distlock.core.LockService;
import io.distlock.core.LockServiceMetrics;
import io.distlock.websocket.DistLockEndpoints;
import io.distlock.websocket.EndpointMetrics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import org.glassfish.grizzly.http.server.HttpHandler;
import org.glassfish.grizzly.http.server.Request;
import org.glassfish.grizzly.http.server.Response;
import org.glassfish.grizzly.http.util.HttpStatus;

/**
 * The server's {@code /metrics}: the lock service's and the endpoint's meters (Redis's reachability
 * among the service's), the build and node id, the connection
 * guard's (open TCP connections, refusals per address, HTTP deadline closes, failed accepts), the demo's
 * refused saves, with the JVM's
 * (heap, GC, CPU, threads, class loading, file descriptors, uptime), in the Prometheus text
 * format. Closing it stops the GC listener.
 */
final class ServerMetrics extends HttpHandler implements AutoCloseable {

    /** Where it is served: that path, nothing below it. */
    static final String PATH = "/metrics";

    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gc = new JvmGcMetrics();

    /**
     * @param version as {@code --version} says it
     * @param nodeId  as the startup line says it ({@code distlock node <id> listening on ...})
     */
    ServerMetrics(LockService service, DistLockEndpoints endpoint, ConnectionGuard guard, String version, String nodeId) {
        new LockServiceMetrics(service).bindTo(registry);
        // Prometheus's info idiom: always 1, the labels are the data (which build runs where, for a join on node).
        Gauge.builder("distlock.build.info", () -> 1)
                .tag("version", version).tag("node", nodeId)
                .description("always 1: this node's version and id, as --version and the startup line say them")
                .register(registry);
        Gauge.builder("distlock.server.connections", guard, ConnectionGuard::openConnections)
                .description("open TCP connections: WebSockets, HTTP requests, and connections that sent no complete request yet")
                .register(registry);
        FunctionCounter.builder("distlock.server.connections.refused", guard, ConnectionGuard::refusedByAddress)
                .tag("reason", "address")
                .description("connections closed at accept: their address had --max-connections-per-address open")
                .register(registry);
        FunctionCounter.builder("distlock.server.http.timeouts", guard, ConnectionGuard::timedOut)
                .description("connections closed for not completing an HTTP request head within --http-timeout-ms")
                .register(registry);
        FunctionCounter.builder("distlock.server.http.unread", guard, ConnectionGuard::unread)
                .description("connections closed for sending a request while earlier answers lay unsent (the client does not read)")
                .register(registry);
        FunctionCounter.builder("distlock.server.accept.failures", guard, ConnectionGuard::acceptFailures)
                .description("accepts that failed, usually for want of a file descriptor")
                .register(registry);
        new EndpointMetrics(endpoint).bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    /** Counts the demo's saves {@code throttle} refused (429), for its address's limit or the node's; only with the demo. */
    void countRefusedSaves(SaveThrottle throttle) {
        for (boolean node : new boolean[] {false, true}) {
            FunctionCounter.builder("distlock.server.demo.saves.refused", throttle, t -> t.refused(node))
                    .tag("reason", node ? "node" : "address")
                    .description("demo saves answered 429: past the client address's share, or the node's for everyone")
                    .register(registry);
        }
    }

    String scrape() {
        return registry.scrape();
    }

    @Override
    public void service(Request request, Response response) throws IOException {
        String uri = request.getDecodedRequestURI();
        String below = uri.startsWith(PATH) ? uri.substring(PATH.length()) : uri; // Grizzly maps /metrics/x here too
        if (!below.isEmpty() && !below.equals("/")) {
            response.sendError(404);
            return;
        }
        if (!"GET".equals(request.getMethod().getMethodString()) && !"HEAD".equals(request.getMethod().getMethodString())) {
            response.setStatus(HttpStatus.METHOD_NOT_ALLOWED_405);
            response.setHeader("Allow", "GET, HEAD");
            response.setContentLength(0);
            return;
        }
        byte[] body = scrape().getBytes(StandardCharsets.UTF_8);
        response.setContentType(CONTENT_TYPE);
        response.setHeader("Cache-Control", "no-store");
        response.setContentLength(body.length);
        if ("GET".equals(request.getMethod().getMethodString())) {
            try (OutputStream out = response.getOutputStream()) {
                out.write(body);
            }
        }
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
