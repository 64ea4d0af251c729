package io.distlock.spring.boot;

import java.io.IOException;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * Mapped exactly to the endpoint's path so that the path maps to a servlet: Tomcat runs a
 * request's filters (its WebSocket filter, {@link DistLockHandshakeFilter}, Spring Security's)
 * only when the request maps to one, and a Boot application's Tomcat has no default servlet.
 * With Spring MVC's {@code DispatcherServlet} under a path of its own
 * ({@code spring.mvc.servlet.path=/api}) the endpoint's path mapped to none, and every handshake
 * was answered 404 without any filter running.
 *
 * <p>A WebSocket handshake is taken by the container's WebSocket filter before it gets here;
 * what reaches this servlet is any other request to the endpoint's path (a plain GET, a POST, a
 * handshake the container would not take), answered {@code 426 Upgrade Required} with
 * {@code Upgrade: websocket} and no body.
 */
class EndpointPathServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        response.setStatus(426);
        response.setHeader("Upgrade", "websocket");
        response.setHeader("Connection", "Upgrade");
        response.setContentLength(0);
        response.flushBuffer();
    }
}
