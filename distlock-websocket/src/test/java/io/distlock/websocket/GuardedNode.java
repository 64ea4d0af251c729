package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.function.Function;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.testing.RedisProcess;
import jakarta.websocket.server.ServerEndpointConfig;

/**
 * One node for the abuse and fuzzing tests: a Redis, a lock service (5 s lease unless given), its endpoints, a server, and
 * a bystander session on the default path that holds one lock throughout, so that every test
 * can check that nothing it threw at the node touched another client's lock.
 */
final class GuardedNode implements AutoCloseable {

    static final String MAIN = "/distlock/lock";

    final RedisProcess redis;
    final LockService service;
    /** One per {@link EndpointOptions} given to {@link #start}, in that order; the first on {@link #MAIN}. */
    final List<DistLockEndpoints> endpoints;
    final TestServer server;
    final String bystanderLock;
    private final WsClient bystander;
    private final long bystanderToken;

    private GuardedNode(String bystanderLock, List<EndpointOptions> options, Function<List<ServerEndpointConfig>, TestServer> startServer,
                        Duration lease) {
        this.bystanderLock = bystanderLock;
        this.redis = RedisProcess.start();
        this.service = LockService.connect(redis.url(), LockConfig.builder().lease(lease).build());
        this.endpoints = options.stream().map(o -> DistLockEndpoints.create(service, o)).toList();
        this.server = startServer.apply(endpoints.stream().map(DistLockEndpoints::config).toList());
        this.bystander = WsClient.open(server.uri(MAIN));
        bystander.request("OK", "action", "connect", "param", "bystander");
        this.bystanderToken = bystander.request("LOCKED", "action", "lock", "param", bystanderLock).path("token").asLong();
    }

    /** Starts the node with one endpoint per {@code options}; {@code startServer} deploys their configs. */
    static GuardedNode start(String bystanderLock, List<EndpointOptions> options, Function<List<ServerEndpointConfig>, TestServer> startServer) {
        return start(bystanderLock, options, startServer, Duration.ofSeconds(5));
    }

    static GuardedNode start(String bystanderLock, List<EndpointOptions> options, Function<List<ServerEndpointConfig>, TestServer> startServer,
                             Duration lease) {
        return new GuardedNode(bystanderLock, options, startServer, lease);
    }

    /** Open connections of all the node's endpoints. */
    int openConnections() {
        return endpoints.stream().mapToInt(DistLockEndpoints::openConnections).sum();
    }

    /** The bystander still holds its lock under the same token, and a newcomer is told to WAIT for it. */
    void assertBystanderUnharmed() {
        assertThat(bystander.request("LOCKED", "action", "lock", "param", bystanderLock).path("token").asLong())
                .as("the bystander's token").isEqualTo(bystanderToken);
        try (WsClient fresh = WsClient.open(server.uri(MAIN))) {
            fresh.request("OK", "action", "connect", "param", "newcomer");
            assertThat(fresh.request("WAIT", "action", "lock", "param", bystanderLock).path("holder").asText())
                    .isEqualTo("bystander");
            fresh.request("OK", "action", "close");
        }
    }

    @Override
    public void close() {
        bystander.close();
        endpoints.forEach(DistLockEndpoints::close);
        server.close();
        service.close();
        redis.close();
    }
}
