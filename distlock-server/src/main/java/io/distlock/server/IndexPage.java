package io.distlock.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.IntSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.glassfish.grizzly.http.Method;
import org.glassfish.grizzly.http.server.HttpHandler;
import org.glassfish.grizzly.http.server.Request;
import org.glassfish.grizzly.http.server.Response;
import org.glassfish.grizzly.http.util.Header;
import org.glassfish.grizzly.http.util.HttpStatus;

/**
 * The page at {@code /}: what this server is, which node answered, and how to connect.
 * Rendered from the template {@code static/index.html} beside this class (the demo board), or
 * {@code static/node.html} without the demo ({@code --no-demo}); {@code {{name}}}
 * placeholders are replaced by HTML-escaped values. Every other path under {@code /} that no
 * other handler serves is a 404.
 */
final class IndexPage extends HttpHandler {

    static final String TEMPLATE = "static/index.html";
    /** The page without the demo: the node, its WebSocket endpoint and client, no script. */
    static final String PLAIN_TEMPLATE = "static/node.html";
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{(\\w+)}}");
    /** What a Host header may contain to be shown back: a host name or address and a port. */
    private static final Pattern SAFE_HOST = Pattern.compile("[A-Za-z0-9.\\-\\[\\]:]{1,255}");

    private final String template;
    private final String templateName;
    private final String nodeId;
    private final String version;
    private final String path;
    private final String listenHost;
    private final long leaseMillis;
    private final boolean clientBundled;
    private final boolean allowSteal;
    /** The port listened on, read when a request comes (the system may have chosen it). */
    private final IntSupplier port;

    IndexPage(String nodeId, String version, String listenHost, IntSupplier port, String path, long leaseMillis,
              boolean allowSteal, boolean demo) {
        this.templateName = demo ? TEMPLATE : PLAIN_TEMPLATE;
        this.template = readTemplate(templateName);
        this.nodeId = nodeId;
        this.version = version;
        this.listenHost = listenHost;
        this.port = port;
        this.path = path;
        this.leaseMillis = leaseMillis;
        this.allowSteal = allowSteal;
        this.clientBundled = IndexPage.class.getResource(WebServer.CLIENT_RESOURCES + "distlock.js") != null;
    }

    @Override
    public void service(Request request, Response response) throws Exception {
        String uri = request.getRequestURI();
        if (!uri.equals("/") && !uri.equals("/index.html")) {
            response.sendError(404);
            return;
        }
        if (!Method.GET.equals(request.getMethod()) && !Method.HEAD.equals(request.getMethod())) {
            response.setHeader(Header.Allow, "GET, HEAD");
            response.sendError(HttpStatus.METHOD_NOT_ALLOWED_405.getStatusCode());
            return;
        }
        byte[] body = render(hostHeader(request)).getBytes(StandardCharsets.UTF_8);
        response.setStatus(200);
        response.setContentType("text/html; charset=utf-8");
        response.setHeader(Header.CacheControl, "no-cache");
        response.setHeader("X-Content-Type-Options", "nosniff");
        Html.denyFraming(response);
        response.setContentLength(body.length);
        if (Method.GET.equals(request.getMethod())) {
            response.getOutputStream().write(body);
        }
    }

    /** The page as seen by a browser that reached the server as {@code host} (host:port). */
    String render(String host) {
        String wsUrl = "ws://" + host + path;
        Map<String, String> values = Map.of(
                "nodeId", nodeId,
                "version", version,
                "listen", ServerOptions.hostForUrl(listenHost) + ":" + port.getAsInt(),
                "wsUrl", wsUrl,
                "path", path,
                "allowSteal", Boolean.toString(allowSteal),
                "lease", leaseMillis % 1000 == 0 ? leaseMillis / 1000 + " s" : leaseMillis + " ms",
                "client", clientBundled
                        ? "The JavaScript client is served at <a href=\"/distlock/distlock.js\"><code>/distlock/distlock.js</code></a>."
                        : "The JavaScript client (<code>/distlock/distlock.js</code>) is not bundled in this build; any WebSocket client works.");
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder out = new StringBuilder(template.length() + 256);
        while (m.find()) {
            String key = m.group(1);
            String value = values.get(key);
            if (value == null) {
                throw new IllegalStateException("unknown placeholder {{" + key + "}} in " + templateName);
            }
            // "client" is markup of our own; everything else is text.
            m.appendReplacement(out, Matcher.quoteReplacement(key.equals("client") ? value : Html.escape(value)));
        }
        m.appendTail(out);
        return out.toString();
    }

    private String hostHeader(Request request) {
        String host = request.getHeader(Header.Host);
        return host != null && SAFE_HOST.matcher(host).matches() ? host : "localhost:" + port.getAsInt();
    }

    private static String readTemplate(String name) {
        try (InputStream in = IndexPage.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name + " beside " + IndexPage.class.getName());
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
