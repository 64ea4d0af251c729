package io.distlock.examples;

import java.time.Duration;

import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketServletContainerInitializer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.websocket.DistLockEndpoints;
import io.distlock.websocket.EndpointOptions;

/**
 * The distlock endpoint in embedded Jetty 12 (ee10), at {@code ws://host:<port>/distlock/lock}.
 * Arguments: the Redis URL (default {@code redis://127.0.0.1:6379}) and the port (default 8080).
 */
public final class JettyExample implements AutoCloseable {

    /**
     * How long a connection may stay silent before Jetty closes it while it is still HTTP: a
     * request head not yet finished, a keep-alive connection between requests (Jetty's default
     * is 30 s). An upgraded WebSocket has an idle timeout of its own, which the endpoint keeps
     * above its ping interval, so this does not cut quiet WebSockets. Jetty counts silence, not
     * the time since the head began: see docs/operations.md about clients that trickle.
     */
    public static final Duration HTTP_IDLE_TIMEOUT = Duration.ofSeconds(10);

    private final LockService service;
    private final DistLockEndpoints endpoint;
    private final Server server;

    private JettyExample(LockService service, DistLockEndpoints endpoint, Server server) {
        this.service = service;
        this.endpoint = endpoint;
        this.server = server;
    }

    public static void main(String[] args) throws Exception {
        String redisUrl = args.length > 0 ? args[0] : "redis://127.0.0.1:6379";
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 8080;
        JettyExample example = start(redisUrl, port);
        Runtime.getRuntime().addShutdownHook(new Thread(example::close));
        System.out.println("distlock on Jetty: ws://localhost:" + port + "/distlock/lock");
        example.server.join();
    }

    /** Connects to Redis, registers the endpoint and listens on every interface at {@code port}. */
    public static JettyExample start(String redisUrl, int port) throws Exception {
        return start(redisUrl, port, HTTP_IDLE_TIMEOUT);
    }

    /** As {@link #start(String, int)}, closing HTTP connections silent for {@code httpIdleTimeout}. */
    public static JettyExample start(String redisUrl, int port, Duration httpIdleTimeout) throws Exception {
        LockService service = LockService.connect(redisUrl, LockConfig.defaults());   // one per JVM
        DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.defaults());
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setPort(port);
        connector.setIdleTimeout(httpIdleTimeout.toMillis()); // unfinished and idle HTTP connections
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler("/");
        server.setHandler(context);
        JakartaWebSocketServletContainerInitializer.configure(context, (servletContext, container) ->
                container.addEndpoint(endpoint.config()));
        try {
            server.start();
        } catch (Exception e) {
            server.stop();
            endpoint.close();
            service.close();
            throw e;
        }
        return new JettyExample(service, endpoint, server);
    }

    /** Closes every connection (1001) and releases its locks, then stops Jetty. */
    @Override
    public void close() {
        endpoint.close(); // 1001 to every connection, locks released, its threads stopped
        service.close();
        try {
            server.stop();
        } catch (Exception e) {
            throw new IllegalStateException("Jetty did not stop", e);
        }
    }
}
