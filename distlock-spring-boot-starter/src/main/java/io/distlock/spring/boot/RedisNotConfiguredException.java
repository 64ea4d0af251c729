package io.distlock.spring.boot;

/**
 * Thrown at startup when distlock has no Redis: neither {@code distlock.redis.url} nor a
 * {@code RedissonClient} bean. {@link DistLockFailureAnalyzer} turns it into a message that
 * says what to set.
 */
public class RedisNotConfiguredException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /** Spring Data's host property, when the application set it (distlock does not read it); else null. */
    private final String springDataHost;

    public RedisNotConfiguredException() {
        this(null);
    }

    public RedisNotConfiguredException(String springDataHost) {
        super("distlock needs a Redis: set distlock.redis.url (for example redis://localhost:6379) or define a RedissonClient bean");
        this.springDataHost = springDataHost;
    }

    /** The value of {@code spring.data.redis.host} if the application set it, else null. */
    public String springDataHost() {
        return springDataHost;
    }
}
