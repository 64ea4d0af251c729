package io.distlock.testing;

import java.net.URI;

/**
 * The Redis for tests that only need one to talk to (not to kill or pause): the server named
 * by {@code -Ddistlock.redis.url=redis://host:port} if set (tests FLUSHALL it: use a scratch
 * instance), otherwise one {@link RedisProcess} started on first use and killed when the
 * JVM exits.
 */
public final class TestRedis {

    private static final String EXTERNAL = System.getProperty("distlock.redis.url", "").trim();
    private static RedisProcess started;

    private TestRedis() { }

    public static synchronized String url() {
        if (!EXTERNAL.isEmpty()) {
            return EXTERNAL;
        }
        if (started == null || !started.isAlive()) {
            started = RedisProcess.start();
        }
        return started.url();
    }

    /** Sends one raw command on a fresh connection. */
    public static Object command(String... args) {
        URI uri = URI.create(url());
        try (RespConnection c = new RespConnection(uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort())) {
            return c.command(args);
        }
    }

    /**
     * Empties the Redis between tests, leaving it {@linkplain RedisProcess#markInService(String)
     * in service} for the default key prefix.
     */
    public static void flushAll() {
        command("FLUSHALL");
        markInService("distlock");
    }

    /** {@link RedisProcess#markInService(String)} for this Redis. */
    public static void markInService(String keyPrefix) {
        RedisProcess.markInService(TestRedis::command, keyPrefix);
    }
}
