package io.distlock.examples;

import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketServletContainerInitializer;
import org.eclipse.jetty.server.Server;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.websocket.DistLockEndpoints;
import io.distlock.websocket.EndpointOptions;

/**
 * The distlock endpoint in embedded Jetty 12 (ee10), at {@code ws://host:<port>/distlock/lock}.
 * Arguments: the Redis URL (default {@code redis://127.0.0.1:6379}) and the port (default 8080).
 */
public final class JettyExample implements AutoCloseable {

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
        LockService service = LockService.connect(redisUrl, LockConfig.defaults());   // one per JVM
        DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.defaults());
        Server server = new Server(port);
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
