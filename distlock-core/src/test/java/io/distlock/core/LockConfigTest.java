package io.distlock.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.distlock.testing.FakeTime;

class LockConfigTest {

    @Test
    void defaultsAreTheProtocols() {
        LockConfig c = LockConfig.defaults();
        assertThat(c.lease()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.maxSessionNameLength()).isEqualTo(128);
        assertThat(c.maxLockNameLength()).isEqualTo(256);
        assertThat(c.maxLocksPerSession()).isEqualTo(1000);
        assertThat(c.maxLocksPerRequest()).isEqualTo(64);
        assertThat(c.keyPrefix()).isEqualTo("distlock");
        assertThat(c.dataLossQuarantine()).isTrue();
    }

    @Test
    void badSettingsAreRefusedNamingTheSetting() {
        assertThatThrownBy(() -> LockConfig.builder().lease(Duration.ofMillis(100)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lease");
        assertThatThrownBy(() -> LockConfig.builder().lease(Duration.ofDays(1).plusMillis(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most a day");
        assertThatThrownBy(() -> LockConfig.builder().tokenMemory(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tokenMemory");
        assertThatThrownBy(() -> LockConfig.builder().maxLocksPerSession(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxLocksPerSession");
        assertThatThrownBy(() -> LockConfig.builder().keyPrefix("has space"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keyPrefix");
        // A '{' would take over the hash tag that keeps a lock's keys in one Cluster slot (found by review).
        for (String spread : List.of("tenant{a", "a{}b", "{")) {
            assertThatThrownBy(() -> LockConfig.builder().keyPrefix(spread))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("{tag}");
        }
        for (String fine : List.of("{app}", "app}", "a{b}c{")) { // a whole tag puts every key in one slot: allowed
            assertThat(LockConfig.builder().keyPrefix(fine).build().keyPrefix()).isEqualTo(fine);
        }
    }

    @Test
    void toBuilderKeepsEverySetting() {
        LockConfig c = LockConfig.builder().keyPrefix("app").lease(Duration.ofSeconds(3)).maxLocksPerRequest(7)
                .dataLossQuarantine(false).build();
        LockConfig copy = c.toBuilder().build();
        assertThat(copy.toString()).isEqualTo(c.toString());
        assertThat(copy.dataLossQuarantine()).isFalse();
    }

    @Test
    void timeIsTheSystemsUnlessGivenAndGivenTimeIsKept() {
        LockConfig defaults = LockConfig.defaults();
        long before = System.nanoTime();
        assertThat(defaults.ticker().read()).isGreaterThanOrEqualTo(before);
        assertThat(defaults.scheduler()).isNull(); // the service makes its own thread

        FakeTime time = new FakeTime();
        LockConfig fake = LockConfig.builder().ticker(time).scheduler(time).build().toBuilder().build();
        assertThat(fake.ticker()).isSameAs(time);
        assertThat(fake.scheduler()).isSameAs(time);
        assertThatThrownBy(() -> LockConfig.builder().ticker(null)).isInstanceOf(NullPointerException.class);
    }
}
