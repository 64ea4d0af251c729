package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** Protocol version 2's contract on Tyrus (Grizzly), the runnable server's container. */
class TyrusV2ContractTest extends EndpointV2ContractTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.tyrus(configs);
    }
}
