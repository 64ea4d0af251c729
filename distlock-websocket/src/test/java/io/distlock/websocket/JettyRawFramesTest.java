package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** Broken WebSocket frames against embedded Jetty 12 (ee10). */
class JettyRawFramesTest extends RawFramesTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.jetty(configs);
    }
}
