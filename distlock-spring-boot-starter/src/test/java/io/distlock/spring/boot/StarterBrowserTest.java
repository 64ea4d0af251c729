package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

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
 * The docs' application in a real browser: two applications on one Redis serve the page of
 * docs/spring-boot.md (src/test/resources/static/index.html), and headless Chromium, driven by
 * playwright-core ({@code src/test/e2e/starter.test.mjs}, Node's test runner), takes turns on
 * locks from pages of both. Runs where Debian's {@code /usr/bin/chromium} and Node are; skipped
 * (and reported skipped) elsewhere. {@code npm ci} installs playwright-core first (no browser
 * download).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StarterBrowserTest {

    static final Path CHROMIUM = Path.of(System.getProperty("chromium.executable", "/usr/bin/chromium"));
    static final Path E2E = Path.of("src/test/e2e").toAbsolutePath();
    static final Path OUT = Path.of("target/e2e").toAbsolutePath();

    private RedisProcess redis;
    private ConfigurableApplicationContext one;
    private ConfigurableApplicationContext two;

    @BeforeAll
    void start() {
        // Skipped on a machine without them, but not where the browser tests must run (.ci/run sets it).
        boolean required = System.getenv("DISTLOCK_REQUIRE_BROWSER") != null;
        boolean browser = Files.isExecutable(CHROMIUM);
        boolean node = onPath("node") && onPath("npm");
        if (required) {
            assertThat(browser).as("DISTLOCK_REQUIRE_BROWSER is set, and there is no Chromium at %s", CHROMIUM).isTrue();
            assertThat(node).as("DISTLOCK_REQUIRE_BROWSER is set, and there are no node and npm on the PATH").isTrue();
        }
        assumeTrue(browser, "no Chromium at " + CHROMIUM);
        assumeTrue(node, "no node and npm on the PATH");
        redis = RedisProcess.start().markInService("distlock");
        one = app();
        two = app();
    }

    @AfterAll
    void stop() {
        if (two != null) {
            two.close();
        }
        if (one != null) {
            one.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    ConfigurableApplicationContext app() {
        return new SpringApplicationBuilder(LocksApplication.class)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url())
                .run();
    }

    static String url(ConfigurableApplicationContext app) {
        return "http://127.0.0.1:" + ((WebServerApplicationContext) app).getWebServer().getPort();
    }

    @Test
    void pagesOnTwoApplicationsShareLocksInChromium() throws Exception {
        Files.createDirectories(OUT);
        if (!Files.isDirectory(E2E.resolve("node_modules/playwright-core"))) {
            assertThat(run(List.of("npm", "ci", "--no-audit", "--no-fund"), OUT.resolve("npm-ci.log"), 300))
                    .as("npm ci (see target/e2e/npm-ci.log)").isZero();
        }
        Path log = OUT.resolve("starter-e2e.log");
        int exit = run(List.of("node", "--test", "--test-reporter=spec", "starter.test.mjs"), log, 180);
        System.out.println(Files.readString(log));
        assertThat(exit).as("node --test starter.test.mjs (see target/e2e/starter-e2e.log)").isZero();
    }

    private int run(List<String> command, Path log, long timeoutSeconds) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).directory(E2E.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("APP1", url(one));
        builder.environment().put("APP2", url(two));
        builder.environment().put("CHROMIUM", CHROMIUM.toString());
        builder.environment().put("E2E_OUTPUT_DIR", OUT.toString());
        Process process = builder.start();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(command + " did not finish in " + timeoutSeconds + " s; see " + log);
        }
        return process.exitValue();
    }

    private static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }
}
