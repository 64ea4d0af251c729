package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** Seeing, watching, asking for and taking over locks, on embedded Jetty 12 (ee10). */
class JettyWatchAndTakeOverContractTest extends WatchAndTakeOverContractTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.jetty(configs);
    }
}
