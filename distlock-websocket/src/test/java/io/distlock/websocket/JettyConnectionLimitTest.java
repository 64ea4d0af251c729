package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** The connection limit on embedded Jetty 12 (ee10). */
class JettyConnectionLimitTest extends ConnectionLimitTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.jetty(configs);
    }
}
