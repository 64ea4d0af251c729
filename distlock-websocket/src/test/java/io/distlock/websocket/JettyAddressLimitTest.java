package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** The per-address connection limit on embedded Jetty 12 (ee10). */
class JettyAddressLimitTest extends AddressLimitTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.jetty(configs);
    }
}
