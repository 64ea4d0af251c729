package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.distlock.spring.boot.lockeddown.LockedDownApplication;
import io.distlock.testing.RedisProcess;
import io.distlock.websocket.DistLockEndpoints;

/**
 * The endpoint's path secured in the application's {@code SecurityFilterChain}, as
 * docs/spring-boot.md ("Security") says to refuse anonymous connections: Spring Security refuses
 * the handshake before it reaches the endpoint, and an authenticated one connects as its user.
 */
@SpringBootTest(classes = LockedDownApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "spring.autoconfigure.exclude=")
class StarterSecuredPathTest {

    static final RedisProcess REDIS = RedisProcess.start().markInService("distlock");

    @DynamicPropertySource
    static void redis(DynamicPropertyRegistry registry) {
        registry.add("distlock.redis.url", REDIS::url);
    }

    @AfterAll
    static void stopRedis() {
        REDIS.close();
    }

    @LocalServerPort
    int port;

    @Autowired
    DistLockEndpoints endpoint;

    URI ws() {
        return URI.create("ws://127.0.0.1:" + port + "/distlock/lock");
    }

    @Test
    void anAnonymousHandshakeIsRefusedBeforeTheEndpoint() {
        int status = LockClient.handshakeStatus(ws(), Map.of());
        // Form login's entry point sends a browser to the login page; HTTP Basic's answers 401.
        assertThat(status).isIn(302, 401);
        assertThat(LockClient.handshakeStatus(ws(), Map.of("Authorization", StarterSecurityTest.basic("alice", "wrong"))))
                .isEqualTo(401);
        assertThat(endpoint.openConnections()).isZero();
    }

    @Test
    void anAuthenticatedHandshakeConnectsAsItsUser() {
        try (LockClient alice = LockClient.open(ws(), Map.of("Authorization", StarterSecurityTest.basic("alice", "alice-password")))) {
            alice.request("OK", "action", "connect", "param", "alice");
            alice.request("LOCKED", "action", "lock", "param", "alice-notes");
            assertThat(alice.request("FAIL", "action", "lock", "param", "bob-notes").path("code").asText()).isEqualTo("UNAUTHORIZED");
        }
    }
}
