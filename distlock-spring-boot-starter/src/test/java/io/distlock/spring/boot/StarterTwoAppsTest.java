package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Duration;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import io.distlock.spring.boot.docs.LocksApplication;
import io.distlock.testing.RedisProcess;

/**
 * Two applications (two Spring contexts, each with its own embedded Tomcat and Redis client)
 * on one Redis share their locks; stopping one closes its sessions before its server stops, so
 * a waiter on the other is told RETRY at once, long before the lease would free the lock.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StarterTwoAppsTest {

    /** Long, so that a RETRY within a few seconds proves a release, not an expiry. */
    static final Duration LEASE = Duration.ofSeconds(30);

    private RedisProcess redis;

    @BeforeAll
    void startRedis() {
        redis = RedisProcess.start().markInService("distlock");
    }

    @AfterAll
    void stopRedis() {
        redis.close();
    }

    ConfigurableApplicationContext start() {
        return new SpringApplicationBuilder(LocksApplication.class)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url(),
                        "distlock.lease=" + LEASE.toMillis() + "ms")
                .run();
    }

    static URI ws(ConfigurableApplicationContext app) {
        int port = ((WebServerApplicationContext) app).getWebServer().getPort();
        return URI.create("ws://127.0.0.1:" + port + "/distlock/lock");
    }

    @Test
    void twoApplicationsShareLocks() {
        try (ConfigurableApplicationContext one = start();
             ConfigurableApplicationContext two = start();
             LockClient alice = LockClient.open(ws(one));
             LockClient bob = LockClient.open(ws(two))) {
            alice.request("OK", "action", "connect", "param", "alice");
            bob.request("OK", "action", "connect", "param", "bob");
            alice.request("LOCKED", "action", "lock", "param", "shared");
            assertThat(bob.request("WAIT", "action", "lock", "param", "shared").path("holder").asText()).isEqualTo("alice");
            alice.request("OK", "action", "unlock", "param", "shared");
            bob.expect("RETRY");
            bob.request("LOCKED", "action", "lock", "param", "shared");
            assertThat(alice.request("WAIT", "action", "lock", "param", "shared").path("holder").asText()).isEqualTo("bob");
        }
    }

    @Test
    void stoppingAnApplicationClosesItsSessionsAndWaitersElsewhereAreToldRetry() {
        try (ConfigurableApplicationContext two = start();
             LockClient bob = LockClient.open(ws(two))) {
            ConfigurableApplicationContext one = start();
            LockClient alice = LockClient.open(ws(one));
            try {
                alice.request("OK", "action", "connect", "param", "alice");
                bob.request("OK", "action", "connect", "param", "bob");
                alice.request("LOCKED", "action", "lock", "param", "until-shutdown");
                bob.request("WAIT", "action", "lock", "param", "until-shutdown");

                long stopping = System.nanoTime();
                one.close();
                assertThat(alice.expectClosed().code()).as("going away").isEqualTo(1001);
                bob.expect("RETRY", Duration.ofSeconds(5));
                assertThat(Duration.ofNanos(System.nanoTime() - stopping)).isLessThan(LEASE.dividedBy(2));
                bob.request("LOCKED", "action", "lock", "param", "until-shutdown");
            } finally {
                alice.close();
                one.close();
            }
        }
    }
}
