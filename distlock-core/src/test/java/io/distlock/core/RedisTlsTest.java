package io.distlock.core;

import static io.distlock.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.distlock.testing.RedisProcess;
import io.distlock.testing.TestTls;

/**
 * {@code rediss://}: a Redis with TLS whose certificate comes from a private CA, trusted as a user
 * trusts it, through the JVM's standard {@code javax.net.ssl.trustStore}; a certificate the JVM
 * does not trust, or one for another host, is said to be that.
 */
class RedisTlsTest {

    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private String trustStoreBefore;
    private String trustStorePasswordBefore;

    @BeforeEach
    void trustTheTestCa() {
        trustStoreBefore = System.getProperty("javax.net.ssl.trustStore");
        trustStorePasswordBefore = System.getProperty("javax.net.ssl.trustStorePassword");
        System.setProperty("javax.net.ssl.trustStore", TestTls.truststore().toString());
        System.setProperty("javax.net.ssl.trustStorePassword", TestTls.TRUSTSTORE_PASSWORD);
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
        restore("javax.net.ssl.trustStore", trustStoreBefore);
        restore("javax.net.ssl.trustStorePassword", trustStorePasswordBefore);
    }

    private static void restore(String property, String value) {
        if (value == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, value);
        }
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        cleanup.add(c);
        return c;
    }

    private LockService node(String url) {
        return closeLater(LockService.connect(url, LockConfig.defaults()));
    }

    @Test
    void aRedisWithACertificateFromThePrivateCaIsReachedOverTls() {
        RedisProcess redis = closeLater(TestTls.startRedis());
        for (String host : List.of("127.0.0.1", "localhost")) {
            LockSession session = node("rediss://" + host + ":" + redis.tlsPort()).openSession("ann", LockListener.NONE);
            assertThat(result(session.lock("doc"))).isInstanceOf(LockResult.Locked.class);
            assertThat(result(session.unlock("doc"))).isEqualTo(new UnlockResult.Unlocked());
        }
        // the nodes' connections are on the TLS port (the plain one is the harness's own)
        assertThat(String.valueOf(redis.command("CLIENT", "LIST"))).contains(" laddr=127.0.0.1:" + redis.tlsPort() + " ");
    }

    @Test
    void aManagedRedisAclUserAndPasswordOverTls() {
        RedisProcess redis = closeLater(TestTls.startRedis(List.of("admin", "admin-pw"),
                "--user", "admin", "on", ">admin-pw", "~*", "&*", "+@all", "--user", "default", "off",
                "--user", "locks", "on", ">locks-pw", "~*", "&*", "+@all"));
        LockSession session = node("rediss://locks:locks-pw@localhost:" + redis.tlsPort()).openSession("ann", LockListener.NONE);
        assertThat(result(session.lock("doc"))).isInstanceOf(LockResult.Locked.class);
        assertThat(String.valueOf(redis.command("CLIENT", "LIST"))).contains(" laddr=127.0.0.1:" + redis.tlsPort() + " ")
                .contains(" user=locks ");

        assertThatThrownBy(() -> node("rediss://locks:not-the-pw@localhost:" + redis.tlsPort()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("(WRONGPASS): authentication failed");
    }

    @Test
    void aCertificateTheJvmDoesNotTrustIsSaidToBeThat() {
        RedisProcess redis = closeLater(TestTls.startRedis());
        System.clearProperty("javax.net.ssl.trustStore"); // the JDK's own CAs only
        System.clearProperty("javax.net.ssl.trustStorePassword");
        assertThatThrownBy(() -> node("rediss://127.0.0.1:" + redis.tlsPort()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageStartingWith("Cannot connect to Redis at 127.0.0.1:" + redis.tlsPort() + ": TLS handshake with Redis failed: ")
                .hasMessageContaining("Redis's certificate is not trusted by this JVM")
                .hasMessageContaining("-Djavax.net.ssl.trustStore=");
    }

    @Test
    void theHostNameIsVerified() {
        RedisProcess redis = closeLater(TestTls.startRedisForAnotherHost()); // trusted CA, certificate for redis.other.example
        assertThatThrownBy(() -> node("rediss://127.0.0.1:" + redis.tlsPort()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("TLS handshake with Redis failed: Redis's certificate is not issued for the host in the URL")
                .hasMessageContaining("127.0.0.1");
    }

    @Test
    void aPlainUrlForATlsPortGetsAHint() {
        RedisProcess redis = closeLater(TestTls.startRedis());
        // Redis reads the plain PING as a broken TLS handshake and answers nothing
        assertThatThrownBy(() -> node("redis://127.0.0.1:" + redis.tlsPort()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("Redis accepted the connection but did not answer PING within 15 s: is it paused, overloaded,"
                        + " or not Redis? (a port that takes TLS answers nothing to a redis:// URL: use rediss://)");
    }
}
