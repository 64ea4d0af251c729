package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.assertj.AssertableWebApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.core.LockServiceMetrics;
import io.distlock.spring.boot.docs.LocksApplication;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;
import io.distlock.websocket.DistLockEndpoints;
import io.distlock.websocket.EndpointMetrics;
import io.distlock.websocket.EndpointOptions;

/**
 * Actuator (the health indicator) and Micrometer (the meters) are optional dependencies of the
 * starter: an application without them gets the lock service and the endpoint, and no health
 * indicator or meter binder. The conditions on Boot's context runner with the classes hidden;
 * and, as a class hidden that way is still linked from the test's own class path, a real
 * application in a JVM of its own whose class path has no Micrometer, Actuator or health jar
 * (a class of theirs named in a signature of a configuration class read unconditionally would
 * fail that start with NoClassDefFoundError).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StarterOptionalDependenciesTest {

    /** What the starter's conditions look for, and every other Micrometer meter class. */
    static final String MICROMETER = "io.micrometer.core";
    /** Boot 4's health contributors (spring-boot-health), and Actuator itself. */
    static final String[] ACTUATOR = { "org.springframework.boot.health.contributor", "org.springframework.boot.actuate" };

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

    private WebApplicationContextRunner servlet(FilteredClassLoader hiding) {
        return new WebApplicationContextRunner()
                .withClassLoader(hiding)
                .withConfiguration(AutoConfigurations.of(DistLockAutoConfiguration.class, DistLockEndpointAutoConfiguration.class))
                .withBean("applicationsLockService", LockService.class, this::applicationsService);
    }

    private static String[] both() {
        String[] both = Arrays.copyOf(ACTUATOR, ACTUATOR.length + 1);
        both[ACTUATOR.length] = MICROMETER;
        return both;
    }

    @Test
    void withoutMicrometerTheEndpointIsServedWithoutMeters() {
        servlet(new FilteredClassLoader(MICROMETER)).run(context -> {
            assertThat(context).hasNotFailed();
            assertThatTheEndpointIsThere(context);
            assertThat(context).doesNotHaveBean(LockServiceMetrics.class).doesNotHaveBean(EndpointMetrics.class);
            assertThat(context).hasSingleBean(DistLockHealthIndicator.class);
        });
    }

    @Test
    void withoutActuatorTheEndpointIsServedWithoutAHealthIndicator() {
        servlet(new FilteredClassLoader(ACTUATOR)).run(context -> {
            assertThat(context).hasNotFailed();
            assertThatTheEndpointIsThere(context);
            assertThat(context).doesNotHaveBean(DistLockHealthIndicator.class);
            assertThat(context).hasSingleBean(LockServiceMetrics.class).hasSingleBean(EndpointMetrics.class);
        });
    }

    @Test
    void withNeitherTheEndpointIsServedAlone() {
        servlet(new FilteredClassLoader(both())).run(context -> {
            assertThat(context).hasNotFailed();
            assertThatTheEndpointIsThere(context);
            assertThat(context).doesNotHaveBean(DistLockHealthIndicator.class)
                    .doesNotHaveBean(LockServiceMetrics.class).doesNotHaveBean(EndpointMetrics.class);
        });
    }

    /** A batch worker without either: its lock service, nothing else. */
    @Test
    void aNonWebApplicationWithNeitherGetsItsLockService() {
        new ApplicationContextRunner()
                .withClassLoader(new FilteredClassLoader(both()))
                .withConfiguration(AutoConfigurations.of(DistLockAutoConfiguration.class, DistLockEndpointAutoConfiguration.class))
                .withPropertyValues("distlock.redis.url=" + redis.url())
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(LockService.class).hasBean("distlockRedissonClient");
                    assertThat(context).doesNotHaveBean(DistLockHealthIndicator.class).doesNotHaveBean(LockServiceMetrics.class);
                    assertThat(context).doesNotHaveBean(DistLockEndpoints.class);
                });
    }

    private static void assertThatTheEndpointIsThere(AssertableWebApplicationContext context) {
        assertThat(context).hasSingleBean(EndpointOptions.class).hasSingleBean(DistLockEndpoints.class)
                .hasSingleBean(DistLockEndpointRegistrar.class);
        assertThat(context).hasBean("distlockHandshakeFilter").hasBean("distlockEndpointServlet").hasBean("distlockClientServlet");
    }

    /** Jars of Micrometer's meters, of Actuator and of Boot's health and meter support (not micrometer-observation, Spring's own). */
    static boolean actuatorOrMicrometer(String entry) {
        String name = Path.of(entry).getFileName().toString();
        return name.startsWith("micrometer-core-") || name.startsWith("micrometer-jakarta9-")
                || name.startsWith("micrometer-registry-") || name.startsWith("spring-boot-actuator")
                || name.startsWith("spring-boot-health-") || name.startsWith("spring-boot-micrometer-")
                || name.startsWith("spring-boot-starter-actuator-") || name.startsWith("spring-boot-starter-micrometer-");
    }

    static final Pattern STARTED = Pattern.compile("Tomcat started on port (\\d+)");

    @Test
    void aRealApplicationWithoutMicrometerOrActuatorOnItsClassPathServesLocks() throws Exception {
        // Surefire may hide the real class path behind a manifest-only jar.
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> entries = List.of(classpath.split(File.pathSeparator));
        List<String> kept = entries.stream().filter(entry -> !actuatorOrMicrometer(entry)).toList();
        assertThat(entries).anyMatch(entry -> entry.contains("micrometer-core-")).anyMatch(entry -> entry.contains("spring-boot-health-"));
        assertThat(kept).noneMatch(entry -> entry.contains("micrometer-core-") || entry.contains("spring-boot-health-"));

        Path log = Files.createTempFile("distlock-optional-deps-", ".log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // --debug: Boot's condition report says why the health and the meters were left out.
        Process app = new ProcessBuilder(java, "-Xmx256m", "-XX:TieredStopAtLevel=1",
                "-cp", kept.stream().collect(Collectors.joining(File.pathSeparator)), LocksApplication.class.getName(),
                "--server.port=0", "--server.address=127.0.0.1", "--distlock.redis.url=" + redis.url(), "--debug")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        app.getOutputStream().close();
        try {
            await().atMost(Await.seconds(60)).until(() -> STARTED.matcher(read(log)).find() || !app.isAlive());
            String output = read(log);
            Matcher started = STARTED.matcher(output);
            assertThat(started.find()).as("the application did not start:%n%s", output).isTrue();
            int port = Integer.parseInt(started.group(1));

            URI ws = URI.create("ws://127.0.0.1:" + port + "/distlock/lock");
            try (LockClient client = LockClient.open(ws)) {
                client.request("OK", "action", "connect", "param", "alice");
                client.request("LOCKED", "action", "lock", "param", "without-actuator");
            }
            assertThat(LockClient.handshakeStatus(ws, Map.of("Origin", "http://evil.example"))).isEqualTo(403);
            HttpResponse<String> script = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/distlock/distlock.js")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(script.statusCode()).isEqualTo(200);

            assertThat(output).contains("DistLockAutoConfiguration.Health:", "DistLockAutoConfiguration.Metrics:",
                    "DistLockEndpointAutoConfiguration.Metrics:",
                    "did not find required class 'io.micrometer.core.instrument.binder.MeterBinder'",
                    "did not find required class 'org.springframework.boot.health.contributor.HealthIndicator'");
        } finally {
            app.destroy();
            if (!app.waitFor(30, TimeUnit.SECONDS)) {
                app.destroyForcibly();
            }
        }
        Files.deleteIfExists(log);
    }

    private static String read(Path log) {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
