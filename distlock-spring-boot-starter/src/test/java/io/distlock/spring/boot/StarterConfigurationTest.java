package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.spring.boot.docs.LocksApplication;
import io.distlock.testing.RedisProcess;
import io.distlock.testing.TestTls;
import io.distlock.websocket.DistLockEndpoints;
import io.distlock.websocket.EndpointOptions;

/**
 * The starter's configuration edges: no Redis configured, the application's own
 * {@code RedissonClient}, a Redis that goes away (health DOWN), and the property metadata IDEs read.
 */
@ExtendWith(OutputCaptureExtension.class)
class StarterConfigurationTest {

    @Test
    void withoutARedisTheApplicationFailsToStartSayingWhatToSet(CapturedOutput output) {
        assertThatThrownBy(() -> new SpringApplicationBuilder(LocksApplication.class)
                .properties("server.port=0", "server.address=127.0.0.1")
                .run())
                .hasRootCauseInstanceOf(RedisNotConfiguredException.class);
        // Boot's report, written by DistLockFailureAnalyzer (registered in META-INF/spring.factories).
        assertThat(output.toString())
                .contains("APPLICATION FAILED TO START")
                .contains("no Redis is configured")
                .contains("distlock.redis.url=redis://localhost:6379");
    }

    /**
     * Found by running an application (2026-12-05): an application set up for Spring Data Redis by
     * host and port was told no Redis is configured, with no word on why its settings did not count.
     */
    @Test
    void springDataRedisHostIsNotReadAndTheReportSaysSo(CapturedOutput output) {
        assertThatThrownBy(() -> new SpringApplicationBuilder(LocksApplication.class)
                .properties("server.port=0", "server.address=127.0.0.1", "spring.data.redis.host=redis.internal")
                .run())
                .hasRootCauseInstanceOf(RedisNotConfiguredException.class);
        assertThat(output.toString())
                .contains("no Redis is configured")
                .contains("spring.data.redis.host is set, but distlock reads only spring.data.redis.url");
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnRedisson {
        static String url;

        @Bean(destroyMethod = "shutdown")
        RedissonClient applicationsRedisson() {
            Config config = new Config();
            config.useSingleServer().setAddress(url);
            return Redisson.create(config);
        }
    }

    @Test
    void theApplicationsRedissonClientIsUsedAndTheHealthFollowsRedis() {
        try (RedisProcess redis = RedisProcess.start().markInService("distlock")) {
            OwnRedisson.url = redis.url();
            try (ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class, OwnRedisson.class)
                    .properties("server.port=0", "server.address=127.0.0.1", "distlock.path=/locks", "distlock.lease=1500ms",
                            "distlock.watching=false")
                    .run()) {
                assertThat(app.getBeansOfType(RedissonClient.class)).containsOnlyKeys("applicationsRedisson");
                assertThat(app.getBean(LockService.class).config().watching()).isFalse();
                // The service is closed before the application's client it runs on.
                assertThat(app.getBeanFactory().getDependentBeans("applicationsRedisson")).contains("distlockLockService");
                int port = ((WebServerApplicationContext) app).getWebServer().getPort();
                try (LockClient client = LockClient.open(URI.create("ws://127.0.0.1:" + port + "/locks"))) {
                    client.request("OK", "action", "connect", "param", "own-client");
                    client.request("LOCKED", "action", "lock", "param", "on-the-apps-redisson");
                }
                DistLockHealthIndicator health = app.getBean(DistLockHealthIndicator.class);
                assertThat(health.health(true).getStatus()).isEqualTo(Status.UP);

                redis.kill();
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    Health down = health.health(true);
                    assertThat(down.getStatus()).isEqualTo(Status.DOWN);
                });
                assertThat(app.getBean(LockService.class)).isNotNull();
            }
        }
    }

    /**
     * Found by running an application (2026-12-05): an application with a RedissonClient of its
     * own (a cache on another Redis, say) that set distlock.redis.url got its locks on the
     * application's Redis, the property silently ignored.
     */
    @Test
    void distlockRedisUrlWinsOverTheApplicationsRedissonClient() {
        try (RedisProcess applications = RedisProcess.start();
             RedisProcess locks = RedisProcess.start()) {
            OwnRedisson.url = applications.url();
            try (ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class, OwnRedisson.class)
                    .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + locks.url(),
                            "distlock.lease=1500ms")
                    .run()) {
                // The application's client stays the only RedissonClient bean, for the application's own injection points.
                assertThat(app.getBeansOfType(RedissonClient.class)).containsOnlyKeys("applicationsRedisson");
                int port = ((WebServerApplicationContext) app).getWebServer().getPort();
                try (LockClient client = LockClient.open(URI.create("ws://127.0.0.1:" + port + "/distlock/lock"))) {
                    client.request("OK", "action", "connect", "param", "url-wins");
                    client.request("LOCKED", "action", "lock", "param", "on-distlocks-redis");
                    assertThat(locks.command("KEYS", "distlock:lock:*")).asList().isNotEmpty();
                    assertThat(applications.command("KEYS", "distlock:lock:*")).asList().isEmpty();
                }
                RedissonClient applicationsClient = app.getBean(RedissonClient.class);
                app.close();
                // The application's client is closed by the application (its destroy method), the lock service's own by the service.
                assertThat(applicationsClient.isShutdown()).isTrue();
            }
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class TwoRedissons {
        static String url;

        @Bean(destroyMethod = "shutdown")
        RedissonClient cacheRedisson() {
            Config config = new Config();
            config.useSingleServer().setAddress(url);
            return Redisson.create(config);
        }

        @Bean(destroyMethod = "shutdown")
        RedissonClient sessionsRedisson() {
            Config config = new Config();
            config.useSingleServer().setAddress(url);
            return Redisson.create(config);
        }
    }

    /**
     * Found by review (2026-12-05): with two RedissonClient beans (neither @Primary) and
     * distlock.redis.url set, the start failed with NoUniqueBeanDefinitionException, although the
     * property named the Redis and the service connects a client of its own there.
     */
    @Test
    void twoRedissonClientsAndDistlockRedisUrlStartWithTheServicesOwnClient() {
        try (RedisProcess applications = RedisProcess.start();
             RedisProcess locks = RedisProcess.start()) {
            TwoRedissons.url = applications.url();
            try (ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class, TwoRedissons.class)
                    .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + locks.url(),
                            "distlock.lease=1500ms")
                    .run()) {
                assertThat(app.getBeansOfType(RedissonClient.class)).containsOnlyKeys("cacheRedisson", "sessionsRedisson");
                int port = ((WebServerApplicationContext) app).getWebServer().getPort();
                try (LockClient client = LockClient.open(URI.create("ws://127.0.0.1:" + port + "/distlock/lock"))) {
                    client.request("OK", "action", "connect", "param", "two-clients");
                    client.request("LOCKED", "action", "lock", "param", "on-distlocks-own-client");
                    assertThat(locks.command("KEYS", "distlock:lock:*")).asList().isNotEmpty();
                    assertThat(applications.command("KEYS", "distlock:lock:*")).asList().isEmpty();
                }
            }
        }
    }

    /** The application's own sessions on the service end with the context, while the application's client still serves them. */
    @Test
    void onShutdownTheApplicationsJavaSessionReleasesItsLocksBeforeItsRedissonClientCloses() throws Exception {
        try (RedisProcess redis = RedisProcess.start()) {
            OwnRedisson.url = redis.url();
            ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class, OwnRedisson.class)
                    .properties("server.port=0", "server.address=127.0.0.1", "distlock.lease=60s")
                    .run();
            LockService service = app.getBean(LockService.class);
            io.distlock.core.LockSession session = service.openSession("java-code", new io.distlock.core.LockListener() { });
            assertThat(session.lock("held-by-java").toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS))
                    .isInstanceOf(io.distlock.core.LockResult.Locked.class);
            app.close();
            // Released at close, not left to its 60 s lease.
            try (LockService other = LockService.connect(redis.url(), LockConfig.builder().build())) {
                assertThat(other.query(List.of("held-by-java")).toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS))
                        .containsEntry("held-by-java", io.distlock.core.LockState.FREE);
            }
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnLockService {
        static String url;

        @Bean(destroyMethod = "close")
        LockService applicationsLockService() {
            return LockService.connect(url, LockConfig.builder().lease(Duration.ofMillis(1500)).build());
        }
    }

    /**
     * Found by review (2026-12-04): with a {@code LockService} of its own and no
     * {@code distlock.redis.url}, the application failed to start asking for a Redis URL (the
     * starter still made a Redisson client), and with one the health followed that client's Redis.
     */
    @Test
    void theApplicationsLockServiceBringsItsRedisAndTheHealthFollowsIt(CapturedOutput output) {
        try (RedisProcess redis = RedisProcess.start().markInService("distlock")) {
            OwnLockService.url = redis.url();
            try (ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class, OwnLockService.class)
                    .properties("server.port=0", "server.address=127.0.0.1")
                    .run()) {
                assertThat(app.getBeansOfType(RedissonClient.class)).isEmpty();
                assertThat(app.getBeansOfType(LockService.class)).containsOnlyKeys("applicationsLockService");
                int port = ((WebServerApplicationContext) app).getWebServer().getPort();
                try (LockClient client = LockClient.open(URI.create("ws://127.0.0.1:" + port + "/distlock/lock"))) {
                    client.request("OK", "action", "connect", "param", "own-service");
                    client.request("LOCKED", "action", "lock", "param", "on-the-apps-service");
                }
                DistLockHealthIndicator health = app.getBean(DistLockHealthIndicator.class);
                assertThat(health.health(true).getStatus()).isEqualTo(Status.UP);
                redis.kill();
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(health.health(true).getStatus()).isEqualTo(Status.DOWN));
                // Found by running an application (2026-12-05): each probe of a DOWN Redis logged a stack trace at WARN,
                // and the detail was the future's ExecutionException wrapping the reason.
                Health down = health.health(true);
                // Found by a logs review (2026-12-07): the detail was Redisson's message, with the channel's addresses, for
                // whoever may read the health endpoint. A fixed text now, the failure's class name at most.
                assertThat(String.valueOf(down.getDetails().get("error")))
                        .matches("the query of Redis failed \\([A-Za-z]+\\)")
                        .doesNotContain("127.0.0.1").doesNotContain(String.valueOf(redis.port()));
                assertThat(output.toString()).doesNotContain("distlock health check failed");
            }
        }
    }

    /**
     * Found by review (2026-12-05): the probe's lock name, {@code distlock-health-probe}, is 21
     * characters; a service whose {@code maxLockNameLength} is shorter refused the query, and the
     * health was DOWN with Redis up.
     */
    @ParameterizedTest
    @CsvSource({"1", "16", "20", "21"})
    void theHealthProbeFitsAShortLongestLockName(int maxLockNameLength) {
        try (RedisProcess redis = RedisProcess.start().markInService("distlock");
             LockService service = LockService.connect(redis.url(),
                     LockConfig.builder().maxLockNameLength(maxLockNameLength).build())) {
            Health health = new DistLockHealthIndicator(service).health(true);
            assertThat(health.getStatus()).as("%s", health.getDetails()).isEqualTo(Status.UP);
        }
    }

    /**
     * Found by review (2026-12-08): the health said UP while the endpoint it reports on was closed
     * (the application stopping, handshakes refused 503), so a balancer kept sending browsers to it.
     */
    @Test
    void theHealthIsOutOfServiceOnceItsEndpointIsClosed() {
        try (RedisProcess redis = RedisProcess.start().markInService("distlock");
             LockService service = LockService.connect(redis.url(), LockConfig.defaults());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.defaults())) {
            DistLockHealthIndicator indicator = new DistLockHealthIndicator(service, endpoint);
            assertThat(indicator.health(true).getStatus()).isEqualTo(Status.UP);
            endpoint.close();
            Health health = indicator.health(true);
            assertThat(health.getStatus()).isEqualTo(Status.OUT_OF_SERVICE);
            assertThat(health.getDetails()).containsEntry("reason", "the endpoint is closed: the application is stopping");
        }
    }

    /** Found by review (2026-12-04): the startup failure printed distlock.redis.url whole, password and all. */
    @Test
    void aRedisThatCannotBeReachedFailsTheStartWithoutPrintingThePassword(CapturedOutput output) {
        assertThatThrownBy(() -> new SpringApplicationBuilder(LocksApplication.class)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=redis://user:sekret-pw@127.0.0.1:1")
                .run())
                .hasStackTraceContaining("Cannot connect to Redis")
                .satisfies(e -> assertThat(stackTraceOf(e)).doesNotContain("sekret-pw"));
        assertThat(output.toString()).doesNotContain("sekret-pw");
    }

    /** Found by review (2026-12-05): a '%' in the password that starts no %XX printed a piece of the password. */
    @Test
    void aUrlThatCannotBeParsedFailsTheStartSayingSoWithoutPrintingThePassword(CapturedOutput output) {
        assertThatThrownBy(() -> new SpringApplicationBuilder(LocksApplication.class)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=redis://:s3cr%t-PASSWORD@127.0.0.1:1")
                .run())
                .hasStackTraceContaining("the URL cannot be parsed")
                .satisfies(e -> assertThat(stackTraceOf(e)).doesNotContain("PASSWORD").doesNotContain("t-\""));
        assertThat(output.toString())
                .contains("APPLICATION FAILED TO START")
                .contains("write % as %25")
                .doesNotContain("PASSWORD").doesNotContain("t-\"");
    }

    /**
     * Found by running an application (2026-12-05): with Redis down at start the application
     * failed with some two hundred lines of stack trace through every bean on the way, and no
     * report saying what to check.
     */
    @Test
    void aRedisThatCannotBeReachedFailsTheStartWithAReport(CapturedOutput output) {
        assertThatThrownBy(() -> new SpringApplicationBuilder(LocksApplication.class)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=redis://127.0.0.1:1")
                .run())
                .hasStackTraceContaining("Cannot connect to Redis");
        assertThat(output.toString())
                .contains("APPLICATION FAILED TO START")
                .contains("could not connect to its Redis while starting")
                .contains("Check that Redis is running and reachable at distlock.redis.url")
                // The report replaces the stack trace Boot logs for an unexplained failure.
                .doesNotContain("at org.redisson.");
    }

    /**
     * Found by a probe with a Redis that has a password (2026-12-05): a wrong password was reported as
     * "Unable to connect to Redis server: 127.0.0.1/127.0.0.1:port", and the report said to check that
     * Redis is running and reachable: nothing about authentication.
     */
    @Test
    void aPasswordRedisRefusesFailsTheStartWithAReportThatSaysSo(CapturedOutput output) {
        try (RedisProcess redis = RedisProcess.startWithLogin(List.of("s3cret-pw"), "--requirepass", "s3cret-pw")) {
            assertThatThrownBy(() -> new SpringApplicationBuilder(LocksApplication.class)
                    .properties("server.port=0", "server.address=127.0.0.1",
                            "distlock.redis.url=redis://:not-the-pw@127.0.0.1:" + redis.port())
                    .run())
                    .hasStackTraceContaining("Redis refused the user name or password in the URL (WRONGPASS): authentication failed")
                    .satisfies(e -> assertThat(stackTraceOf(e)).doesNotContain("not-the-pw"));
            assertThat(output.toString())
                    .contains("APPLICATION FAILED TO START")
                    .contains("could not connect to its Redis while starting: Cannot connect to Redis at distlock.redis.url: "
                            + "Redis refused the user name or password in the URL (WRONGPASS)")
                    .contains("with the password Redis wants (redis://:password@host:port")
                    .doesNotContain("not-the-pw");
        }
    }

    /**
     * Found by an operator's review (2026-12-07): a Redis that takes the connection and answers
     * nothing (paused) held the start through Redisson's five attempts, 23 s, then said "Command
     * execution timeout for command: (PING)". The starter's client now gives up after
     * LockService.CONNECT_DEADLINE and says what it saw.
     */
    @Test
    void aRedisThatAnswersNothingFailsTheStartWithinTheDeadlineSayingSo(CapturedOutput output) {
        try (RedisProcess redis = RedisProcess.start()) {
            redis.pause();
            try {
                // "within 15 s": the deadline's words (Redisson's own timeout is worded "in time"); no timing asserted.
                assertThatThrownBy(() -> new SpringApplicationBuilder(LocksApplication.class)
                        .properties("server.port=0", "server.address=127.0.0.1", "spring.data.redis.url=" + redis.url())
                        .run())
                        .hasStackTraceContaining("Redis accepted the connection but did not answer PING within 15 s");
                assertThat(output.toString()).contains("could not connect to its Redis while starting");
            } finally {
                redis.resume();
            }
        }
    }

    private static String stackTraceOf(Throwable e) {
        java.io.StringWriter out = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(out));
        return out.toString();
    }

    /** The only Redis there is: a LOCKED proves the application found it through Spring Data's property. */
    @Test
    void springDataRedisUrlIsUsedWhenDistlockHasNoneOfItsOwn() {
        try (RedisProcess redis = RedisProcess.start().markInService("distlock");
             ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class)
                     .properties("server.port=0", "server.address=127.0.0.1", "spring.data.redis.url=" + redis.url(),
                             "distlock.lease=1500ms")
                     .run()) {
            int port = ((WebServerApplicationContext) app).getWebServer().getPort();
            try (LockClient client = LockClient.open(URI.create("ws://127.0.0.1:" + port + "/distlock/lock"))) {
                client.request("OK", "action", "connect", "param", "spring-data");
                client.request("LOCKED", "action", "lock", "param", "on-spring-data-redis");
            }
        }
    }

    /**
     * Found by review (2026-12-07): Spring Boot reads the database from spring.data.redis.url, so
     * {@code …/0} is a common way to write it, and distlock refused it although database 0 is the
     * one it works in: the application did not start.
     */
    @Test
    void springDataRedisUrlNamingDatabaseZeroIsUsed() {
        try (RedisProcess redis = RedisProcess.start().markInService("distlock");
             ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class)
                     .properties("server.port=0", "server.address=127.0.0.1", "spring.data.redis.url=" + redis.url() + "/0",
                             // TLS said to be off, in so many words: nothing to refuse.
                             "spring.data.redis.ssl.enabled=false", "distlock.lease=1500ms")
                     .run()) {
            int port = ((WebServerApplicationContext) app).getWebServer().getPort();
            try (LockClient client = LockClient.open(URI.create("ws://127.0.0.1:" + port + "/distlock/lock"))) {
                client.request("OK", "action", "connect", "param", "database-zero");
                client.request("LOCKED", "action", "lock", "param", "in-database-zero");
            }
            assertThat(redis.command("KEYS", "distlock:lock:*")).asList().isNotEmpty();
        }
    }

    /** Found by review (2026-12-07): accepted without a word, while the same database in the URL is refused. */
    @Test
    void springDataRedisDatabaseIsNotDistlocksAndTheStartSaysSo(CapturedOutput output) {
        try (RedisProcess redis = RedisProcess.start().markInService("distlock");
             ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class)
                     .properties("server.port=0", "server.address=127.0.0.1", "spring.data.redis.url=" + redis.url(),
                             "spring.data.redis.database=3", "distlock.lease=1500ms")
                     .run()) {
            assertThat(app.getBean(LockService.class)).isNotNull();
            assertThat(output.toString()).contains("spring.data.redis.database=3 is not distlock's: it keeps its keys in database 0");
        }
    }

    /**
     * Found by review (2026-12-07): falling back to a rediss:// spring.data.redis.url, a
     * spring.data.redis.ssl.bundle was ignored without a word (distlock trusts the JVM's trust
     * store). Warned of, not refused: TLS is on as meant, and Redis's certificate is checked. Here
     * the JVM trusts the test CA: the application starts, over TLS, and the start says so.
     */
    @Test
    void springDataSslBundleOnARedissUrlIsNotDistlocksAndTheStartSaysSo(CapturedOutput output) {
        String trustStoreBefore = System.getProperty("javax.net.ssl.trustStore");
        String passwordBefore = System.getProperty("javax.net.ssl.trustStorePassword");
        System.setProperty("javax.net.ssl.trustStore", TestTls.truststore().toString());
        System.setProperty("javax.net.ssl.trustStorePassword", TestTls.TRUSTSTORE_PASSWORD);
        try (RedisProcess redis = TestTls.startRedis();
             ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class)
                     .properties(withSslBundle("server.port=0", "server.address=127.0.0.1",
                             "spring.data.redis.url=rediss://127.0.0.1:" + redis.tlsPort(), "distlock.lease=1500ms"))
                     .run()) {
            int port = ((WebServerApplicationContext) app).getWebServer().getPort();
            try (LockClient client = LockClient.open(URI.create("ws://127.0.0.1:" + port + "/distlock/lock"))) {
                client.request("OK", "action", "connect", "param", "over-tls");
                client.request("LOCKED", "action", "lock", "param", "on-the-tls-port");
            }
            assertThat(output.toString()).contains(SSL_BUNDLE_WARNING);
        } finally {
            restoreProperty("javax.net.ssl.trustStore", trustStoreBefore);
            restoreProperty("javax.net.ssl.trustStorePassword", passwordBefore);
        }
    }

    /**
     * The same where only the bundle trusts Redis's CA, not the JVM: the start fails as the
     * certificate not trusted, as it did, and the line before says why the bundle did not count.
     */
    @Test
    void springDataSslBundleTheJvmDoesNotShareFailsTheStartAfterSayingSo(CapturedOutput output) {
        try (RedisProcess redis = TestTls.startRedis()) {
            assertThatThrownBy(() -> new SpringApplicationBuilder(LocksApplication.class)
                    .properties(withSslBundle("server.port=0", "server.address=127.0.0.1",
                            "spring.data.redis.url=rediss://127.0.0.1:" + redis.tlsPort()))
                    .run()
                    .close())
                    .isNotNull();
            String out = output.toString();
            assertThat(out).contains(SSL_BUNDLE_WARNING).contains("APPLICATION FAILED TO START")
                    .contains("Redis's certificate is not trusted by this JVM");
            assertThat(out.indexOf(SSL_BUNDLE_WARNING)).isLessThan(out.indexOf("APPLICATION FAILED TO START"));
        }
    }

    private static final String SSL_BUNDLE_WARNING = "spring.data.redis.ssl.bundle=redis-tls is not used by distlock: it connects"
            + " to spring.data.redis.url over TLS with the JVM's trust store (-Djavax.net.ssl.trustStore) and no client certificate";

    /** {@code properties} and an SSL bundle named redis-tls that trusts the test CA, as Spring Data's would. */
    private static String[] withSslBundle(String... properties) {
        List<String> all = new ArrayList<>(List.of(properties));
        all.add("spring.data.redis.ssl.bundle=redis-tls");
        all.add("spring.ssl.bundle.pem.redis-tls.truststore.certificate=" + TestTls.file("ca.crt").toUri());
        return all.toArray(String[]::new);
    }

    private static void restoreProperty(String property, String value) {
        if (value == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, value);
        }
    }

    /**
     * Found by review (2026-12-07): a URL naming another database, or one Redisson cannot parse,
     * was reported as "could not connect to its Redis... Check that Redis is running": a mistake
     * in the configuration, reported as an outage. It is reported as what it is, naming the
     * property that was used, and never the URL (a password may be in it).
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "distlock.redis.url    | redis://:s3cret-pw@127.0.0.1:1/3 | Redis URL names database 3 (/3)",
            "spring.data.redis.url | redis://:s3cret-pw@127.0.0.1:1/3 | Redis URL names database 3 (/3)",
            "spring.data.redis.url | redis://127.0.0.1                | the URL cannot be parsed (Redis url doesn't contain a port)",
            "distlock.redis.url    | http://127.0.0.1:1               | the URL cannot be parsed (Redis url should start with redis://",
            "distlock.redis.url    | redis://:s3cret-pw@:6379         | the URL cannot be parsed (ArrayIndexOutOfBoundsException)",
            "spring.data.redis.url | redis://:s3cret-pw@127.0.0.1     | Redis URL has no port",
    })
    void aUrlNamingAnotherDatabaseOrThatCannotBeParsedFailsTheStartAsAConfigurationError(String property, String url,
                                                                                      String problem, CapturedOutput output) {
        assertThatThrownBy(() -> new SpringApplicationBuilder(LocksApplication.class)
                .properties("server.port=0", "server.address=127.0.0.1", property + "=" + url)
                .run())
                .satisfies(e -> assertThat(stackTraceOf(e)).doesNotContain("s3cret-pw"));
        assertThat(output.toString())
                .contains("APPLICATION FAILED TO START")
                .contains("cannot use the Redis configuration it was given: " + property + ": " + problem)
                .contains("Correct " + property + ": redis://host:port")
                .doesNotContain("could not connect")
                .doesNotContain("s3cret-pw")
                .doesNotContain("at org.redisson.");
    }

    /**
     * The same where distlock.redis.url is set next to the application's own RedissonClient (the
     * service then connects a client of its own): the core's refusal of the database went out as
     * a bare exception, in a stack trace of some two hundred lines.
     */
    @Test
    void aUrlNamingAnotherDatabaseNextToTheApplicationsClientFailsTheStartAsAConfigurationError(CapturedOutput output) {
        try (RedisProcess redis = RedisProcess.start()) {
            OwnRedisson.url = redis.url();
            assertThatThrownBy(() -> new SpringApplicationBuilder(LocksApplication.class, OwnRedisson.class)
                    .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url() + "/5")
                    .run())
                    .isNotNull();
            assertThat(output.toString())
                    .contains("APPLICATION FAILED TO START")
                    .contains("cannot use the Redis configuration it was given: distlock.redis.url: Redis URL names database 5 (/5)")
                    .doesNotContain("at io.distlock.core.LockService.");
        }
    }

    /**
     * Found by review (2026-12-07): falling back to spring.data.redis.url, distlock read the URL
     * alone. With TLS turned on for Spring Data on a redis:// URL it connected in plaintext, the
     * operator believing TLS on; with Sentinel or Cluster set it connected to the URL's server
     * while the application's data went elsewhere. The start now fails naming the setting (on a
     * Redis that is up: before, it started).
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "spring.data.redis.ssl.enabled=true         | spring.data.redis.ssl.enabled: turns TLS on for Spring Data, but spring.data.redis.url is a redis:// URL",
            "spring.data.redis.ssl.bundle=redis-tls     | spring.data.redis.ssl.bundle: is set (and ssl.enabled is not), which turns TLS on for Spring Data",
            "spring.data.redis.sentinel.master=mymaster | spring.data.redis.sentinel.master: is set, and Spring Data then uses Redis Sentinel, which distlock would ignore",
            "spring.data.redis.cluster.nodes=127.0.0.1:7000 | spring.data.redis.cluster.nodes: is set, and Spring Data then uses Redis Cluster, which distlock would ignore",
    })
    void springDataSettingsDistlockWouldIgnoreFailTheStartNamingTheProperty(String setting, String problem, CapturedOutput output) {
        try (RedisProcess redis = RedisProcess.start().markInService("distlock")) {
            assertThatThrownBy(() -> new SpringApplicationBuilder(LocksApplication.class)
                    .properties("server.port=0", "server.address=127.0.0.1", "spring.data.redis.url=" + redis.url(), setting)
                    .run()
                    .close())
                    .isNotNull();
            assertThat(output.toString())
                    .contains("APPLICATION FAILED TO START")
                    .contains("cannot use the Redis configuration it was given: " + problem)
                    .doesNotContain("could not connect");
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class PrimaryAndLazyRedissons {
        static String url;
        static final java.util.concurrent.atomic.AtomicInteger lazyMade = new java.util.concurrent.atomic.AtomicInteger();

        @Bean(destroyMethod = "shutdown")
        @org.springframework.context.annotation.Primary
        RedissonClient mainRedisson() {
            Config config = new Config();
            config.useSingleServer().setAddress(url);
            return Redisson.create(config);
        }

        /** An optional Redis, which may be down: the application asks for it when it needs it. */
        @Bean(destroyMethod = "shutdown")
        @org.springframework.context.annotation.Lazy
        RedissonClient optionalRedisson() {
            lazyMade.incrementAndGet();
            Config config = new Config();
            config.useSingleServer().setAddress(url);
            return Redisson.create(config);
        }
    }

    /**
     * Found by review (2026-12-07): to find which RedissonClient it had been given, the starter
     * asked the context for every one by name, which made a {@code @Lazy} client (for an
     * optional Redis that may be down, failing the start) just to compare it.
     */
    @Test
    void aLazyRedissonClientIsNotMadeToFindTheOneDistlockUses() {
        try (RedisProcess redis = RedisProcess.start().markInService("distlock")) {
            PrimaryAndLazyRedissons.url = redis.url();
            PrimaryAndLazyRedissons.lazyMade.set(0);
            try (ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class, PrimaryAndLazyRedissons.class)
                    .properties("server.port=0", "server.address=127.0.0.1", "distlock.lease=1500ms")
                    .run()) {
                assertThat(PrimaryAndLazyRedissons.lazyMade).hasValue(0);
                assertThat(app.getBeanFactory().containsSingleton("optionalRedisson")).isFalse();
                // The one used is still closed after the service.
                assertThat(app.getBeanFactory().getDependentBeans("mainRedisson")).contains("distlockLockService");
                assertThat(app.getBeanFactory().getDependentBeans("optionalRedisson")).doesNotContain("distlockLockService");
            }
        }
    }

    /**
     * Found by running an application (2026-12-05): a value the builders refuse (distlock.lease=100ms,
     * distlock.rate-limit=0, a path without '/'...) failed the start with a bean creation stack trace
     * naming only the builder's field ("lease must be..."), never the property or where it was set.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "distlock.lease=100ms | lease must be at least 300 ms",
            "distlock.lease=2d | lease must be at least 300 ms and at most a day",
            // Found by review (2026-12-07): a bare number is milliseconds, and 15 (meant as 15 s) pinged every 15 ms.
            "distlock.ping-interval=15 | ping interval must be at least 1 s, was 15 ms (a bare number is milliseconds: write 15s)",
            "distlock.rate-limit=0 | rate limit must be at least 1 per second",
            "distlock.max-connections=-1 | maxConnections must be at least 1",
            "distlock.max-connections-per-address=0 | maxConnectionsPerAddress must be at least 1",
            "distlock.path=locks | path must start with '/'",
            // Found by review (2026-12-05): a URI template was accepted, and the handshake filter's URL pattern never matched it.
            "distlock.path=/locks/{room} | path must be a fixed path, without '{' (URI templates are not supported)",
            // Found by review (2026-12-07): '*' was accepted; the filter and the 426 servlet took it as a servlet wildcard.
            "distlock.path=/ws/* | path must be a fixed path, without '*' (wildcards are not supported)",
            // Found by review (2026-12-07): the client servlet's path was accepted, and one of the two servlets silently lost it.
            "distlock.path=/distlock/distlock.js | path must not be /distlock/distlock.js, where the JavaScript client is served",
            "distlock.key-prefix=a b | keyPrefix must be non-empty",
            "distlock.allowed-origins=https://app.example.com/page | an allowed origin must look like scheme://host[:port]",
            // Found by review (2026-12-05): a pattern was accepted and matched no Origin, every page got 403.
            "distlock.allowed-origins=https://*.example.com | only a lone \"*\" (any origin) is supported",
            "distlock.trusted-proxies=proxy.example.com | a trusted proxy must be an IP address",
            "distlock.allowed-hosts=https://locks.example.com | allowedHosts: 'https://locks.example.com' is not a host name",
    })
    void aBadValueFailsTheStartNamingTheProperty(String property, String reason, CapturedOutput output) {
        // Port 1: the binding must fail before any Redis is asked for.
        assertThatThrownBy(() -> new SpringApplicationBuilder(LocksApplication.class)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=redis://127.0.0.1:1", property)
                .run())
                .isNotNull();
        String name = property.substring(0, property.indexOf('='));
        // Boot's bind failure report (BindFailureAnalyzer): the property, its value, the reason.
        assertThat(output.toString())
                .contains("APPLICATION FAILED TO START")
                .contains("Property: " + name)
                .contains("Value: \"" + property.substring(name.length() + 1) + "\"")
                .contains(reason)
                .doesNotContain("Cannot connect to Redis");
    }

    /** DNS rebinding: with distlock.allowed-hosts, a handshake naming another Host is refused though its Origin matches it. */
    @Test
    void allowedHostsRefuseAHandshakeForAnotherHost() {
        try (RedisProcess redis = RedisProcess.start().markInService("distlock");
             ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class)
                     .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url(),
                             "distlock.allowed-hosts=Locks.example.com,127.0.0.1")
                     .run()) {
            assertThat(app.getBean(io.distlock.websocket.EndpointOptions.class).allowedHosts())
                    .containsExactly("locks.example.com", "127.0.0.1");
            int port = ((WebServerApplicationContext) app).getWebServer().getPort();
            URI ws = URI.create("ws://127.0.0.1:" + port + "/distlock/lock");
            String rebound = "attacker.example:" + port;
            assertThat(LockClient.handshakeStatus(ws, Map.of("Host", rebound, "Origin", "http://" + rebound))).isEqualTo(403);
            assertThat(LockClient.handshakeStatus(ws, Map.of("Host", "locks.example.com:" + port, "Origin", "http://locks.example.com:" + port)))
                    .isEqualTo(101);
            assertThat(LockClient.handshakeStatus(ws, Map.of("Origin", "http://127.0.0.1:" + port))).isEqualTo(101);
        }
    }

    /** Found by running an application (2026-12-05): twice a rate limit above 2^30 overflowed into a negative burst. */
    @Test
    void aHugeRateLimitIsAccepted() {
        try (RedisProcess redis = RedisProcess.start().markInService("distlock");
             ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class)
                     .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url(),
                             "distlock.rate-limit=2000000000")
                     .run()) {
            assertThat(app.getBean(io.distlock.websocket.EndpointOptions.class).rateLimitPerSecond()).isEqualTo(2_000_000_000);
        }
    }

    /** Checked by running an application (2026-12-05): distlock.path and the client's paths are under the context path. */
    @Test
    void underAContextPathTheEndpointTheFilterAndTheClientFollowIt() throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class)
                     .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url(),
                             "server.servlet.context-path=/app", "distlock.path=/ws/locks")
                     .run()) {
            int port = ((WebServerApplicationContext) app).getWebServer().getPort();
            URI ws = URI.create("ws://127.0.0.1:" + port + "/app/ws/locks");
            try (LockClient client = LockClient.open(ws)) {
                client.request("OK", "action", "connect", "param", "under-a-context-path");
                client.request("LOCKED", "action", "lock", "param", "context-path");
            }
            // The handshake filter is mapped under the context path too: 403, not Tomcat's 500.
            assertThat(LockClient.handshakeStatus(ws, java.util.Map.of("Origin", "http://evil.example"))).isEqualTo(403);
            var http = java.net.http.HttpClient.newHttpClient();
            var script = http.send(java.net.http.HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/app/distlock/distlock.js")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(script.statusCode()).isEqualTo(200);
        }
    }

    /**
     * Found by review (2026-12-05): with Spring MVC's DispatcherServlet under /api the endpoint's
     * path mapped to no servlet, and Tomcat (whose Boot setup has no default servlet) ran no
     * filter for it, its WebSocket filter included: every handshake was answered 404.
     */
    @Test
    void underASpringMvcServletPathTheEndpointAndTheFilterStillAnswer() throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class)
                     .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url(),
                             "spring.mvc.servlet.path=/api")
                     .run()) {
            int port = ((WebServerApplicationContext) app).getWebServer().getPort();
            URI ws = URI.create("ws://127.0.0.1:" + port + "/distlock/lock");
            assertThat(LockClient.handshakeStatus(ws, Map.of())).isEqualTo(101);
            try (LockClient client = LockClient.open(ws)) {
                client.request("OK", "action", "connect", "param", "under-a-servlet-path");
                client.request("LOCKED", "action", "lock", "param", "servlet-path");
            }
            assertThat(LockClient.handshakeStatus(ws, Map.of("Origin", "http://evil.example"))).isEqualTo(403);
            // Anything but a handshake: 426, from the servlet that maps the path.
            var http = java.net.http.HttpClient.newHttpClient();
            var plain = http.send(java.net.http.HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/distlock/lock")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(plain.statusCode()).isEqualTo(426);
            assertThat(plain.headers().firstValue("Upgrade")).hasValue("websocket");
        }
    }

    /**
     * Found by running an application (2026-12-05): after {@code context.stop()} and {@code start()}
     * (what a checkpoint and restore do) the web server served again but the endpoint, closed at
     * the stop, refused every handshake. The stop still ends the connections and their sessions.
     */
    @Test
    void aStoppedAndRestartedContextServesTheEndpointAgain() {
        try (RedisProcess redis = RedisProcess.start();
             ConfigurableApplicationContext app = new SpringApplicationBuilder(LocksApplication.class)
                     .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url())
                     .run()) {
            int port = ((WebServerApplicationContext) app).getWebServer().getPort();
            URI ws = URI.create("ws://127.0.0.1:" + port + "/distlock/lock");
            try (LockClient client = LockClient.open(ws)) {
                client.request("OK", "action", "connect", "param", "before-the-stop");
                client.request("LOCKED", "action", "lock", "param", "across-a-restart");
                app.stop();
                assertThat(client.expectClosed().code()).isEqualTo(1001);
            }
            app.start();
            int again = ((WebServerApplicationContext) app).getWebServer().getPort();
            try (LockClient client = LockClient.open(URI.create("ws://127.0.0.1:" + again + "/distlock/lock"))) {
                client.request("OK", "action", "connect", "param", "after-the-restart");
                // Released at the stop: free at once, not after a lease.
                client.request("LOCKED", "action", "lock", "param", "across-a-restart");
            }
        }
    }

    @Test
    void propertiesHaveMetadataForIdes() throws Exception {
        try (var in = getClass().getClassLoader().getResourceAsStream("META-INF/spring-configuration-metadata.json")) {
            assertThat(in).as("spring-configuration-metadata.json").isNotNull();
            var metadata = LockClient.JSON.readTree(in);
            var names = metadata.path("properties").findValuesAsText("name");
            assertThat(names).contains("distlock.redis.url", "distlock.path", "distlock.allowed-origins", "distlock.allowed-hosts", "distlock.lease",
                    "distlock.watching", "distlock.client.enabled");
            // Found by review (2026-12-07): descriptions had Javadoc markup ({@code host[:port]}), which IDEs show as it is.
            assertThat(metadata.findValuesAsText("description")).isNotEmpty()
                    .allSatisfy(d -> assertThat(d).doesNotContain("{@").doesNotContain("<p>").doesNotContain("<code>"));
            // Found by review (2026-12-07): the health indicator's switch had no entry, and IDEs flagged it unknown.
            assertThat(names).contains("management.health.distlock.enabled");
            assertThat(List.copyOf(names)).allMatch(n -> n.startsWith("distlock.") || n.equals("management.health.distlock.enabled"));
        }
    }
}
