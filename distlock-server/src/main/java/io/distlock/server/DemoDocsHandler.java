package io.distlock.server;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import java.util.function.Predicate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.glassfish.grizzly.Connection;
import org.glassfish.grizzly.ReadHandler;
import org.glassfish.grizzly.http.Method;
import org.glassfish.grizzly.http.io.NIOInputStream;
import org.glassfish.grizzly.http.server.HttpHandler;
import org.glassfish.grizzly.http.server.Request;
import org.glassfish.grizzly.http.server.Response;
import org.glassfish.grizzly.http.util.Header;

/**
 * The demo's fenced store over HTTP ({@link FencedDocs}), for the board page:
 *
 * <ul>
 *   <li>{@code GET /demo/docs}: {@code {"docs": [{"id", "title", "text", "token", "by"}, ...]}}
 *       ({@code token} 0 before the first save);</li>
 *   <li>{@code PUT /demo/docs/{id}} with {@code {"token": N, "text": "...", "by": "..."}}
 *       ({@code text} absent: only announce the token; {@code by} optional): 200 with the
 *       document, or 409 {@code {"error": "STALE_TOKEN", "message", "token", "highest", "by"}}
 *       when a higher token was accepted before; 403 when its {@code Host} is not one of
 *       {@code --allowed-host}; 429 with {@code Retry-After} past the {@link SaveThrottle}
 *       (per client address and per node: each save is a script in Redis).</li>
 * </ul>
 *
 * Anything else that is wrong is a 400 (a bad body), 404 (no such document), 405 or 503 (Redis
 * did not answer), each with {@code {"error", "message"}} and never a stack trace. Bodies are
 * read up to {@link #MAX_BODY_BYTES}, without blocking a thread while they arrive, and must
 * arrive within the HTTP deadline (408 and the connection closed otherwise): the server's
 * deadline counts only until a request's head is complete.
 */
final class DemoDocsHandler extends HttpHandler {

    static final String PATH = "/demo/docs";
    /** A text of {@link FencedDocs#MAX_TEXT_CHARS} characters, each escaped as JSON at its longest, and room for the rest. */
    static final int MAX_BODY_BYTES = FencedDocs.MAX_TEXT_CHARS * 6 + 1024;
    /**
     * One value and nothing after it; no field twice (Jackson keeps the last, another reader the
     * first: {@code {"token": 5, "token": 9007199254}} was saved with the second token), as the
     * endpoint reads its frames ({@code Frames}).
     */
    private static final ObjectMapper JSON = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final System.Logger LOG = System.getLogger(DemoDocsHandler.class.getName());

    private final FencedDocs docs;
    private final Duration bodyTimeout;
    private final Predicate<String> hostAllowed;
    /** The server hides holders ({@code --hide-holder}): a save's {@code by} (the page sends its session name) is not kept. */
    private final boolean hideNames;
    private final SaveThrottle throttle;
    /** A request's client key from its TCP peer and its {@code X-Forwarded-For} values (read only from a trusted proxy). */
    private final BiFunction<InetAddress, List<String>, String> clientKey;

    /**
     * {@code hostAllowed}: whether a {@code Host} header (null: none) may save, as the endpoint's
     * handshake; {@code hideNames}: keep no {@code by}, and show none Redis holds, so that no answer names a saver; saves
     * are counted by {@code throttle} under the key {@code clientKey} gives, as the endpoint's
     * per-address cap ({@code ClientAddress.resolve}).
     */
    DemoDocsHandler(FencedDocs docs, Duration bodyTimeout, Predicate<String> hostAllowed, boolean hideNames,
                    SaveThrottle throttle, BiFunction<InetAddress, List<String>, String> clientKey) {
        this.docs = docs;
        this.bodyTimeout = bodyTimeout;
        this.hostAllowed = hostAllowed;
        this.hideNames = hideNames;
        this.throttle = throttle;
        this.clientKey = clientKey;
    }

    @Override
    public void service(Request request, Response response) throws IOException {
        String uri = request.getDecodedRequestURI(); // valid: RefusalFilter refused the rest
        Method method = request.getMethod();
        try {
            if (uri.equals(PATH) || uri.equals(PATH + "/")) {
                if (!Method.GET.equals(method) && !Method.HEAD.equals(method)) {
                    notAllowed(response, "GET, HEAD");
                    return;
                }
                send(response, 200, JSON.createObjectNode().set("docs", JSON.valueToTree(docs.list().stream().map(this::shown).toList())));
            } else if (uri.startsWith(PATH + "/")) {
                if (!Method.PUT.equals(method)) {
                    notAllowed(response, "PUT");
                    return;
                }
                // The one request that changes state: a page whose name was rebound to this node
                // is same-origin to the browser, and only its Host tells it apart.
                String host = request.getHeader(Header.Host);
                if (!hostAllowed.test(host)) {
                    error(response, 403, "FORBIDDEN", "Host '" + (host == null ? "" : host.length() > 60 ? host.substring(0, 60) + "..." : host)
                            + "' is not one of this server's --allowed-host");
                    return;
                }
                String id = uri.substring(PATH.length() + 1);
                if (!FencedDocs.DOCUMENTS.containsKey(id)) {
                    error(response, 404, "NOT_FOUND", "no document '" + (id.length() > 40 ? id.substring(0, 40) + "..." : id)
                            + "'; the demo has " + String.join(", ", FencedDocs.DOCUMENTS.keySet()));
                    return;
                }
                readThenSave(id, client(request), request, response);
            } else {
                error(response, 404, "NOT_FOUND", "nothing at " + (uri.length() > 60 ? uri.substring(0, 60) + "..." : uri));
            }
        } catch (IllegalArgumentException e) {
            error(response, 400, "BAD_REQUEST", e.getMessage());
        } catch (IllegalStateException e) {
            unavailable(e);
            error(response, 503, "UNAVAILABLE", "the store (Redis) did not answer; try again");
        }
    }

    /**
     * At DEBUG, as the lock path's {@code BACKEND_UNAVAILABLE}: anyone may send a request a second,
     * and a Redis outage is told once by the lock service and by {@code /health}; one WARNING per
     * request let an anonymous client bury those lines (review 2026-12-07).
     */
    private static void unavailable(IllegalStateException e) {
        LOG.log(System.Logger.Level.DEBUG, "demo store: {0}", e.getMessage());
    }

    /**
     * Suspends the request until its body has come (or more than a body may have), then saves on a
     * worker thread; a body that has not come within the deadline is answered 408, and the
     * connection closed. Exactly one of them answers.
     */
    private void readThenSave(String id, String client, Request request, Response response) {
        AtomicBoolean answered = new AtomicBoolean();
        Connection<?> connection = request.getContext().getConnection();
        response.suspend(bodyTimeout.toMillis(), TimeUnit.MILLISECONDS, null, late -> {
            if (answered.compareAndSet(false, true)) {
                late.setHeader(Header.Connection, "close");
                answerQuietly(late, () -> error(late, 408, "REQUEST_TIMEOUT", "the body did not arrive within "
                        + bodyTimeout.toMillis() + " ms"));
                // Grizzly would read (and drop) the rest of the body first, for as long as it comes.
                connection.closeSilently();
            }
            return false; // answered (and resumed) here or by the save, not cancelled by Grizzly
        });
        Executor worker = connection.getTransport().getWorkerThreadPool();
        NIOInputStream in = request.getNIOInputStream();
        in.notifyAvailable(new ReadHandler() {
            @Override
            public void onDataAvailable() {
                onAllDataRead(); // more than a body may have: refused without reading the rest
            }

            @Override
            public void onAllDataRead() {
                if (!answered.compareAndSet(false, true)) {
                    return;
                }
                byte[] body = new byte[Math.min(in.readyData(), MAX_BODY_BYTES + 1)];
                int length;
                try {
                    length = body.length == 0 ? 0 : Math.max(in.read(body), 0); // what is ready: does not block
                } catch (IOException e) {
                    response.resume(); // the connection failed: nobody to answer
                    return;
                }
                // (A body over the limit is answered 400 unread: Grizzly reads and drops the rest,
                // within the HTTP deadline, so that the client, still sending, gets the answer.)
                Runnable save = () -> answerQuietly(response, () -> save(id, client, parseBody(body, length), response));
                if (worker != null) {
                    worker.execute(save);
                } else {
                    save.run();
                }
            }

            @Override
            public void onError(Throwable error) {
                if (answered.compareAndSet(false, true)) {
                    response.resume(); // the connection is gone: nobody to answer
                }
            }
        }, MAX_BODY_BYTES + 1);
    }

    /** Answers a suspended request with what {@code answer} writes (a 400 or 503 for what it throws), then resumes it. */
    private static void answerQuietly(Response response, IoAction answer) {
        try {
            try {
                answer.run();
            } catch (IllegalArgumentException e) {
                error(response, 400, "BAD_REQUEST", e.getMessage());
            } catch (IllegalStateException e) {
                unavailable(e);
                error(response, 503, "UNAVAILABLE", "the store (Redis) did not answer; try again");
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "demo store: could not answer: {0}", e.toString());
        } finally {
            response.resume();
        }
    }

    @FunctionalInterface
    private interface IoAction {
        void run() throws IOException;
    }

    /** The key {@code request}'s saves are counted under: its client's address (IPv6: /64), or its peer's. */
    private String client(Request request) {
        InetAddress peer = request.getContext().getConnection().getPeerAddress() instanceof InetSocketAddress socket
                ? socket.getAddress() : null;
        List<String> forwardedFor = new ArrayList<>();
        request.getHeaders("X-Forwarded-For").forEach(forwardedFor::add);
        String key = clientKey.apply(peer, forwardedFor);
        return key == null ? "unknown" : key;
    }

    private void save(String id, String client, JsonNode body, Response response) throws IOException {
        JsonNode token = body.get("token");
        if (token == null || !token.isIntegralNumber() || !token.canConvertToLong()) {
            throw new IllegalArgumentException("\"token\" must be the lock's fencing token, a whole number");
        }
        JsonNode text = body.get("text");
        if (text != null && !text.isTextual() && !text.isNull()) {
            throw new IllegalArgumentException("\"text\" must be a string (or absent, to announce the token only)");
        }
        JsonNode by = body.get("by");
        if (by != null && !by.isTextual() && !by.isNull()) {
            throw new IllegalArgumentException("\"by\" must be a string");
        }
        for (String field : iterable(body.fieldNames())) {
            if (!List.of("token", "text", "by").contains(field)) {
                throw new IllegalArgumentException("unknown field \"" + (field.length() > 40 ? field.substring(0, 40) + "..." : field)
                        + "\"; a save has token, text and by");
            }
        }
        String newText = text == null || text.isNull() ? null : text.textValue();
        String name = by == null || by.isNull() || hideNames ? null : by.textValue();
        FencedDocs.checkSave(id, token.longValue(), newText, name); // a 400 costs Redis nothing: not counted
        SaveThrottle.Verdict verdict = throttle.acquire(client);
        if (!verdict.taken()) {
            response.setHeader(Header.RetryAfter, Long.toString(verdict.retryAfterSeconds()));
            error(response, 429, "TOO_MANY_REQUESTS", (verdict.node()
                    ? "this node takes at most " + SaveThrottle.PER_NODE_PER_SECOND + " saves a second, from everyone"
                    : "at most " + SaveThrottle.PER_ADDRESS_PER_SECOND + " saves a second from one address")
                    + "; try again in " + verdict.retryAfterSeconds() + " s");
            return;
        }
        FencedDocs.Saved saved = docs.save(id, token.longValue(), newText, name);
        FencedDocs.Doc doc = shown(saved.doc());
        if (saved.accepted()) {
            send(response, 200, JSON.valueToTree(doc));
            return;
        }
        ObjectNode refusal = JSON.createObjectNode()
                .put("error", "STALE_TOKEN")
                .put("message", "save refused: a newer holder" + (doc.by().isEmpty() ? "" : " (" + doc.by() + ")")
                        + " saved with token " + doc.token() + "; yours is " + token.longValue())
                .put("token", token.longValue())
                .put("highest", doc.token())
                .put("by", doc.by());
        send(response, 409, refusal);
    }

    /**
     * A document as this node answers it: without its saver's name when names are hidden, also a
     * name that Redis holds from a node that showed them (the same store before the flag was set,
     * or another node without it).
     */
    private FencedDocs.Doc shown(FencedDocs.Doc doc) {
        return hideNames && !doc.by().isEmpty() ? new FencedDocs.Doc(doc.id(), doc.title(), doc.text(), doc.token(), "") : doc;
    }

    /** The body's first {@code length} bytes; more than {@link #MAX_BODY_BYTES} (there may be more still) is refused. */
    private static JsonNode parseBody(byte[] bytes, int length) {
        if (length > MAX_BODY_BYTES) {
            throw new IllegalArgumentException("the body is larger than " + MAX_BODY_BYTES + " bytes (a text has at most "
                    + FencedDocs.MAX_TEXT_CHARS + " characters)");
        }
        JsonNode body;
        try {
            String text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes, 0, length)).toString();
            body = JSON.readTree(text); // one value and nothing after it (FAIL_ON_TRAILING_TOKENS)
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the body is not UTF-8");
        } catch (JsonProcessingException e) {
            if (String.valueOf(e.getOriginalMessage()).startsWith("Duplicate field")) { // "Duplicate field 'token'"
                throw new IllegalArgumentException("the body names a field twice: " + e.getOriginalMessage().substring("Duplicate ".length()));
            }
            throw new IllegalArgumentException("the body must be a JSON object like {\"token\": 123, \"text\": \"...\"}");
        }
        if (body == null || !body.isObject()) {
            throw new IllegalArgumentException("the body must be a JSON object like {\"token\": 123, \"text\": \"...\"}");
        }
        for (JsonNode value : body) {
            if (value.isTextual() && !wellFormed(value.textValue())) {
                throw new IllegalArgumentException("the body's strings must not hold an unpaired surrogate (it would be stored as ?)");
            }
        }
        return body;
    }

    /** Whether {@code text} has no unpaired UTF-16 surrogate: whether it can be written as UTF-8. */
    private static boolean wellFormed(String text) {
        return StandardCharsets.UTF_8.newEncoder().canEncode(text);
    }

    private static void notAllowed(Response response, String allowed) throws IOException {
        response.setHeader(Header.Allow, allowed);
        error(response, 405, "METHOD_NOT_ALLOWED", "use " + allowed + " here");
    }

    private static void error(Response response, int status, String code, String message) throws IOException {
        send(response, status, JSON.valueToTree(Map.of("error", code, "message", message)));
    }

    private static void send(Response response, int status, JsonNode json) throws IOException {
        byte[] body = JSON.writeValueAsBytes(json);
        response.setStatus(status);
        response.setContentType("application/json");
        response.setHeader(Header.CacheControl, "no-store");
        response.setHeader("X-Content-Type-Options", "nosniff");
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    private static <T> Iterable<T> iterable(java.util.Iterator<T> iterator) {
        return () -> iterator;
    }
}
