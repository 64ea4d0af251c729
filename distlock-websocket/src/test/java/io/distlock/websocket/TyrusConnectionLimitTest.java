package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** The connection limit on Tyrus (Grizzly), the runnable server's container. */
class TyrusConnectionLimitTest extends ConnectionLimitTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.tyrus(configs);
    }
}
