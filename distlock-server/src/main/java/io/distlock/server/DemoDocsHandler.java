package io.distlock.server;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.glassfish.grizzly.http.Method;
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
 *       when a higher token was accepted before.</li>
 * </ul>
 *
 * Anything else that is wrong is a 400 (a bad body), 404 (no such document), 405 or 503 (Redis
 * did not answer), each with {@code {"error", "message"}} and never a stack trace. Bodies are
 * read up to {@link #MAX_BODY_BYTES}.
 */
final class DemoDocsHandler extends HttpHandler {

    static final String PATH = "/demo/docs";
    /** A text of {@link FencedDocs#MAX_TEXT_CHARS} characters, each escaped as JSON at its longest, and room for the rest. */
    static final int MAX_BODY_BYTES = FencedDocs.MAX_TEXT_CHARS * 6 + 1024;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final System.Logger LOG = System.getLogger(DemoDocsHandler.class.getName());

    private final FencedDocs docs;

    DemoDocsHandler(FencedDocs docs) {
        this.docs = docs;
    }

    @Override
    public void service(Request request, Response response) throws IOException {
        String uri = request.getRequestURI();
        Method method = request.getMethod();
        try {
            if (uri.equals(PATH) || uri.equals(PATH + "/")) {
                if (!Method.GET.equals(method)) {
                    notAllowed(response, "GET");
                    return;
                }
                send(response, 200, JSON.createObjectNode().set("docs", JSON.valueToTree(docs.list())));
            } else if (uri.startsWith(PATH + "/")) {
                if (!Method.PUT.equals(method)) {
                    notAllowed(response, "PUT");
                    return;
                }
                String id = uri.substring(PATH.length() + 1);
                if (!FencedDocs.DOCUMENTS.containsKey(id)) {
                    error(response, 404, "NOT_FOUND", "no document '" + (id.length() > 40 ? id.substring(0, 40) + "..." : id)
                            + "'; the demo has " + String.join(", ", FencedDocs.DOCUMENTS.keySet()));
                    return;
                }
                save(id, request, response);
            } else {
                error(response, 404, "NOT_FOUND", "nothing at " + (uri.length() > 60 ? uri.substring(0, 60) + "..." : uri));
            }
        } catch (IllegalArgumentException e) {
            error(response, 400, "BAD_REQUEST", e.getMessage());
        } catch (IllegalStateException e) {
            LOG.log(System.Logger.Level.WARNING, "demo store: {0}", e.getMessage());
            error(response, 503, "UNAVAILABLE", "the store (Redis) did not answer; try again");
        }
    }

    private void save(String id, Request request, Response response) throws IOException {
        JsonNode body = readBody(request);
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
        FencedDocs.Saved saved = docs.save(id, token.longValue(), text == null || text.isNull() ? null : text.textValue(),
                by == null || by.isNull() ? null : by.textValue());
        if (saved.accepted()) {
            send(response, 200, JSON.valueToTree(saved.doc()));
            return;
        }
        ObjectNode refusal = JSON.createObjectNode()
                .put("error", "STALE_TOKEN")
                .put("message", "save refused: a newer holder" + (saved.doc().by().isEmpty() ? "" : " (" + saved.doc().by() + ")")
                        + " saved with token " + saved.doc().token() + "; yours is " + token.longValue())
                .put("token", token.longValue())
                .put("highest", saved.doc().token())
                .put("by", saved.doc().by());
        send(response, 409, refusal);
    }

    private static JsonNode readBody(Request request) throws IOException {
        byte[] bytes;
        try (InputStream in = request.getInputStream()) {
            bytes = in.readNBytes(MAX_BODY_BYTES + 1);
        }
        if (bytes.length > MAX_BODY_BYTES) {
            throw new IllegalArgumentException("the body is larger than " + MAX_BODY_BYTES + " bytes (a text has at most "
                    + FencedDocs.MAX_TEXT_CHARS + " characters)");
        }
        JsonNode body;
        try {
            body = JSON.readTree(new String(bytes, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the body must be a JSON object like {\"token\": 123, \"text\": \"...\"}");
        }
        if (body == null || !body.isObject()) {
            throw new IllegalArgumentException("the body must be a JSON object like {\"token\": 123, \"text\": \"...\"}");
        }
        return body;
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
