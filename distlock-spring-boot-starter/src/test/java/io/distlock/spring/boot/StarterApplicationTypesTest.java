package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.redisson.api.RedissonClient;
import org.springframework.boot.ApplicationContextFactory;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.context.reactive.AnnotationConfigReactiveWebApplicationContext;
import org.springframework.boot.web.context.reactive.ReactiveWebApplicationContext;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import io.distlock.core.LockConfig;
import io.distlock.core.LockListener;
import io.distlock.core.LockResult;
import io.distlock.core.LockService;
import io.distlock.core.LockServiceMetrics;
import io.distlock.core.LockSession;
import io.distlock.core.LockState;
import io.distlock.core.UnlockResult;
import io.distlock.spring.boot.docs.LocksApplication;
import io.distlock.testing.RedisProcess;
import io.distlock.websocket.DistLockEndpoints;
import io.distlock.websocket.EndpointMetrics;
import io.distlock.websocket.EndpointOptions;

/**
 * The starter in each kind of Spring Boot application. An application that is not a servlet web
 * application (a batch worker or a scheduler, {@code WebApplicationType.NONE}; a reactive one)
 * takes the same locks as the browsers through the {@link LockService} the starter makes, with its
 * Redis client, health and meters, and gets no browser endpoint, which needs a servlet container's
 * Jakarta WebSocket; a servlet application gets all of it; each of the two auto-configurations can
 * be excluded by its name. Real Boot applications ({@code LocksApplication}, auto-configuration
 * from the starter's {@code AutoConfiguration.imports}) on a real Redis.
 *
 * <p>Found by review (2026-12-05): the starter's one auto-configuration was conditional on a
 * servlet web application as a whole, so these applications got no {@code LockService} at all,
 * silently, and an {@code @Autowired LockService} failed the start with "no bean".
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(OutputCaptureExtension.class)
class StarterApplicationTypesTest {

    static final Duration WAIT = Duration.ofSeconds(10);

    /** Long, so that a lock free right after the close proves a release, not an expiry. */
    static final Duration LEASE = Duration.ofSeconds(60);

    private RedisProcess redis;

    @BeforeAll
    void startRedis() {
        redis = RedisProcess.start().markInService("distlock");
    }

    @AfterAll
    void stopRedis() {
        redis.close();
    }

    /** A batch worker's code: it injects the LockService, as the starter's users do. */
    @Configuration(proxyBeanMethods = false)
    static class Worker {

        record Job(LockService locks) { }

        @Bean
        Job job(LockService locks) {
            return new Job(locks);
        }
    }

    SpringApplicationBuilder application(WebApplicationType type) {
        return new SpringApplicationBuilder(LocksApplication.class, Worker.class)
                .web(type)
                .properties("distlock.redis.url=" + redis.url(), "distlock.lease=" + LEASE.toMillis() + "ms");
    }

    /**
     * A reactive application. Its real context, without a reactive web server: WebFlux and a
     * reactive server (Netty) are not on this module's class path, and the starter's beans do not
     * depend on the server, only on the application being reactive.
     */
    SpringApplicationBuilder reactiveApplication() {
        return application(WebApplicationType.REACTIVE)
                .contextFactory(ApplicationContextFactory.of(AnnotationConfigReactiveWebApplicationContext::new));
    }

    @Test
    void aNonWebApplicationTakesAndReleasesLocksThroughTheStartersLockService() throws Exception {
        try (ConfigurableApplicationContext app = application(WebApplicationType.NONE).run()) {
            LockService locks = app.getBean(Worker.Job.class).locks();
            assertThat(app.getBean(LockService.class)).isSameAs(locks);
            assertThat(app.getBeansOfType(RedissonClient.class)).containsOnlyKeys("distlockRedissonClient");
            assertThat(app.getBean(LockConfig.class).lease()).isEqualTo(LEASE);

            takeTurnsOnALock(locks, "nightly-report");

            assertThatTheCoreBeansAreThere(app);
            assertThatNoEndpointBeansAreThere(app);
        }
    }

    @Test
    void spring_main_web_application_type_none_givesTheLockServiceToo() {
        try (ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class, Worker.class)
                .properties("spring.main.web-application-type=none", "distlock.redis.url=" + redis.url())
                .run()) {
            assertThat(app.getBean(Worker.Job.class).locks()).isSameAs(app.getBean(LockService.class));
            assertThatNoEndpointBeansAreThere(app);
        }
    }

    /** As on a servlet application: the service closes (its sessions released) before its Redisson client shuts down. */
    @Test
    void onShutdownOfANonWebApplicationItsSessionsReleaseTheirLocksBeforeTheRedisClientCloses() throws Exception {
        ConfigurableApplicationContext app = application(WebApplicationType.NONE).run();
        try {
            LockSession session = app.getBean(LockService.class).openSession("batch", new LockListener() { });
            assertThat(session.lock("held-at-shutdown").toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                    .isInstanceOf(LockResult.Locked.class);
        } finally {
            app.close();
        }
        // Released at the close, not left to its 60 s lease.
        try (LockService other = LockService.connect(redis.url(), LockConfig.builder().build())) {
            assertThat(other.query(List.of("held-at-shutdown")).toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                    .containsEntry("held-at-shutdown", LockState.FREE);
        }
    }

    @Test
    void aReactiveApplicationGetsTheLockServiceAndIsToldWhyThereIsNoBrowserEndpoint(CapturedOutput output) throws Exception {
        try (ConfigurableApplicationContext app = reactiveApplication().run()) {
            assertThat(app).isInstanceOf(ReactiveWebApplicationContext.class);
            LockService locks = app.getBean(Worker.Job.class).locks();

            takeTurnsOnALock(locks, "reactive-job");

            assertThatTheCoreBeansAreThere(app);
            assertThatNoEndpointBeansAreThere(app);
            assertThat(output.toString().lines().filter(l -> l.contains("distlock") && l.contains("needs a servlet container")))
                    .singleElement(InstanceOfAssertFactories.STRING)
                    .contains("INFO")
                    .contains("reactive")
                    .contains("Tomcat")
                    .contains("not registered");
        }
    }

    @Test
    void aNonWebApplicationIsNotToldAboutTheEndpoint(CapturedOutput output) {
        try (ConfigurableApplicationContext app = application(WebApplicationType.NONE).run()) {
            assertThat(app.getBean(LockService.class)).isNotNull();
        }
        // Nothing was asked of it: a batch worker has no browsers to serve.
        assertThat(output.toString()).doesNotContain("needs a servlet container");
    }

    /** As on a servlet application, the starter's beans back off: here the application's own LockService, which brings its Redis. */
    @Test
    void aNonWebApplicationsOwnLockServiceIsUsed() throws Exception {
        StarterConfigurationTest.OwnLockService.url = redis.url();
        try (ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class, Worker.class,
                StarterConfigurationTest.OwnLockService.class)
                .web(WebApplicationType.NONE)
                .run()) {
            assertThat(app.getBeansOfType(RedissonClient.class)).isEmpty();
            assertThat(app.getBeansOfType(LockService.class)).containsOnlyKeys("applicationsLockService");
            takeTurnsOnALock(app.getBean(Worker.Job.class).locks(), "own-service-job");
            assertThat(app.getBean(DistLockHealthIndicator.class).health(true).getStatus()).isEqualTo(Status.UP);
        }
    }

    /** A servlet application that excludes the endpoint's auto-configuration, by its documented name. */
    @Configuration(proxyBeanMethods = false)
    @EnableAutoConfiguration(exclude = DistLockEndpointAutoConfiguration.class)
    static class ServletWithoutEndpoint {
    }

    @Test
    void aServletApplicationExcludingTheEndpointConfigurationKeepsTheLockServiceOnly() throws Exception {
        try (ConfigurableApplicationContext app = new SpringApplicationBuilder(ServletWithoutEndpoint.class, Worker.class)
                .web(WebApplicationType.SERVLET)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url())
                .run()) {
            takeTurnsOnALock(app.getBean(Worker.Job.class).locks(), "excluded-endpoint-job");
            assertThatTheCoreBeansAreThere(app);
            assertThatNoEndpointBeansAreThere(app);
        }
    }

    /** A servlet application that excludes the core's auto-configuration. */
    @Configuration(proxyBeanMethods = false)
    @EnableAutoConfiguration(exclude = DistLockAutoConfiguration.class)
    static class ServletWithoutCore {
    }

    @Test
    void aServletApplicationExcludingTheCoreConfigurationHasNoDistlockAndNeedsNoRedis() {
        // No distlock.redis.url: nothing of distlock's is made, so nothing asks for a Redis.
        try (ConfigurableApplicationContext app = new SpringApplicationBuilder(ServletWithoutCore.class)
                .web(WebApplicationType.SERVLET)
                .properties("server.port=0", "server.address=127.0.0.1")
                .run()) {
            assertThat(app.getBeansOfType(LockService.class)).isEmpty();
            assertThat(app.getBeansOfType(RedissonClient.class)).isEmpty();
            assertThat(app.containsBean("distlockHealthIndicator")).isFalse();
            assertThatNoEndpointBeansAreThere(app);
        }
    }

    @Test
    void aServletApplicationExcludingTheCoreConfigurationServesItsOwnLockService() throws Exception {
        StarterConfigurationTest.OwnLockService.url = redis.url();
        try (ConfigurableApplicationContext app = new SpringApplicationBuilder(ServletWithoutCore.class,
                StarterConfigurationTest.OwnLockService.class)
                .web(WebApplicationType.SERVLET)
                .properties("server.port=0", "server.address=127.0.0.1")
                .run()) {
            assertThat(app.getBeansOfType(LockService.class)).containsOnlyKeys("applicationsLockService");
            assertThat(app.getBeansOfType(DistLockEndpoints.class)).hasSize(1);
            int port = ((WebServerApplicationContext) app).getWebServer().getPort();
            try (LockClient client = LockClient.open(URI.create("ws://127.0.0.1:" + port + "/distlock/lock"))) {
                client.request("OK", "action", "connect", "param", "without-core");
                client.request("LOCKED", "action", "lock", "param", "own-service-served");
            }
        }
    }

    /** A servlet application keeps everything: the core's beans and the endpoint's, its filter, servlet and meters. */
    @Test
    void aServletApplicationGetsTheCoreAndTheEndpoint(CapturedOutput output) throws Exception {
        try (ConfigurableApplicationContext app = application(WebApplicationType.SERVLET)
                .properties("server.port=0", "server.address=127.0.0.1")
                .run()) {
            takeTurnsOnALock(app.getBean(Worker.Job.class).locks(), "servlet-job");
            assertThat(app.getBeansOfType(RedissonClient.class)).containsOnlyKeys("distlockRedissonClient");
            assertThat(app.getBeansOfType(LockConfig.class)).hasSize(1);
            assertThat(app.getBeansOfType(LockServiceMetrics.class)).hasSize(1);
            assertThat(app.getBeansOfType(EndpointOptions.class)).hasSize(1);
            assertThat(app.getBeansOfType(DistLockEndpoints.class)).hasSize(1);
            assertThat(app.getBeansOfType(DistLockEndpointRegistrar.class)).hasSize(1);
            assertThat(app.getBeansOfType(EndpointMetrics.class)).hasSize(1);
            assertThat(app.getBeansOfType(FilterRegistrationBean.class)).containsKey("distlockHandshakeFilter");
            assertThat(app.getBeansOfType(ServletRegistrationBean.class)).containsKeys("distlockClientServlet", "distlockEndpointServlet");
            Health health = app.getBean("distlockHealthIndicator", DistLockHealthIndicator.class).health(true);
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsKeys("sessions", "connections");
        }
        assertThat(output.toString()).doesNotContain("needs a servlet container");
    }

    /** Two sessions of the application's own Java code take turns on one lock, as two browsers would. */
    private static void takeTurnsOnALock(LockService locks, String name) throws Exception {
        List<String> retries = new CopyOnWriteArrayList<>();
        LockListener waiter = new LockListener() {
            @Override
            public void retry(String lock) {
                retries.add(lock);
            }
        };
        try (LockSession first = locks.openSession("first", new LockListener() { });
             LockSession second = locks.openSession("second", waiter)) {
            LockResult locked = first.lock(name).toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(locked).isInstanceOfSatisfying(LockResult.Locked.class, l -> assertThat(l.token()).isPositive());
            assertThat(second.lock(name).toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                    .isInstanceOfSatisfying(LockResult.Waiting.class, w -> assertThat(w.holder()).isEqualTo("first"));
            assertThat(first.unlock(name).toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                    .isInstanceOf(UnlockResult.Unlocked.class);
            await().atMost(WAIT).untilAsserted(() -> assertThat(retries).containsExactly(name));
            assertThat(second.lock(name).toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                    .isInstanceOfSatisfying(LockResult.Locked.class,
                            l -> assertThat(l.token()).isGreaterThan(((LockResult.Locked) locked).token()));
        }
    }

    /** The health indicator and the core's meters: Actuator and Micrometer are on this module's test class path. */
    private static void assertThatTheCoreBeansAreThere(ConfigurableApplicationContext app) {
        assertThat(app.getBeansOfType(LockServiceMetrics.class)).hasSize(1);
        Health health = app.getBean("distlockHealthIndicator", DistLockHealthIndicator.class).health(true);
        assertThat(health.getStatus()).isEqualTo(Status.UP);
        assertThat(health.getDetails()).containsKey("sessions").doesNotContainKey("connections");
    }

    private static void assertThatNoEndpointBeansAreThere(ConfigurableApplicationContext app) {
        assertThat(app.getBeansOfType(DistLockEndpoints.class)).isEmpty();
        assertThat(app.getBeansOfType(EndpointOptions.class)).isEmpty();
        assertThat(app.getBeansOfType(EndpointMetrics.class)).isEmpty();
        assertThat(app.getBeansOfType(DistLockEndpointRegistrar.class)).isEmpty();
        assertThat(app.getBeansOfType(FilterRegistrationBean.class)).doesNotContainKey("distlockHandshakeFilter");
        assertThat(app.getBeansOfType(ServletRegistrationBean.class)).doesNotContainKeys("distlockClientServlet", "distlockEndpointServlet");
        assertThat(app.containsBean("distlockHandshakeFilter")).isFalse();
        assertThat(app.containsBean("distlockClientServlet")).isFalse();
    }
}
