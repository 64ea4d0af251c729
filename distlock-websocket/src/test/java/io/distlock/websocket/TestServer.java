package io.distlock.websocket;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.util.List;


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

    /**
     * Tyrus on its Grizzly container, as the runnable server uses it. (The containers are built
     * in classes of their own, so that loading this interface needs neither Tyrus nor Jetty:
     * distlock-spring-boot-starter runs the contract suites on Tomcat with neither.)
     */
    static TestServer tyrus(List<ServerEndpointConfig> configs) {
        return Containers.tyrus(configs);
    }

    /** Embedded Jetty 12 (ee10), the endpoint registered through the servlet container initializer. */
    static TestServer jetty(List<ServerEndpointConfig> configs) {
        return Containers.jetty(configs);
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
