package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** The protocol contract on embedded Jetty 12 (ee10). */
class JettyContractTest extends EndpointContractTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.jetty(configs);
    }
}
