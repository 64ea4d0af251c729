package io.distlock.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The test-only certificates in {@code io/distlock/testing/tls} (its README says how they were
 * made), as files on disk for {@code redis-server} and {@code -Djavax.net.ssl.trustStore}: copied
 * out of the class path once per JVM, since in another module's tests they are inside a jar.
 */
public final class TestTls {

    /** Of {@link #truststore()}. */
    public static final String TRUSTSTORE_PASSWORD = "changeit";

    private static Path dir;

    private TestTls() { }

    /** A PKCS12 trust store holding the test CA. */
    public static Path truststore() {
        return file("truststore.p12");
    }

    /** A Redis with a TLS port whose certificate, from the test CA, is for 127.0.0.1 and localhost. */
    public static RedisProcess startRedis(String... extraArgs) {
        return startRedis(java.util.List.of(), extraArgs);
    }

    /** As {@link #startRedis(String...)}, with a login for the harness's own connections ({@link RedisProcess#startWithLogin}). */
    public static RedisProcess startRedis(java.util.List<String> login, String... extraArgs) {
        return RedisProcess.startWithTls(login, file("server.crt"), file("server.key"), file("ca.crt"), extraArgs);
    }

    /** A Redis with a TLS port whose certificate, from the test CA, is for redis.other.example only. */
    public static RedisProcess startRedisForAnotherHost() {
        return RedisProcess.startWithTls(file("other-host.crt"), file("other-host.key"), file("ca.crt"));
    }

    public static synchronized Path file(String name) {
        try {
            if (dir == null) {
                dir = Files.createTempDirectory("distlock-tls-");
                dir.toFile().deleteOnExit();
            }
            Path file = dir.resolve(name);
            if (!Files.exists(file)) {
                try (InputStream in = TestTls.class.getResourceAsStream("tls/" + name)) {
                    if (in == null) {
                        throw new IllegalArgumentException("no test TLS file " + name);
                    }
                    Files.copy(in, file);
                }
                file.toFile().deleteOnExit();
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
