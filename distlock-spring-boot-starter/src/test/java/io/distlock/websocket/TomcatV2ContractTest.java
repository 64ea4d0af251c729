package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/**
 * Protocol version 2's contract on embedded Tomcat 11 (Spring Boot's), with {@code DistLockHandshakeFilter}
 * in front of each endpoint: Tomcat cannot send a refusal's status from the handshake itself.
 */
class TomcatV2ContractTest extends EndpointV2ContractTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TomcatTestServer.start(configs);
    }

    @Override
    TestServer startEndpoints(List<DistLockEndpoints> endpoints) {
        return TomcatTestServer.startFiltered(endpoints);
    }
}
