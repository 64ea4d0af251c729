package io.distlock.server;

import java.io.CharConversionException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

import org.glassfish.grizzly.Buffer;
import org.glassfish.grizzly.CompletionHandler;
import org.glassfish.grizzly.Connection;
import org.glassfish.grizzly.EmptyCompletionHandler;
import org.glassfish.grizzly.WriteResult;
import org.glassfish.grizzly.filterchain.BaseFilter;
import org.glassfish.grizzly.filterchain.FilterChainContext;
import org.glassfish.grizzly.filterchain.NextAction;
import org.glassfish.grizzly.http.HttpContent;
import org.glassfish.grizzly.http.HttpRequestPacket;
import org.glassfish.grizzly.http.HttpResponsePacket;
import org.glassfish.grizzly.http.util.Header;
import org.glassfish.grizzly.http.util.HttpStatus;
import org.glassfish.grizzly.memory.Buffers;

/**
 * Just below Tyrus on the HTTP chain: requests that are wrong get a 4xx that says why, and a
 * refused handshake ends.
 *
 * <p>On the way in, two kinds of bad request that Grizzly and Tyrus answered
 * {@code 500 Internal Server Error}, which blames the server and tells the sender nothing: a
 * request target that is not percent-encoded UTF-8, or holds an encoded {@code /} ({@code GET
 * /%zz}: Grizzly's handlers answer 500 "Invalid URI"), and a WebSocket handshake without a
 * {@code Sec-WebSocket-Key} of 16 bytes in base64 (Tyrus answers 500 for a missing one, takes
 * any string for one; RFC 6455, 4.2.1 asks for a 400). Both are answered
 * {@code 400 Bad Request} with a line of text, and the connection is closed. HTTP requests pass
 * here once per read of their head or body; upgraded connections never do
 * ({@link UpgradedChain}).
 *
 * <p>On the way out: Tyrus on Grizzly answers a handshake it refuses itself (a foreign
 * {@code Origin}, an unknown version) with a status line and neither a body length nor a
 * closed connection, so an HTTP client waits for the body for ever (the JDK's WebSocket client
 * never reports the 403). Such a response gets {@code Content-Length: 0} and
 * {@code Connection: close}; Tyrus's 426 for an unknown {@code Sec-WebSocket-Version} gets its
 * reason phrase ({@code Upgrade Required}, which Grizzly would print as {@code CUSTOM}).
 */
final class RefusalFilter extends BaseFilter {

    private static final int KEY_BYTES = 16;

    @Override
    public NextAction handleRead(FilterChainContext ctx) {
        if (ctx.getMessage() instanceof HttpContent content && content.getHttpHeader() instanceof HttpRequestPacket request) {
            String problem = problem(request);
            if (problem != null) {
                refuse(ctx, request, problem);
                return ctx.getStopAction();
            }
        }
        return ctx.getInvokeAction();
    }

    @Override
    public NextAction handleWrite(FilterChainContext ctx) {
        if (ctx.getMessage() instanceof HttpContent content
                && content.getHttpHeader() instanceof HttpResponsePacket response
                && response.getStatus() >= 400
                && response.getRequest() != null && response.getRequest().isUpgrade()
                && response.getContentLength() < 0 && !response.isChunked()) {
            response.setContentLength(0);
            response.setHeader(Header.Connection, "close");
            if (response.getStatus() == 426) {
                response.setReasonPhrase("Upgrade Required");
            }
            FilterChainContext.TransportContext write = ctx.getTransportContext();
            write.setCompletionHandler(thenClose(ctx.getConnection(), write.getCompletionHandler()));
        }
        return ctx.getInvokeAction();
    }

    /** Why {@code request} is refused, or null if it is not. */
    private static String problem(HttpRequestPacket request) {
        try {
            // Decoded as Grizzly's handlers decode it (UTF-8, no encoded slash); they reuse the result.
            request.getRequestURIRef().getDecodedRequestURIBC(false);
        } catch (CharConversionException | RuntimeException e) { // Grizzly's decoder throws several kinds
            return "the request target is not a valid percent-encoded UTF-8 path";
        }
        if (request.isUpgrade() && request.getUpgradeDC().equalsIgnoreCase("websocket") && !validKey(request.getHeader("Sec-WebSocket-Key"))) {
            return "a WebSocket handshake needs a Sec-WebSocket-Key header: " + KEY_BYTES + " bytes in base64 (RFC 6455)";
        }
        return null;
    }

    private static boolean validKey(String key) {
        if (key == null) {
            return false;
        }
        try {
            return Base64.getDecoder().decode(key.trim()).length == KEY_BYTES;
        } catch (IllegalArgumentException notBase64) {
            return false;
        }
    }

    /** Answers 400 with {@code problem} as the body, then closes the connection. */
    private static void refuse(FilterChainContext ctx, HttpRequestPacket request, String problem) {
        byte[] body = ("400 Bad Request: " + problem + "\n").getBytes(StandardCharsets.UTF_8);
        HttpResponsePacket response = request.getResponse();
        response.setStatus(HttpStatus.BAD_REQUEST_400);
        response.setContentType("text/plain;charset=utf-8");
        response.setContentLength(body.length);
        response.setHeader(Header.Connection, "close");
        Buffer buffer = Buffers.wrap(ctx.getMemoryManager(), body);
        ctx.write(HttpContent.builder(response).content(buffer).last(true).build(), thenClose(ctx.getConnection(), null));
    }

    /** Closes {@code connection} once a write is done (or failed), after telling {@code next} if not null. */
    @SuppressWarnings({"rawtypes", "unchecked"})
    private static CompletionHandler<WriteResult> thenClose(Connection<?> connection, CompletionHandler next) {
        return new EmptyCompletionHandler<>() {
            @Override
            public void completed(WriteResult result) {
                try {
                    if (next != null) {
                        next.completed(result);
                    }
                } finally {
                    connection.closeSilently();
                }
            }

            @Override
            public void failed(Throwable failure) {
                try {
                    if (next != null) {
                        next.failed(failure);
                    }
                } finally {
                    connection.closeSilently();
                }
            }
        };
    }
}
