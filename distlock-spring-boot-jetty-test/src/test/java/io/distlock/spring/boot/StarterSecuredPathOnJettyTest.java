package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.jetty.JettyWebServer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;

/**
 * {@link StarterSecuredPathTest} on Jetty: Spring Security must see the handshake before Jetty's
 * WebSocket upgrade filter takes it, or a secured path would let anonymous users through (and
 * logged-in ones arrive with no principal). Boot registers that filter itself; a review found no
 * test of its order against Spring Security's (2026-12-07).
 */
class StarterSecuredPathOnJettyTest extends StarterSecuredPathTest {

    @Autowired
    WebServerApplicationContext context;

    @Test
    void theApplicationRunsOnJetty() {
        assertThat(context.getWebServer()).isInstanceOf(JettyWebServer.class);
    }
}
