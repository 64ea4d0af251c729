package io.distlock.examples;

import java.net.URI;

import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;

class TyrusExampleTest {

    @Test
    void twoSessionsTakeTurnsOnALockThroughTheExample() throws Exception {
        int port = Browser.freePort();
        try (RedisProcess redis = RedisProcess.start();
             TyrusExample example = TyrusExample.start(redis.url(), port)) {
            Sessions.takeTurns(URI.create("ws://127.0.0.1:" + port + "/distlock/lock"));
        }
    }
}
