package io.distlock.spring.boot;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.distlock.websocket.DistLockEndpoints;
import io.distlock.websocket.HandshakeInfo;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * Sends the status of a refused distlock handshake (403 for a foreign {@code Origin} or a
 * refused authentication, 503 when the endpoint is full or closed) where the WebSocket
 * container cannot: Tomcat answers any refusal from a {@code ServerEndpointConfig.Configurator}'s
 * {@code modifyHandshake} with 500. Map it to the endpoint's path, in front of the container's
 * WebSocket filter; it looks only at WebSocket upgrade requests and lets the rest through.
 *
 * <p>A plain servlet filter with no Spring in it: an application on Tomcat without Spring Boot
 * can register it too ({@code servletContext.addFilter("distlock", new DistLockHandshakeFilter(endpoint))
 * .addMappingForUrlPatterns(null, false, endpoint.options().path())}).
 *
 * <p>When the web application stops, the filter closes the endpoint's connections
 * ({@link DistLockEndpoints#closeAll()}): every client is told before any of their locks is
 * released. Tomcat destroys filters first, then calls the listeners' {@code contextDestroyed}:
 * its own WebSocket listener's before the application's, and that one closes every connection
 * one by one, each close releasing that session's locks while the others are still served.
 */
public class DistLockHandshakeFilter implements Filter {

    private final DistLockEndpoints endpoint;

    public DistLockHandshakeFilter(DistLockEndpoints endpoint) {
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    }

    @Override
    public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain) throws IOException, ServletException {
        if (req instanceof HttpServletRequest request && res instanceof HttpServletResponse response && isUpgrade(request)) {
            int status = endpoint.refusalStatus(handshake(request));
            if (status != 0) {
                response.setStatus(status);
                response.setContentLength(0);
                response.setHeader("Connection", "close");
                response.flushBuffer();
                return;
            }
        }
        chain.doFilter(req, res);
    }

    /** The web application is stopping: its clients are told first (see the class comment). */
    @Override
    public void destroy() {
        endpoint.closeAll();
    }

    /**
     * A WebSocket upgrade as Tomcat's {@code UpgradeUtil} tells one: {@code websocket}, in any case,
     * anywhere among the comma-separated tokens of any {@code Upgrade} line. A stricter test let
     * {@code Upgrade: websocket, h2c} past the filter, to Tomcat's 500.
     */
    private static boolean isUpgrade(HttpServletRequest request) {
        if (!"GET".equals(request.getMethod())) {
            return false;
        }
        Enumeration<String> lines = request.getHeaders("Upgrade");
        if (lines == null) {
            return false;
        }
        for (String line : Collections.list(lines)) {
            for (String token : line.split(",")) {
                if (token.trim().equalsIgnoreCase("websocket")) {
                    return true;
                }
            }
        }
        return false;
    }

    private static HandshakeInfo handshake(HttpServletRequest request) {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (String name : Collections.list(request.getHeaderNames())) {
            headers.put(name, Collections.list(request.getHeaders(name)));
        }
        Map<String, List<String>> parameters = new LinkedHashMap<>();
        request.getParameterMap().forEach((name, values) -> parameters.put(name, new ArrayList<>(List.of(values))));
        String query = request.getQueryString();
        URI uri;
        try {
            uri = URI.create(request.getRequestURI() + (query != null ? "?" + query : ""));
        } catch (IllegalArgumentException e) {
            uri = URI.create(request.getRequestURI());
        }
        return new HandshakeInfo(headers, parameters, query, uri, request.getUserPrincipal());
    }
}
