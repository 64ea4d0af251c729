package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.distlock.spring.boot.docs.LocksApplication;
import io.distlock.testing.RedisProcess;
import io.distlock.websocket.DistLockEndpoints;

/**
 * A mock servlet environment (no embedded server: {@code @SpringBootTest} without a port, MockMvc)
 * has no WebSocket container, and still starts: the endpoint is not served, and the registrar
 * says so at INFO. Only an embedded server without a container fails the start
 * (distlock-spring-boot-jetty-test's {@code StarterOnJettyTest}).
 */
@SpringBootTest(classes = LocksApplication.class, webEnvironment = SpringBootTest.WebEnvironment.MOCK)
@ExtendWith(OutputCaptureExtension.class)
class StarterMockEnvironmentTest {

    static final RedisProcess REDIS = RedisProcess.start();

    @DynamicPropertySource
    static void redis(DynamicPropertyRegistry registry) {
        registry.add("distlock.redis.url", REDIS::url);
    }

    @AfterAll
    static void stopRedis() {
        REDIS.close();
    }

    @Autowired
    DistLockEndpoints endpoint;

    @Test
    void startsWithoutServingTheEndpoint(CapturedOutput output) {
        assertThat(endpoint.openConnections()).isZero();
        // The context starts after the capture does (OutputCaptureExtension begins before all tests).
        assertThat(output.getAll()).contains("No WebSocket container in this servlet context; the distlock endpoint is not served");
    }
}
