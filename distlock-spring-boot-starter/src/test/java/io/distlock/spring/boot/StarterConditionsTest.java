package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;

import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import io.distlock.core.LockService;
import io.distlock.testing.RedisProcess;

/**
 * The starter's conditions, on {@link DistLockAutoConfiguration} alone (no web server, no Redis:
 * the application's own {@link LockService}, a mock, where one is needed).
 */
class StarterConditionsTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DistLockAutoConfiguration.class))
            .withBean("applicationsLockService", LockService.class, () -> mock(LockService.class));

    @Test
    void theHealthIndicatorIsThereByDefault() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).hasSingleBean(DistLockHealthIndicator.class);
            assertThat(context.getBeansOfType(HealthContributor.class)).containsOnlyKeys("distlockHealthIndicator");
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
