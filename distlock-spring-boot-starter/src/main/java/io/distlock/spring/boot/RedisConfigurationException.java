package io.distlock.spring.boot;

/**
 * Thrown at startup for a Redis configuration distlock cannot use as written: a URL that is not
 * one Redisson can parse or that names a database other than 0, or Spring Data settings next to
 * {@code spring.data.redis.url} that distlock, falling back to that URL, would ignore. A mistake in
 * the configuration, not an outage: {@link RedisConfigurationFailureAnalyzer} says so, naming
 * the property and never quoting its value (a URL may hold a password).
 */
final class RedisConfigurationException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String action;

    /**
     * @param property the property to correct, {@code distlock.redis.url} or {@code spring.data.redis.ssl.enabled} say
     * @param problem what is wrong, without the property's value
     * @param action what to do about it
     */
    RedisConfigurationException(String property, String problem, String action) {
        super(property + ": " + problem);
        this.action = action;
    }

    String action() {
        return action;
    }
}
