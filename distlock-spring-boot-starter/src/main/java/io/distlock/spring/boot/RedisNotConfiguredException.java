package io.distlock.spring.boot;

/**
 * Thrown at startup when distlock has no Redis: neither {@code distlock.redis.url} nor a
 * {@code RedissonClient} bean. {@link DistLockFailureAnalyzer} turns it into a message that
 * says what to set.
 */
public class RedisNotConfiguredException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    public RedisNotConfiguredException() {
        super("distlock needs a Redis: set distlock.redis.url (for example redis://localhost:6379) or define a RedissonClient bean");
    }
}
