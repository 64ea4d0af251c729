package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** The protocol contract on Tyrus (Grizzly), the runnable server's container. */
class TyrusContractTest extends EndpointContractTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.tyrus(configs);
    }
}
