package io.distlock.server;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import io.distlock.core.Ticker;

import org.glassfish.grizzly.http.Method;
import org.glassfish.grizzly.http.server.HttpHandler;
import org.glassfish.grizzly.http.server.Request;
import org.glassfish.grizzly.http.server.Response;
import org.glassfish.grizzly.http.util.HttpStatus;
import org.redisson.api.RScript;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;

/**
 * The server's {@code /health}: {@code 200 {"status":"UP"}} while Redis answers, {@code 503
 * {"status":"DOWN","reason":...}} otherwise. From the moment the node begins to stop (its
 * endpoint's close, from which handshakes are refused with 503 too) it answers {@code 503} with
 * the reason {@code the node is stopping} without asking Redis: a load balancer takes the node
 * out while its port is still open. It asks Redis one cheap question ({@code EXISTS} of a key
 * nobody writes) through the lock service's own Redisson client, so it tells whether
 * this node can take locks, with any Redis setup Redisson speaks. The question is a script
 * sent as a write, as the locks' are: Redisson sends plain reads where its read mode says, the
 * replicas by default with Sentinel and Cluster, which answer while the primary does not. The
 * request waits for the answer without holding an HTTP thread, at most {@link #TIMEOUT}. The
 * server adds it once its lock service runs and opens its port after that, so {@code UP} never
 * comes before Redis answers a lock request.
 *
 * <p>Requests share the question: those that come while one is out wait for its answer, and an
 * answer is reused for {@link #REUSE} after it was asked. {@code /health} is open to anyone, and
 * a script per request let one keep-alive loop make Redis, which serves the locks on one thread,
 * run tens of thousands a second (review 2026-12-07); now it is one per {@link #REUSE} at most.
 * An {@code UP} is never older than that plus the round trip, and a {@code DOWN} that waited out
 * {@link #TIMEOUT} is not reused at all.
 */
final class HealthCheck extends HttpHandler {

    /** Where it is served: that path, nothing below it. */
    static final String PATH = "/health";

    static final Duration TIMEOUT = Duration.ofSeconds(1);
    /** How long after it was asked an answer is given again without asking Redis. */
    static final Duration REUSE = Duration.ofMillis(250);

    /** The answers: one JSON shape, a reason with every DOWN. */
    private static final String UP = "{\"status\":\"UP\"}\n";
    private static final String NO_REDIS = "{\"status\":\"DOWN\",\"reason\":\"Redis does not answer\"}\n";
    private static final String STOPPING = "{\"status\":\"DOWN\",\"reason\":\"the node is stopping\"}\n";

    private final RedissonClient redisson;
    private final String key;
    /** True once the node has begun to stop: the endpoint's own flag, so handshakes and health agree. */
    private final BooleanSupplier stopping;
    private final Ticker ticker;
    private final Object asking = new Object(); // not this: Grizzly's handler may lock itself
    /** The last question, answered or out, and when it was asked on the ticker; guarded by asking. */
    private CompletableFuture<Boolean> last;
    private long askedAt;

    HealthCheck(RedissonClient redisson, String keyPrefix, BooleanSupplier stopping) {
        this(redisson, keyPrefix, stopping, Ticker.system());
    }

    HealthCheck(RedissonClient redisson, String keyPrefix, BooleanSupplier stopping, Ticker ticker) {
        this.redisson = redisson;
        this.key = keyPrefix + ":health";
        this.stopping = stopping;
        this.ticker = ticker;
    }

    /**
     * Completes with true if Redis answered within {@link #TIMEOUT}, false otherwise; never fails.
     * The question out now, or the last one if asked less than {@link #REUSE} ago; else a new one.
     */
    CompletableFuture<Boolean> check() {
        synchronized (asking) {
            long now = ticker.read();
            if (last == null || last.isDone() && now - askedAt >= REUSE.toNanos()) {
                askedAt = now;
                last = ask();
            }
            return last.copy(); // a caller cannot complete the shared one
        }
    }

    private CompletableFuture<Boolean> ask() {
        CompletableFuture<Boolean> up;
        try {
            up = redisson.getScript(StringCodec.INSTANCE).evalAsync(key, RScript.Mode.READ_WRITE,
                    "return redis.call('EXISTS', KEYS[1])", RScript.ReturnType.LONG, List.of(key))
                    .toCompletableFuture().thenApply(exists -> true);
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(false); // e.g. the client is shutting down
        }
        return up.orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).exceptionally(e -> false);
    }

    @Override
    public void service(Request request, Response response) throws IOException {
        String uri = request.getDecodedRequestURI();
        String below = uri.startsWith(PATH) ? uri.substring(PATH.length()) : uri; // Grizzly maps /health/x here too
        if (!below.isEmpty() && !below.equals("/")) {
            response.sendError(404);
            return;
        }
        if (!Method.GET.equals(request.getMethod()) && !Method.HEAD.equals(request.getMethod())) {
            response.setHeader("Allow", "GET, HEAD");
            response.sendError(HttpStatus.METHOD_NOT_ALLOWED_405.getStatusCode());
            return;
        }
        if (stopping.getAsBoolean()) {
            answer(request, response, STOPPING);
            return;
        }
        response.suspend();
        check().whenComplete((up, e) -> {
            try {
                // the stop may have begun while Redis was asked
                answer(request, response, stopping.getAsBoolean() ? STOPPING : Boolean.TRUE.equals(up) ? UP : NO_REDIS);
            } catch (IOException | RuntimeException ex) {
                // the client went away
            } finally {
                response.resume();
            }
        });
    }

    private static void answer(Request request, Response response, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        response.setStatus(UP.equals(json) ? HttpStatus.OK_200 : HttpStatus.SERVICE_UNAVAILABLE_503);
        response.setContentType("application/json");
        response.setHeader("Cache-Control", "no-store");
        response.setContentLength(body.length);
        if (!"HEAD".equals(request.getMethod().getMethodString())) {
            try (OutputStream out = response.getOutputStream()) {
                out.write(body);
            }
        }
    }
}
