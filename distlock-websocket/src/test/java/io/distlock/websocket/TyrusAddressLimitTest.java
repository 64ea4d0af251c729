package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** The per-address connection limit on Tyrus (Grizzly), the runnable server's container. */
class TyrusAddressLimitTest extends AddressLimitTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.tyrus(configs);
    }
}
