package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.tomcat.autoconfigure.TomcatServerProperties;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.MapPropertySource;
import org.springframework.mock.web.MockServletContext;
import org.springframework.web.context.support.GenericWebApplicationContext;

import io.distlock.spring.boot.docs.LocksApplication;
import io.distlock.testing.RedisProcess;
import io.distlock.websocket.Authenticator;
import io.distlock.websocket.Authorizer;
import io.distlock.websocket.EndpointOptions;

/**
 * The endpoint's options beside what else the application has: its own {@code EndpointOptions}
 * bean next to an {@code Authorizer} it leaves out, and Tomcat's own connection cap.
 */
@ExtendWith(OutputCaptureExtension.class)
class StarterEndpointOptionsTest {

    static final RedisProcess REDIS = RedisProcess.start().markInService("distlock");

    @AfterAll
    static void stopRedis() {
        REDIS.close();
    }

    static ConfigurableApplicationContext run(Class<?>[] sources, String... properties) {
        return new SpringApplicationBuilder(sources)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + REDIS.url())
                .properties(properties)
                .run();
    }

    static int port(ConfigurableApplicationContext app) {
        return ((WebServerApplicationContext) app).getWebServer().getPort();
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnOptionsWithoutTheAuthorizer {
        @Bean
        Authorizer nobody() {
            return (principal, lock) -> false;
        }

        @Bean
        EndpointOptions ownOptions() {
            return EndpointOptions.builder().maxFrameBytes(4096).build();
        }
    }

    @Test
    void anEndpointOptionsBeanThatLeavesOutTheAuthorizerBeanIsWarnedOf(CapturedOutput output) {
        try (ConfigurableApplicationContext app = run(new Class<?>[] { LocksApplication.class, OwnOptionsWithoutTheAuthorizer.class })) {
            assertThat(app.getBean(EndpointOptions.class).authorizer()).isNotSameAs(app.getBean(Authorizer.class));
            assertThat(output.toString())
                    .contains("the endpoint's options do not use the application's Authorizer bean")
                    .contains("DistLockEndpointOptionsCustomizer");
        }
    }

    @Test
    void theStartersOptionsUseTheAuthorizerBeanWithoutAWarning(CapturedOutput output) {
        try (ConfigurableApplicationContext app = run(new Class<?>[] { LocksApplication.class, OnlyTheAuthorizer.class })) {
            assertThat(app.getBean(EndpointOptions.class).authorizer()).isSameAs(app.getBean(Authorizer.class));
            assertThat(output.toString()).doesNotContain("do not use the application's");
        }
    }

    /** Found by review (2026-12-07): any origin with the session cookie's user was allowed silently. */
    @Test
    void anyOriginWithTheRequestsUserIsWarnedOf(CapturedOutput output) {
        try (ConfigurableApplicationContext app = run(new Class<?>[] { LocksApplication.class }, "distlock.allowed-origins=*")) {
            assertThat(app.getBean(EndpointOptions.class).allowedOrigins()).containsExactly("*");
            assertThat(output.toString()).contains("distlock.allowed-origins=* with the request's user as the connection's");
        }
    }

    @Test
    void anyOriginWithAnAuthenticatorBeanOrListedOriginsIsNotWarnedOf(CapturedOutput output) {
        try (ConfigurableApplicationContext app = run(new Class<?>[] { LocksApplication.class, OwnAuthenticator.class },
                "distlock.allowed-origins=*");
             ConfigurableApplicationContext listed = run(new Class<?>[] { LocksApplication.class },
                     "distlock.allowed-origins=https://app.example.com")) {
            assertThat(app.getBean(EndpointOptions.class).authenticator()).isSameAs(app.getBean(Authenticator.class));
            assertThat(output.toString()).doesNotContain("distlock.allowed-origins=* with");
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnAuthenticator {
        @Bean
        Authenticator byToken() {
            return handshake -> Optional.empty();
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class OnlyTheAuthorizer {
        @Bean
        Authorizer nobody() {
            return (principal, lock) -> false;
        }
    }

    /**
     * Found by a review (2026-12-07): on Tomcat the endpoint's cap (10,000) was above Tomcat's own
     * (8,192), so WebSockets filled Tomcat's connections, and Tomcat then accepted nothing more,
     * health probes included, without a 503 ever sent. Now the default leaves a tenth of Tomcat's
     * cap to HTTP.
     */
    @Test
    void onTomcatTheEndpointsCapComesFirstAndLeavesRoomForHttp(CapturedOutput output) throws Exception {
        try (ConfigurableApplicationContext app = run(new Class<?>[] { LocksApplication.class }, "server.tomcat.max-connections=20")) {
            assertThat(app.getBean(EndpointOptions.class).maxConnections()).isEqualTo(18);
            URI ws = URI.create("ws://127.0.0.1:" + port(app) + "/distlock/lock");
            List<LockClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 18; i++) {
                    clients.add(LockClient.open(ws));
                }
                assertThat(LockClient.handshakeStatus(ws, Map.of())).as("a handshake past the endpoint's cap").isEqualTo(503);
                HttpResponse<Void> script = HttpClient.newHttpClient().send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port(app) + "/distlock/distlock.js"))
                                .timeout(LockClient.TIMEOUT).build(),
                        HttpResponse.BodyHandlers.discarding());
                assertThat(script.statusCode()).as("HTTP beside a full endpoint").isEqualTo(200);
            } finally {
                clients.forEach(LockClient::close);
            }
        }
        assertThat(output.toString()).doesNotContain("is not below Tomcat's");
    }

    @Test
    void onTomcatTheDefaultCapIsNineTenthsOfTomcats() {
        try (ConfigurableApplicationContext app = run(new Class<?>[] { LocksApplication.class })) {
            assertThat(app.getBean(EndpointOptions.class).maxConnections()).isEqualTo(8192 - 819);
        }
    }

    /** Found by review (2026-12-07): Boot gives Tomcat no value below 1, so Tomcat keeps its own 8,192. */
    @Test
    void onTomcatWithoutACapOfBootsTheDefaultFollowsTomcatsOwn() {
        try (ConfigurableApplicationContext app = run(new Class<?>[] { LocksApplication.class }, "server.tomcat.max-connections=-1")) {
            assertThat(app.getBean(EndpointOptions.class).maxConnections()).isEqualTo(8192 - 819);
        }
    }

    @Test
    void aCapSetAtOrAboveTomcatsIsKeptAndWarnedOf(CapturedOutput output) {
        try (ConfigurableApplicationContext app = run(new Class<?>[] { LocksApplication.class }, "distlock.max-connections=10000")) {
            assertThat(app.getBean(EndpointOptions.class).maxConnections()).isEqualTo(10_000);
            assertThat(output.toString()).contains("distlock.max-connections=10000 is not below Tomcat's server.tomcat.max-connections=8192");
        }
    }

    /**
     * A war on Jetty or WildFly with Boot's Tomcat module in its WEB-INF/lib: Boot makes the Tomcat
     * factory bean there too and never starts it. The container's own name tells: Tomcat's cap
     * does not apply, and nothing is said of it. (A context of Spring's around a stand-in servlet
     * context, since only its server name matters: the same bean with Tomcat's name is lowered.)
     */
    @Test
    void aWarServedByAnotherContainerKeepsItsCapAndSaysNothingOfTomcat(CapturedOutput output) {
        DistLockProperties properties = new DistLockProperties();
        try (GenericWebApplicationContext jetty = deployedOn("jetty/12.1.5")) {
            assertThat(TomcatConnections.maxConnections(properties, jetty)).isEqualTo(10_000);
            jetty.getEnvironment().getPropertySources().addFirst(new MapPropertySource("set", Map.of("distlock.max-connections", "10000")));
            assertThat(TomcatConnections.maxConnections(properties, jetty)).isEqualTo(10_000);
        }
        assertThat(output.toString()).doesNotContain("is not below Tomcat's");
        try (GenericWebApplicationContext tomcat = deployedOn("Apache Tomcat/11.0.21")) {
            assertThat(TomcatConnections.maxConnections(properties, tomcat)).isEqualTo(8192 - 819);
        }
    }

    private static GenericWebApplicationContext deployedOn(String serverInfo) {
        GenericWebApplicationContext war = new GenericWebApplicationContext(new MockServletContext() {
            @Override
            public String getServerInfo() {
                return serverInfo;
            }
        });
        war.registerBean(TomcatServletWebServerFactory.class);
        war.registerBean(TomcatServerProperties.class);
        war.refresh();
        return war;
    }
}
