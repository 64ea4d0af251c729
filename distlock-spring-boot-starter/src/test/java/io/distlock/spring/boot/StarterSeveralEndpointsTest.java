package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.core.Ordered;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.spring.boot.docs.LocksApplication;
import io.distlock.testing.RedisProcess;
import io.distlock.websocket.DistLockEndpoints;
import io.distlock.websocket.EndpointMetrics;
import io.distlock.websocket.EndpointOptions;

/**
 * An application with several {@link DistLockEndpoints} beans (docs/spring-boot.md, "Several
 * endpoints"). Found by review (2026-12-08): two of them failed the start with
 * NoUniqueBeanDefinitionException, from the registrar, the handshake filter, the path servlet,
 * the meters and the health indicator, which each took "the" endpoint. Now the starter serves
 * the {@code @Primary} one, or, with none {@code @Primary}, none (saying so at start), and the
 * application registers its endpoints itself. Conditions on Boot's context runner, and real
 * applications on a real Redis and real WebSockets.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(OutputCaptureExtension.class)
class StarterSeveralEndpointsTest {

    static final String MAIN = "/locks/main";
    static final String ADMIN = "/locks/admin";

    private RedisProcess redis;

    @BeforeAll
    void start() {
        redis = RedisProcess.start().markInService("distlock");
    }

    @AfterAll
    void stop() {
        redis.close();
    }

    /** The application's own, one for each context, which closes it. */
    private LockService applicationsService() {
        return LockService.connect(redis.url(), LockConfig.defaults());
    }

    static DistLockEndpoints endpointAt(LockService service, String path) {
        return DistLockEndpoints.create(service, EndpointOptions.builder().path(path).build());
    }

    /** Two endpoints of the application's, neither @Primary. */
    @Configuration(proxyBeanMethods = false)
    static class TwoEndpoints {

        @Bean
        DistLockEndpoints mainEndpoint(LockService service) {
            return endpointAt(service, MAIN);
        }

        @Bean
        DistLockEndpoints adminEndpoint(LockService service) {
            return endpointAt(service, ADMIN);
        }
    }

    /** The same two, the first @Primary. */
    @Configuration(proxyBeanMethods = false)
    static class TwoEndpointsOnePrimary {

        @Bean
        @Primary
        DistLockEndpoints mainEndpoint(LockService service) {
            return endpointAt(service, MAIN);
        }

        @Bean
        DistLockEndpoints adminEndpoint(LockService service) {
            return endpointAt(service, ADMIN);
        }
    }

    /** Neither @Primary, each registered by the application as docs/spring-boot.md shows. */
    @Configuration(proxyBeanMethods = false)
    @Import(TwoEndpoints.class)
    static class TwoEndpointsRegisteredByTheApplication {

        @Bean
        DistLockEndpointRegistrar mainEndpointRegistrar(@Qualifier("mainEndpoint") DistLockEndpoints endpoint) {
            return new DistLockEndpointRegistrar(endpoint);
        }

        @Bean
        DistLockEndpointRegistrar adminEndpointRegistrar(@Qualifier("adminEndpoint") DistLockEndpoints endpoint) {
            return new DistLockEndpointRegistrar(endpoint);
        }

        @Bean
        FilterRegistrationBean<DistLockHandshakeFilter> mainEndpointFilter(@Qualifier("mainEndpoint") DistLockEndpoints endpoint) {
            return handshakeFilter("mainEndpointFilter", endpoint);
        }

        @Bean
        FilterRegistrationBean<DistLockHandshakeFilter> adminEndpointFilter(@Qualifier("adminEndpoint") DistLockEndpoints endpoint) {
            return handshakeFilter("adminEndpointFilter", endpoint);
        }

        static FilterRegistrationBean<DistLockHandshakeFilter> handshakeFilter(String name, DistLockEndpoints endpoint) {
            FilterRegistrationBean<DistLockHandshakeFilter> filter = new FilterRegistrationBean<>(new DistLockHandshakeFilter(endpoint));
            filter.addUrlPatterns(endpoint.options().path());
            filter.setName(name);
            filter.setOrder(Ordered.LOWEST_PRECEDENCE - 100);
            return filter;
        }
    }

    private final WebApplicationContextRunner runner = new WebApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DistLockAutoConfiguration.class, DistLockEndpointAutoConfiguration.class))
            .withBean("applicationsLockService", LockService.class, this::applicationsService);

    @Test
    void twoEndpointBeansWithoutAPrimaryStartAndTheStarterServesNeither() {
        runner.withUserConfiguration(TwoEndpoints.class).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).doesNotHaveBean(DistLockEndpointRegistrar.class);
            assertThat(context).doesNotHaveBean("distlockHandshakeFilter");
            assertThat(context).doesNotHaveBean("distlockEndpointServlet");
            assertThat(context).doesNotHaveBean(EndpointMetrics.class);
            assertThat(context).hasBean("distlockClientServlet");
            Health health = context.getBean(DistLockHealthIndicator.class).health(true);
            assertThat(health.getDetails()).containsKey("sessions").doesNotContainKey("connections");
            assertThat(context).hasBean("distlockSeveralEndpointsNotice");
        });
    }

    @Test
    void ofTwoEndpointBeansTheStarterServesThePrimary() {
        runner.withUserConfiguration(TwoEndpointsOnePrimary.class).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).hasSingleBean(DistLockEndpointRegistrar.class);
            assertThat(context).hasSingleBean(EndpointMetrics.class);
            assertThat(context.getBean("distlockHandshakeFilter", FilterRegistrationBean.class).getUrlPatterns())
                    .containsExactly(MAIN);
            assertThat(context.getBean("distlockEndpointServlet", ServletRegistrationBean.class).getUrlMappings())
                    .containsExactly(MAIN);
            assertThat(context.getBean(DistLockHealthIndicator.class).health(true).getDetails()).containsKey("connections");
            assertThat(context).doesNotHaveBean("distlockSeveralEndpointsNotice");
        });
    }

    /**
     * The starter's own endpoint keeps every piece: the nested Metrics configuration is read
     * before the endpoint's bean is registered, and must still count it.
     */
    @Test
    void theStartersOwnEndpointIsServedWholeMetersIncluded() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).hasSingleBean(DistLockEndpoints.class);
            assertThat(context).hasSingleBean(DistLockEndpointRegistrar.class);
            assertThat(context).hasSingleBean(EndpointMetrics.class);
            assertThat(context).hasBean("distlockHandshakeFilter").hasBean("distlockEndpointServlet");
            assertThat(context).doesNotHaveBean("distlockSeveralEndpointsNotice");
        });
    }

    ConfigurableApplicationContext startApplication(Class<?> endpoints) {
        return new SpringApplicationBuilder(LocksApplication.class, endpoints)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url())
                .run();
    }

    static URI ws(ConfigurableApplicationContext app, String path) {
        int port = ((WebServerApplicationContext) app).getWebServer().getPort();
        return URI.create("ws://127.0.0.1:" + port + path);
    }

    static void takeALock(ConfigurableApplicationContext app, String path, String lock) {
        try (LockClient client = LockClient.open(ws(app, path))) {
            client.request("OK", "action", "connect", "param", "alice");
            client.request("LOCKED", "action", "lock", "param", lock);
        }
    }

    @Test
    void aRealApplicationWithAPrimaryServesThePrimaryEndpointOnly() {
        try (ConfigurableApplicationContext app = startApplication(TwoEndpointsOnePrimary.class)) {
            takeALock(app, MAIN, "primary-served");
            // The starter's handshake filter is the primary's: a foreign origin gets 403, not Tomcat's 500.
            assertThat(LockClient.handshakeStatus(ws(app, MAIN), Map.of("Origin", "http://evil.example"))).isEqualTo(403);
            // The other one is the application's to register; nothing did.
            assertThat(LockClient.handshakeStatus(ws(app, ADMIN), Map.of())).isEqualTo(404);
            try (LockClient connected = LockClient.open(ws(app, MAIN))) {
                connected.request("OK", "action", "connect", "param", "counted");
                assertThat(app.getBean(DistLockHealthIndicator.class).health(true).getDetails()).containsEntry("connections", 1);
            }
        }
    }

    @Test
    void aRealApplicationWithoutAPrimaryStartsAndServesTheEndpointsItRegistersItself(CapturedOutput output) {
        try (ConfigurableApplicationContext app = startApplication(TwoEndpoints.class)) {
            assertThat(LockClient.handshakeStatus(ws(app, MAIN), Map.of())).isEqualTo(404);
            assertThat(LockClient.handshakeStatus(ws(app, ADMIN), Map.of())).isEqualTo(404);
        }
        // What it says is checked on a real application: a context runner sets up no logging system, and the
        // starter's lines (System.Logger, through java.util.logging) were lost there once another application had
        // started and stopped in the same JVM.
        assertThat(output).contains("WARN").contains("distlock: the application has several DistLockEndpoints beans"
                + " (mainEndpoint, adminEndpoint) and none is @Primary, so the starter serves none of them")
                .contains("their paths answer 404");

        try (ConfigurableApplicationContext app = startApplication(TwoEndpointsRegisteredByTheApplication.class)) {
            takeALock(app, MAIN, "main-served");
            takeALock(app, ADMIN, "admin-served");
            for (String path : new String[] { MAIN, ADMIN }) {
                assertThat(LockClient.handshakeStatus(ws(app, path), Map.of("Origin", "http://evil.example"))).isEqualTo(403);
            }
        }
        assertThat(output).contains("the application's DistLockEndpointRegistrar beans register its endpoints");
    }

    /** A second endpoint the application made without a bean, registered by a registrar of its own. */
    @Configuration(proxyBeanMethods = false)
    static class ARegistrarForAnEndpointWithoutABean {

        @Bean
        DistLockEndpointRegistrar adminEndpointRegistrar(LockService service) {
            return new DistLockEndpointRegistrar(endpointAt(service, ADMIN)); // the registrar closes it at shutdown
        }
    }

    /** One endpoint of the application's, registered by a registrar of its own. */
    @Configuration(proxyBeanMethods = false)
    static class OneEndpointRegisteredByTheApplication {

        @Bean
        DistLockEndpoints mainEndpoint(LockService service) {
            return endpointAt(service, MAIN);
        }

        @Bean
        DistLockEndpointRegistrar mainEndpointRegistrar(DistLockEndpoints endpoint) {
            return new DistLockEndpointRegistrar(endpoint);
        }
    }

    /**
     * Found by review (2026-12-08): a registrar of the application's, for an endpoint it made
     * without a bean, replaced the starter's registrar, and the starter's own endpoint was served
     * nowhere (its path refused every handshake) without a word.
     */
    @Test
    void aRegistrarOfTheApplicationsThatLeavesTheServedEndpointOutIsToldOf(CapturedOutput output) {
        try (ConfigurableApplicationContext app = startApplication(ARegistrarForAnEndpointWithoutABean.class)) {
            takeALock(app, ADMIN, "admin-served");
            // the starter's path servlet answers the handshake (426): no WebSocket endpoint took it
            assertThat(LockClient.handshakeStatus(ws(app, "/distlock/lock"), Map.of())).isEqualTo(426);
        }
        assertThat(output).contains("WARN").contains("distlock: the application's DistLockEndpointRegistrar beans replace the"
                + " starter's, and none registers the endpoint the starter serves at /distlock/lock: no WebSocket can open there");
    }

    /** The same notice's control: the application's registrar registers the one endpoint it has. */
    @Test
    void aRegistrarOfTheApplicationsForTheServedEndpointIsNotToldOf(CapturedOutput output) {
        try (ConfigurableApplicationContext app = startApplication(OneEndpointRegisteredByTheApplication.class)) {
            takeALock(app, MAIN, "main-served");
            assertThat(app.getBean("distlockUnregisteredEndpointNotice")).isNotNull();
        }
        assertThat(output).contains("Tomcat started on port"); // the start's lines were captured
        assertThat(output).doesNotContain("none registers the endpoint");
    }
}
