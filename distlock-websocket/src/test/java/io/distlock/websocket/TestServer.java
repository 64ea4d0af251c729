package io.distlock.websocket;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.util.List;
import java.util.Map;

import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketServletContainerInitializer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.glassfish.tyrus.container.grizzly.server.GrizzlyServerContainer;
import org.glassfish.tyrus.spi.ServerContainer;

import jakarta.websocket.server.ServerEndpointConfig;

/** A real JSR-356 container on a loopback port serving the given endpoint configs. */
interface TestServer extends AutoCloseable {

    int port();

    /** {@code ws://127.0.0.1:<port><path>} */
    default URI uri(String path) {
        return URI.create("ws://127.0.0.1:" + port() + path);
    }

    @Override
    void close();

    /** Tyrus on its Grizzly container, as the runnable server uses it. */
    static TestServer tyrus(List<ServerEndpointConfig> configs) {
        int port = freePort();
        ServerContainer container = new GrizzlyServerContainer().createContainer(Map.of());
        try {
            for (ServerEndpointConfig config : configs) {
                container.addEndpoint(config);
            }
            container.start("/", port);
        } catch (Exception e) {
            container.stop();
            throw new IllegalStateException("Tyrus did not start on port " + port, e);
        }
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

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
