package io.distlock.server;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

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
 * {"status":"DOWN"}} otherwise. Each request asks Redis one cheap question ({@code EXISTS} of
 * a key nobody writes) through the lock service's own Redisson client, so it tells whether
 * this node can take locks, with any Redis setup Redisson speaks. The question is a script
 * sent as a write, as the locks' are: Redisson sends plain reads where its read mode says, the
 * replicas by default with Sentinel and Cluster, which answer while the primary does not. The
 * request waits for the answer without holding an HTTP thread, at most {@link #TIMEOUT}. The
 * server adds it once its lock service runs and opens its port after that, so {@code UP} never
 * comes before Redis answers a lock request.
 */
final class HealthCheck extends HttpHandler {

    /** Where it is served: that path, nothing below it. */
    static final String PATH = "/health";

    static final Duration TIMEOUT = Duration.ofSeconds(1);

    private final RedissonClient redisson;
    private final String key;

    HealthCheck(RedissonClient redisson, String keyPrefix) {
        this.redisson = redisson;
        this.key = keyPrefix + ":health";
    }

    /** Completes with true if Redis answered within {@link #TIMEOUT}, false otherwise; never fails. */
    CompletableFuture<Boolean> check() {
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
        response.suspend();
        check().whenComplete((up, e) -> {
            try {
                boolean ok = Boolean.TRUE.equals(up);
                byte[] body = (ok ? "{\"status\":\"UP\"}\n" : "{\"status\":\"DOWN\",\"reason\":\"Redis does not answer\"}\n")
                        .getBytes(StandardCharsets.UTF_8);
                response.setStatus(ok ? HttpStatus.OK_200 : HttpStatus.SERVICE_UNAVAILABLE_503);
                response.setContentType("application/json");
                response.setHeader("Cache-Control", "no-store");
                response.setContentLength(body.length);
                if (!"HEAD".equals(request.getMethod().getMethodString())) {
                    try (OutputStream out = response.getOutputStream()) {
                        out.write(body);
                    }
                }
            } catch (IOException | RuntimeException ex) {
                // the client went away
            } finally {
                response.resume();
            }
        });
    }
}
