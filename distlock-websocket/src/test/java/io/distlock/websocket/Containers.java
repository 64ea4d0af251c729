package io.distlock.websocket;

import java.util.List;
import java.util.Map;

import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketServletContainerInitializer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.glassfish.tyrus.container.grizzly.server.GrizzlyServerContainer;
import org.glassfish.tyrus.spi.ServerContainer;

import jakarta.websocket.server.ServerEndpointConfig;

/** The Tyrus and Jetty {@link TestServer}s. */
final class Containers {

    private Containers() { }

    /**
     * Tyrus on its Grizzly container, as the runnable server uses it. Its port is picked free
     * before Tyrus binds it, and another process (a test's redis-server) may take it in between
     * (seen once in CI, 2026-12-07): then again on another port.
     */
    static TestServer tyrus(List<ServerEndpointConfig> configs) {
        for (int attempt = 1; ; attempt++) {
            int port = TestServer.freePort();
            ServerContainer container = new GrizzlyServerContainer().createContainer(Map.of());
            try {
                for (ServerEndpointConfig config : configs) {
                    container.addEndpoint(config);
                }
                container.start("/", port);
                return started(container, port);
            } catch (Exception e) {
                container.stop();
                if (attempt == 5 || !(e.getCause() instanceof java.net.BindException || e instanceof java.net.BindException)) {
                    throw new IllegalStateException("Tyrus did not start on port " + port, e);
                }
            }
        }
    }

    private static TestServer started(ServerContainer container, int port) {
        return new TestServer() {
            @Override
            public int port() {
                return port;
            }

            @Override
            public void close() {
                container.stop();
            }

            @Override
            public String toString() {
                return "Tyrus on port " + port;
            }
        };
    }

    /** Embedded Jetty 12 (ee10), the endpoint registered through the servlet container initializer. */
    static TestServer jetty(List<ServerEndpointConfig> configs) {
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler("/");
        server.setHandler(context);
        JakartaWebSocketServletContainerInitializer.configure(context, (servletContext, container) -> {
            for (ServerEndpointConfig config : configs) {
                container.addEndpoint(config);
            }
        });
        try {
            server.start();
        } catch (Exception e) {
            throw new IllegalStateException("Jetty did not start", e);
        }
        int port = connector.getLocalPort();
        return new TestServer() {
            @Override
            public int port() {
                return port;
            }

            @Override
            public void close() {
                try {
                    server.stop();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }

            @Override
            public String toString() {
                return "Jetty on port " + port;
            }
        };
    }

}
