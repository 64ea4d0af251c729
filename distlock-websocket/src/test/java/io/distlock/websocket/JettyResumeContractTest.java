package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** Sessions across a dropped connection on Jetty, two nodes. */
class JettyResumeContractTest extends EndpointResumeContractTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.jetty(configs);
    }
}
