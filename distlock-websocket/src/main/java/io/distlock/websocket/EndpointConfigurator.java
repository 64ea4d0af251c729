package io.distlock.websocket;

import java.lang.System.Logger.Level;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import jakarta.websocket.EndpointConfig;
import jakarta.websocket.HandshakeResponse;
import jakarta.websocket.Session;
import jakarta.websocket.server.HandshakeRequest;
import jakarta.websocket.server.ServerEndpointConfig;

/**
 * The handshake side of the endpoint: checks the {@code Host} and the {@code Origin}, runs the authenticator,
 * and creates one {@link DistLockEndpoint} per connection holding this node's lock service.
 */
final class EndpointConfigurator extends ServerEndpointConfig.Configurator {

    private static final System.Logger LOG = System.getLogger(EndpointConfigurator.class.getName());

    /** User-property key of the authenticated principal. */
    static final String PRINCIPAL = "io.distlock.websocket.principal";
    /** User-property key marking a handshake this configurator refused. */
    static final String REFUSED = "io.distlock.websocket.refused";
    /** User-property key of the client's address ({@link ClientAddress#key}), when known. */
    static final String CLIENT = "io.distlock.websocket.client";
    /**
     * Where Jetty 12 puts the peer's {@code SocketAddress} in a connection's user properties
     * before {@code modifyHandshake}; the name a later Jakarta WebSocket may make standard.
     */
    static final String REMOTE_ADDRESS = "jakarta.websocket.endpoint.remoteAddress";

    private final Node node;

    EndpointConfigurator(Node node) {
        this.node = node;
    }

    /**
     * Accepts here and checks the origin in {@link #modifyHandshake} instead: Tyrus answers a
     * {@code false} from this method with a 403 that has no length and keeps the connection
     * open, so a non-browser client waits for ever; {@link #refuse} answers a clean 403.
     */
    @Override
    public boolean checkOrigin(String origin) {
        return true;
    }

    /**
     * The origin rule of {@link EndpointOptions#allowedOrigins()}: the server's own origin (the
     * {@code Host} the browser connected to), the listed ones, or any with {@code "*"}. A
     * handshake without {@code Origin} comes from a client that is not a browser (browsers
     * always send it on WebSocket handshakes), so it cannot carry a victim's cookies from
     * another site: {@link EndpointOptions#allowMissingOrigin()} decides.
     */
    boolean originAllowed(String origin, String host) {
        if (origin == null || origin.isEmpty()) {
            return node.options.allowMissingOrigin();
        }
        Set<String> allowed = node.options.allowedOrigins();
        return allowed.contains(EndpointOptions.ANY_ORIGIN)
                || allowed.contains(origin.toLowerCase(Locale.ROOT))
                || SameOrigin.matches(origin, host);
    }

    /**
     * The checks of {@link #modifyHandshake} that need no connection, for a servlet filter in
     * front of the endpoint: the status the handshake would be refused with, or 0. Counted as
     * refusals as there.
     */
    int refusal(HandshakeInfo handshake) {
        if (node.isClosed()) {
            return 503;
        }
        if (!node.options.isAllowedHost(handshake.header("Host"))) {
            node.telemetry().refused("host");
            return 403;
        }
        if (!originAllowed(handshake.header("Origin"), handshake.header("Host"))) {
            node.telemetry().refused("origin");
            return 403;
        }
        if (node.openConnections() >= node.options.maxConnections()) {
            node.telemetry().refused("capacity");
            return 503;
        }
        Optional<Object> principal;
        try {
            principal = node.options.authenticator().authenticate(handshake);
        } catch (Throwable e) { // a refusal, whatever it is: see RequestHandler.authorized
            node.authenticatorThrew.happened(e);
            principal = null;
        }
        if (principal == null || principal.isEmpty()) {
            node.telemetry().refused("authentication");
            return 403;
        }
        return 0;
    }

    @Override
    public void modifyHandshake(ServerEndpointConfig config, HandshakeRequest request, HandshakeResponse response) {
        if (node.isClosed()) {
            // Not counted: the endpoint is shut down, not full.
            config.getUserProperties().put(REFUSED, Boolean.TRUE);
            refuse(response, 503, "Service Unavailable");
            return;
        }
        // Before the origin check, which trusts the Host: a rebound name sends a matching pair.
        if (!node.options.isAllowedHost(header(request, "Host"))) {
            refuse(config, response, "host", 403, "Forbidden");
            return;
        }
        if (!originAllowed(header(request, "Origin"), header(request, "Host"))) {
            refuse(config, response, "origin", 403, "Forbidden");
            return;
        }
        // Before the authenticator: a full node spends nothing on a newcomer. Counted again
        // when the connection opens, for handshakes that race past this together.
        if (node.openConnections() >= node.options.maxConnections()) {
            refuse(config, response, "capacity", 503, "Service Unavailable");
            return;
        }
        // Likewise per client address (counted again when the connection opens).
        String client = ClientAddress.resolve(peer(config, request), headers(request, "X-Forwarded-For"), node.options);
        if (client != null) {
            if (node.openConnectionsFrom(client) >= node.options.maxConnectionsPerAddress()) {
                refuse(config, response, "address", 429, "Too Many Requests");
                return;
            }
            config.getUserProperties().put(CLIENT, client);
        }
        Authenticator authenticator = node.options.authenticator();
        Optional<Object> principal;
        try {
            HandshakeInfo info = new HandshakeInfo(request.getHeaders(), request.getParameterMap(),
                    request.getQueryString(), request.getRequestURI(), request.getUserPrincipal());
            principal = authenticator.authenticate(info);
        } catch (Throwable e) { // a refusal, whatever it is: see RequestHandler.authorized
            node.authenticatorThrew.happened(e);
            principal = null;
        }
        if (principal == null || principal.isEmpty()) {
            refuse(config, response, "authentication", 403, "Forbidden");
            return;
        }
        // Containers give modifyHandshake a per-connection copy of the user properties, which
        // the session then sees.
        if (principal.get() != EndpointOptions.NO_PRINCIPAL) {
            config.getUserProperties().put(PRINCIPAL, principal.get());
        }
    }

    /**
     * The TCP peer's address, or null where the container does not tell it: Jetty puts it in
     * the connection's user properties ({@link #REMOTE_ADDRESS}); Tyrus's handshake request
     * has a public {@code getRemoteAddr()} (a literal, as Grizzly writes it).
     */
    static InetAddress peer(ServerEndpointConfig config, HandshakeRequest request) {
        if (config.getUserProperties().get(REMOTE_ADDRESS) instanceof InetSocketAddress socket && socket.getAddress() != null) {
            return socket.getAddress();
        }
        try {
            Method remote = request.getClass().getMethod("getRemoteAddr");
            if (remote.getReturnType() == String.class) {
                return ClientAddress.literal((String) remote.invoke(request));
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // not Tyrus
        }
        return null;
    }

    /** Every value of a handshake header, in order; containers differ in the case of header names. */
    private static List<String> headers(HandshakeRequest request, String name) {
        List<String> values = new ArrayList<>();
        for (Map.Entry<String, List<String>> h : request.getHeaders().entrySet()) {
            if (h.getKey() != null && h.getKey().equalsIgnoreCase(name)) {
                values.addAll(h.getValue());
            }
        }
        return values;
    }

    /** The first value of a handshake header; containers differ in the case of header names. */
    private static String header(HandshakeRequest request, String name) {
        for (Map.Entry<String, List<String>> h : request.getHeaders().entrySet()) {
            if (h.getKey() != null && h.getKey().equalsIgnoreCase(name) && !h.getValue().isEmpty()) {
                return h.getValue().get(0);
            }
        }
        return null;
    }

    @Override
    public <T> T getEndpointInstance(Class<T> endpointClass) throws InstantiationException {
        if (endpointClass != DistLockEndpoint.class) {
            throw new InstantiationException("this configurator creates only " + DistLockEndpoint.class.getName());
        }
        return endpointClass.cast(new DistLockEndpoint(node));
    }

    /**
     * Counts the refusal, marks the connection refused (Tyrus opens the endpoint even after a
     * refused handshake: see {@link #refused}) and sets the status.
     */
    private void refuse(ServerEndpointConfig config, HandshakeResponse response, String why, int status, String reason) {
        node.telemetry().refused(why);
        config.getUserProperties().put(REFUSED, Boolean.TRUE);
        refuse(response, status, reason);
    }

    /**
     * Whether this connection's handshake was refused. Tyrus answers the refusal's status, yet
     * still opens the endpoint for it (measured with Tyrus 2.2: {@code onOpen} runs on the
     * connection it then closes); such a connection must be neither served nor counted.
     */
    static boolean refused(Session ws, EndpointConfig config) {
        return ws.getUserProperties().get(REFUSED) != null || config.getUserProperties().get(REFUSED) != null;
    }

    /** The client's address key this connection counts under, or null if it is unknown. */
    static String client(Session ws, EndpointConfig config) {
        Object client = ws.getUserProperties().get(CLIENT);
        return (String) (client != null ? client : config.getUserProperties().get(CLIENT));
    }

    /** The principal the authenticator gave this connection, or null. */
    static Object principal(Session ws, EndpointConfig config) {
        Object principal = ws.getUserProperties().get(PRINCIPAL);
        return principal != null ? principal : config.getUserProperties().get(PRINCIPAL);
    }

    /**
     * Fails the handshake with HTTP {@code status} (403, 429, 503). JSR-356 has no portable way to do this from
     * {@code modifyHandshake}, so this speaks to the two containers we test:
     * <ul>
     * <li>Tyrus: its response object has {@code setStatus(int)}, and Tyrus answers every
     *     handshake whose status is not 101 (or a redirect) with that status and the
     *     headers we leave (though it still opens the endpoint, see {@link #refused});</li>
     * <li>Jetty 12: an exception thrown here fails the upgrade, and one that is Jetty's
     *     {@code HttpException} sets the response status.</li>
     * </ul>
     * Elsewhere the exception still fails the upgrade, with the container's own status
     * (Tomcat answers 500); there, refuse with a servlet filter in front of the endpoint.
     */
    static void refuse(HandshakeResponse response, int status, String reason) {
        Method setStatus;
        try {
            setStatus = response.getClass().getMethod("setStatus", int.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            setStatus = null; // not Tyrus
        }
        if (setStatus != null) {
            try {
                setStatus.invoke(response, status);
                try {
                    response.getClass().getMethod("setReasonPhrase", String.class).invoke(response, reason);
                } catch (ReflectiveOperationException | RuntimeException e) {
                    // the status is what counts
                }
                // Tyrus would still send the upgrade headers and no length, and keep the
                // connection: a client that reads the body would wait for ever.
                Map<String, List<String>> headers = response.getHeaders();
                headers.clear();
                headers.put("Content-Length", List.of("0"));
                headers.put("Connection", List.of("close"));
                return;
            } catch (ReflectiveOperationException | RuntimeException e) {
                LOG.log(Level.DEBUG, "Could not set the handshake status: {0}", e.toString());
            }
        }
        RuntimeException refusal = jettyRefusal(response.getClass().getClassLoader(), status, reason);
        throw refusal != null ? refusal : new SecurityException("WebSocket handshake refused");
    }

    private static RuntimeException jettyRefusal(ClassLoader loader, int status, String reason) {
        try {
            Class<?> type = Class.forName("org.eclipse.jetty.http.HttpException$RuntimeException", false, loader);
            Constructor<?> constructor = type.getConstructor(int.class, String.class);
            return (RuntimeException) constructor.newInstance(status, reason);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return null;
        }
    }
}
