package io.distlock.examples;

import java.net.URI;

import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;

class JettyExampleTest {

    @Test
    void twoSessionsTakeTurnsOnALockThroughTheExample() throws Exception {
        int port = Browser.freePort();
        try (RedisProcess redis = RedisProcess.start();
             JettyExample example = JettyExample.start(redis.url(), port)) {
            Sessions.takeTurns(URI.create("ws://127.0.0.1:" + port + "/distlock/lock"));
        }
    }
}
