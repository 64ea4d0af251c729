package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** Sessions across a dropped connection on embedded Tomcat 11 (Spring Boot's), two nodes. */
class TomcatResumeContractTest extends EndpointResumeContractTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TomcatTestServer.start(configs);
    }
}
