package io.distlock.examples;

import java.util.Map;

import org.glassfish.tyrus.container.grizzly.server.GrizzlyServerContainer;
import org.glassfish.tyrus.spi.ServerContainer;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.websocket.DistLockEndpoints;
import io.distlock.websocket.EndpointOptions;

/**
 * The distlock endpoint in Tyrus's standalone Grizzly container, at
 * {@code ws://host:<port>/distlock/lock}. Arguments: the Redis URL (default
 * {@code redis://127.0.0.1:6379}) and the port (default 8080).
 *
 * <p>Tyrus's standalone container turns Grizzly's keep-alive idle timeout off and has no
 * setting for it: a connection that never finishes its HTTP request stays open for ever (one
 * that sent half a request head was still open after 60 s). Expose it to the internet only
 * behind a proxy with a request-header timeout, or build the Grizzly listener by hand as
 * {@code distlock-server} does (docs/operations.md, "Slow and unfinished connections").
 */
public final class TyrusExample implements AutoCloseable {

    private final LockService service;
    private final DistLockEndpoints endpoint;
    private final ServerContainer container;

    private TyrusExample(LockService service, DistLockEndpoints endpoint, ServerContainer container) {
        this.service = service;
        this.endpoint = endpoint;
        this.container = container;
    }

    public static void main(String[] args) throws Exception {
        String redisUrl = args.length > 0 ? args[0] : "redis://127.0.0.1:6379";
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 8080;
        TyrusExample example = start(redisUrl, port);
        Runtime.getRuntime().addShutdownHook(new Thread(example::close));
        System.out.println("distlock on Tyrus: ws://localhost:" + port + "/distlock/lock");
        Thread.currentThread().join();
    }

    /** Connects to Redis, registers the endpoint and listens on every interface at {@code port}. */
    public static TyrusExample start(String redisUrl, int port) throws Exception {
        LockService service = LockService.connect(redisUrl, LockConfig.defaults());   // one per JVM
        DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.defaults());
        ServerContainer container = new GrizzlyServerContainer().createContainer(Map.of());
        try {
            container.addEndpoint(endpoint.config());
            container.start("/", port);
        } catch (Exception e) {
            container.stop();
            endpoint.close();
            service.close();
            throw e;
        }
        return new TyrusExample(service, endpoint, container);
    }

    /** Closes every connection (1001) and releases its locks, then stops the container. */
    @Override
    public void close() {
        endpoint.close(); // 1001 to every connection, locks released, its threads stopped
        service.close();
        container.stop();
    }
}
