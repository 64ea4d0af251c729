package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** Seeing, watching, asking for and taking over locks, on embedded Tomcat 11 (Spring Boot's). */
class TomcatWatchAndTakeOverContractTest extends WatchAndTakeOverContractTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TomcatTestServer.start(configs);
    }
}
