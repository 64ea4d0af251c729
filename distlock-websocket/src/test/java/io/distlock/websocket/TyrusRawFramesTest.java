package io.distlock.websocket;

import java.util.List;

import jakarta.websocket.server.ServerEndpointConfig;

/** Broken WebSocket frames against Tyrus (Grizzly), the runnable server's container. */
class TyrusRawFramesTest extends RawFramesTest {

    @Override
    TestServer startServer(List<ServerEndpointConfig> configs) {
        return TestServer.tyrus(configs);
    }

    @Override
    boolean servesUnmaskedFrames() {
        return true;
    }
}
