package io.distlock.server;

import java.io.CharConversionException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import org.glassfish.grizzly.Buffer;
import org.glassfish.grizzly.CompletionHandler;
import org.glassfish.grizzly.Connection;
import org.glassfish.grizzly.EmptyCompletionHandler;
import org.glassfish.grizzly.WriteResult;
import org.glassfish.grizzly.filterchain.BaseFilter;
import org.glassfish.grizzly.filterchain.FilterChainContext;
import org.glassfish.grizzly.filterchain.NextAction;
import org.glassfish.grizzly.http.HttpContent;
import org.glassfish.grizzly.http.HttpPacket;
import org.glassfish.grizzly.http.HttpProbe;
import org.glassfish.grizzly.http.HttpRequestPacket;
import org.glassfish.grizzly.http.HttpResponsePacket;
import org.glassfish.grizzly.http.Method;
import org.glassfish.grizzly.http.Protocol;
import org.glassfish.grizzly.http.util.Header;
import org.glassfish.grizzly.http.util.HttpStatus;
import org.glassfish.grizzly.http.util.MimeHeaders.MaxHeaderCountExceededException;
import org.glassfish.grizzly.memory.Buffers;

/**
 * Just below Tyrus on the HTTP chain: requests that are wrong get a 4xx (or 501) that says why,
 * and a refused handshake ends.
 *
 * <p>On the way in, bad requests that Grizzly and Tyrus answered {@code 500 Internal Server
 * Error}, which blames the server and tells the sender nothing, or served as if they were
 * right: a request target that is not percent-encoded UTF-8, or holds an encoded {@code /}
 * ({@code GET /%zz}: Grizzly's handlers answer 500 "Invalid URI"); a WebSocket handshake that
 * is not what RFC 6455 (4.2.1) asks for: a GET over HTTP/1.1 with {@code Connection: Upgrade}
 * and a {@code Sec-WebSocket-Key} of 16 bytes in base64 (Tyrus answered 500 without the key or
 * the {@code Connection} token, took any string as a key, and upgraded a POST or an HTTP/1.0
 * request), whose query string decodes (Tyrus upgraded, then dropped the connection); and a
 * request framed two ways, {@code Content-Length} beside {@code Transfer-Encoding} (RFC 9112,
 * 6.1: a way to smuggle a request past a proxy that reads the other one; Grizzly served both
 * and kept the connection), or whose last transfer coding is not {@code chunked} (RFC 9112,
 * 6.3: its end cannot be found; Grizzly read {@code chunked, gzip} as chunked), or with a
 * transfer coding besides {@code chunked} (501), or a header name that is not a token (a space
 * before the colon: Grizzly read {@code Transfer-Encoding : chunked} as another header), or two
 * {@code Host} headers. Each is
 * answered with a line of text, and the connection is closed. (A chunked request is served,
 * and its connection closed after the answer: Grizzly drops a {@code Content-Length} beside
 * {@code chunked} before this filter can see it.) HTTP requests pass here once per
 * read of their head or body; upgraded connections never do ({@link UpgradedChain}).
 *
 * <p>On the way out: Tyrus on Grizzly answers a handshake it refuses itself (a foreign
 * {@code Origin}, an unknown version) with a status line and neither a body length nor a
 * closed connection, so an HTTP client waits for the body for ever (the JDK's WebSocket client
 * never reports the 403). Such a response (and the endpoint's own refusals, a 403 for a foreign
 * {@code Origin}, which say {@code Content-Length: 0} but were left open until the HTTP
 * deadline) gets {@code Content-Length: 0} and is closed once written; Tyrus's 426 for an unknown {@code Sec-WebSocket-Version} gets its reason phrase
 * ({@code Upgrade Required}, which Grizzly would print as {@code CUSTOM}). Tyrus's refusals are
 * told from the server's own error pages (a 404 for an upgrade to another path) by having no
 * body and no content type.
 */
final class RefusalFilter extends BaseFilter {

    private static final int KEY_BYTES = 16;
    /** Starts a problem answered 501 rather than 400. */
    private static final String NOT_IMPLEMENTED = "501:";
    private static final String CHUNKED = "chunked";

    @Override
    public NextAction handleRead(FilterChainContext ctx) {
        if (ctx.getMessage() instanceof HttpContent content && content.getHttpHeader() instanceof HttpRequestPacket request) {
            String problem = problem(request);
            if (problem != null) {
                refuse(ctx, request, problem.startsWith(NOT_IMPLEMENTED) ? HttpStatus.NOT_IMPLEMENTED_501 : HttpStatus.BAD_REQUEST_400,
                        problem);
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
                && response.getContentLength() <= 0 && !response.isChunked() // the endpoint's own refusals say 0
                && response.getContentType() == null && !content.getContent().hasRemaining()) {
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

    /** Why {@code request} is refused, or null if it is not; a 501 starts with {@link #NOT_IMPLEMENTED}. */
    private static String problem(HttpRequestPacket request) {
        try {
            // Decoded as Grizzly's handlers decode it (UTF-8, no encoded slash, no dot segment
            // above the root); they reuse the result.
            request.getRequestURIRef().getDecodedRequestURIBC(false);
        } catch (CharConversionException | RuntimeException e) { // Grizzly's decoder throws several kinds
            return "the request target is not a valid path (percent-encoded UTF-8, no encoded slash, no .. above the root)";
        }
        for (String name : request.getHeaders().names()) {
            if (!isToken(name)) {
                // Grizzly takes a name up to the colon, spaces and line ends included: it read
                // "Transfer-Encoding : chunked" as another header and went by Content-Length,
                // where a proxy in front may have read chunked (RFC 9112 5.1: 400).
                return "a header name is a token: no space before its colon, no space or separator in it (RFC 9110, 9112)";
            }
        }
        if (count(request.getHeaders().values(Header.Host)) > 1) {
            // Which one names the page's own origin (the endpoint's Origin check) would be a guess.
            return "a request has one Host header (RFC 9112)";
        }
        List<String> codings = tokens(request.getHeaders().values(Header.TransferEncoding));
        if (!codings.isEmpty()) {
            if (codings.indexOf(CHUNKED) != codings.size() - 1) {
                // Without chunked last, and once, the body's end cannot be found (RFC 9112, 6.3).
                return "a request's last transfer coding is chunked, applied once (RFC 9112)";
            }
            if (codings.size() > 1 || !request.isChunked()) { // Grizzly reads only "chunked", in lower case
                return NOT_IMPLEMENTED + "the only transfer coding taken is chunked, in lower case";
            }
            // Grizzly reads the body as chunked and drops a Content-Length beside it, which a
            // proxy in front may have gone by: whatever follows on this connection is not
            // taken for a request (RFC 9112, 6.1).
            request.getProcessingState().setKeepAlive(false);
        }
        if (request.isUpgrade() && request.getUpgradeDC().equalsIgnoreCase("websocket")) {
            return handshakeProblem(request);
        }
        return null;
    }

    /** What a WebSocket handshake lacks of what RFC 6455 (4.2.1) asks for, or null. */
    private static String handshakeProblem(HttpRequestPacket request) {
        if (!Method.GET.equals(request.getMethod()) || request.getProtocol() != Protocol.HTTP_1_1) {
            return "a WebSocket handshake is a GET request over HTTP/1.1 (RFC 6455)";
        }
        if (!tokens(request.getHeaders().values(Header.Connection)).contains("upgrade")) {
            return "a WebSocket handshake needs the header Connection: Upgrade (RFC 6455)";
        }
        if (!validKey(request.getHeader("Sec-WebSocket-Key"))) {
            return "a WebSocket handshake needs a Sec-WebSocket-Key header: " + KEY_BYTES + " bytes in base64 (RFC 6455)";
        }
        String query = request.getQueryString();
        if (query != null) {
            try {
                // As Tyrus reads it, after the 101: as a URI (which a browser's unencoded { } | ^
                // fail), and its parameters percent-decoded.
                new URI(request.getRequestURI() + "?" + query);
                URLDecoder.decode(query, StandardCharsets.UTF_8);
            } catch (URISyntaxException | IllegalArgumentException e) {
                return "the query string is not a valid percent-encoded URI query";
            }
        }
        return null;
    }

    /** The tokens of the comma-separated header {@code values} (every line of the header), in lower case. */
    private static List<String> tokens(Iterable<String> values) {
        List<String> tokens = new ArrayList<>();
        for (String value : values) {
            for (String part : value.split(",")) {
                if (!part.isBlank()) {
                    tokens.add(part.trim().toLowerCase(Locale.ROOT));
                }
            }
        }
        return tokens;
    }

    private static int count(Iterable<String> values) {
        int n = 0;
        for (String ignored : values) {
            n++;
        }
        return n;
    }

    /** Whether {@code name} is a token (RFC 9110 5.6.2): one or more of ALPHA, DIGIT and {@code !#$%&'*+-.^_`|~}. */
    private static boolean isToken(String name) {
        if (name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "!#$%&'*+-.^_`|~".indexOf(c) >= 0)) {
                return false;
            }
        }
        return true;
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

    /** Answers {@code status} with {@code problem} as the body, then closes the connection. */
    private static void refuse(FilterChainContext ctx, HttpRequestPacket request, HttpStatus status, String problem) {
        String why = problem.startsWith(NOT_IMPLEMENTED) ? problem.substring(NOT_IMPLEMENTED.length()) : problem;
        byte[] body = (status.getStatusCode() + " " + status.getReasonPhrase() + ": " + why + "\n").getBytes(StandardCharsets.UTF_8);
        HttpResponsePacket response = request.getResponse();
        response.setStatus(status);
        response.setContentType("text/plain;charset=utf-8");
        response.setContentLength(body.length);
        response.setHeader(Header.Connection, "close");
        Buffer buffer = Buffers.wrap(ctx.getMemoryManager(), body);
        ctx.write(HttpContent.builder(response).content(buffer).last(true).build(), thenClose(ctx.getConnection(), null));
    }

    /**
     * Grizzly's HTTP codec answers a request head over its limit ({@code --max-request-head-bytes})
     * or with more than 100 headers with an empty {@code 400 Bad Request}, and logs nothing: a
     * browser whose cookies for the host outgrow the limit could not connect, and nobody could
     * tell why. The codec tells its probes of the error just before it answers, and keeps a
     * status of 400 or more set on the response by then: this probe makes it {@code 431 Request
     * Header Fields Too Large} (RFC 6585) and says so in the log, at most once a minute.
     */
    static final class HeadTooLarge extends HttpProbe.Adapter {
        private static final System.Logger LOG = System.getLogger(RefusalFilter.class.getName());
        private static final long LOG_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

        private final int maxBytes;
        private final LongAdder answered = new LongAdder();
        private final AtomicLong lastLogged = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);

        HeadTooLarge(int maxBytes) {
            this.maxBytes = maxBytes;
        }

        @Override
        public void onErrorEvent(Connection connection, HttpPacket packet, Throwable error) {
            if (!(packet instanceof HttpRequestPacket request) || request.getResponse() == null || !tooLarge(error)) {
                return;
            }
            HttpStatus.REQUEST_HEADER_FIELDS_TOO_LARGE.setValues(request.getResponse());
            answered.increment();
            long now = System.nanoTime();
            long last = lastLogged.get();
            if (now - last >= LOG_EVERY_NANOS && lastLogged.compareAndSet(last, now)) {
                LOG.log(System.Logger.Level.WARNING, "Answered 431 to {0} request(s) since the last such line, the last from {1}: "
                        + "a request head over {2} bytes or of more than 100 headers. Browsers send their cookies with every request, "
                        + "the WebSocket handshake included: --max-request-head-bytes raises the limit",
                        answered.sumThenReset(), connection.getPeerAddress(), Integer.toString(maxBytes));
            }
        }

        /** Whether {@code error} is the codec's for a head over its size or header count (both are 431s). */
        private static boolean tooLarge(Throwable error) {
            return error instanceof MaxHeaderCountExceededException
                    || error instanceof IllegalStateException && String.valueOf(error.getMessage()).endsWith("header is too large");
        }
    }

    /** Closes {@code connection} once a write is done (or failed), after telling {@code next} if not null. */
    @SuppressWarnings({"rawtypes", "unchecked"})
    static CompletionHandler<WriteResult> thenClose(Connection<?> connection, CompletionHandler next) {
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
