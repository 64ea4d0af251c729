package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** Seeing, watching, asking for and taking over locks, on Tyrus (Grizzly), the runnable server's container. */
class TyrusWatchAndTakeOverContractTest extends WatchAndTakeOverContractTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.tyrus(configs);
    }
}
