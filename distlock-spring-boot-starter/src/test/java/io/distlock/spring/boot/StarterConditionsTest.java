package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.testing.RedisProcess;

/**
 * The starter's conditions, on {@link DistLockAutoConfiguration} alone (no web server; where the
 * application has a {@link LockService} of its own, a real one on a Redis of this class).
 */
class StarterConditionsTest {

    private static RedisProcess redis;
    private static LockService applicationsService;

    @BeforeAll
    static void start() {
        redis = RedisProcess.start();
        applicationsService = LockService.connect(redis.url(), LockConfig.defaults());
    }

    @AfterAll
    static void stop() {
        applicationsService.close();
        redis.close();
    }

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DistLockAutoConfiguration.class))
            .withBean("applicationsLockService", LockService.class, () -> applicationsService);

    @Test
    void theHealthIndicatorIsThereByDefault() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).hasSingleBean(DistLockHealthIndicator.class);
            assertThat(context.getBeansOfType(HealthContributor.class)).containsOnlyKeys("distlockHealthIndicator");
        });
    }

    /**
     * Found by review (2026-12-07): the starter's indicator backed off only for a bean named
     * distlockHealthIndicator; the application's own under another name gave two distlock
     * contributors in /actuator/health.
     */
    @Test
    void theApplicationsOwnHealthIndicatorOfAnyNameReplacesTheStartersOne() {
        runner.withBean("locksHealth", DistLockHealthIndicator.class, () -> new DistLockHealthIndicator(applicationsService))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBeansOfType(HealthContributor.class)).containsOnlyKeys("locksHealth");
                });
        // And, as before, any bean of the starter's name.
        runner.withBean("distlockHealthIndicator", HealthIndicator.class, () -> () -> Health.up().build())
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).doesNotHaveBean(DistLockHealthIndicator.class);
                });
    }

    /** Found by review (2026-12-05): management.health.distlock.enabled=false was ignored. */
    @Test
    void managementHealthDistlockEnabledFalseTurnsTheHealthIndicatorOff() {
        runner.withPropertyValues("management.health.distlock.enabled=false").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).doesNotHaveBean(DistLockHealthIndicator.class);
            assertThat(context.getBeansOfType(HealthContributor.class)).isEmpty();
            assertThat(context).hasSingleBean(LockService.class);
        });
    }

    /** Found by review (2026-12-05): a blank distlock.redis.url hid spring.data.redis.url ("no Redis is configured"). */
    @Test
    void aBlankDistlockRedisUrlLeavesSpringDataRedisUrlInUse() {
        try (RedisProcess redis = RedisProcess.start()) {
            new ApplicationContextRunner()
                    .withConfiguration(AutoConfigurations.of(DistLockAutoConfiguration.class))
                    .withPropertyValues("distlock.redis.url=", "spring.data.redis.url=" + redis.url())
                    .run(context -> {
                        assertThat(context).hasNotFailed();
                        assertThat(context).hasBean("distlockRedissonClient");
                        assertThat(context).hasSingleBean(LockService.class);
                    });
        }
    }
}
