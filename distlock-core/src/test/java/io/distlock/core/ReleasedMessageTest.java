package io.distlock.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The release message codec: what the release scripts publish, read back. */
class ReleasedMessageTest {

    @Test
    void readsTokenTimeAndANameWithColons() {
        assertThat(RedisLockStore.Released.parse("1796215463273912:1764144000123456:doc:42:a"))
                .isEqualTo(new RedisLockStore.Released("doc:42:a", 1796215463273912L, 1764144000123456L));
    }

    @Test
    void refusesWhatIsNotAReleaseMessage() {
        assertThatThrownBy(() -> RedisLockStore.Released.parse("hello")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RedisLockStore.Released.parse("x:1:doc")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RedisLockStore.Released.parse("1:doc")).isInstanceOf(IllegalArgumentException.class);
    }
}
