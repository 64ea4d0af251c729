package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** Sessions across a dropped connection on Tyrus, two nodes. */
class TyrusResumeContractTest extends EndpointResumeContractTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.tyrus(configs);
    }
}
