package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** Protocol version 2's contract on embedded Jetty 12 (ee10). */
class JettyV2ContractTest extends EndpointV2ContractTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.jetty(configs);
    }
}
