package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import io.distlock.websocket.EndpointOptions;

import org.junit.jupiter.api.Test;

class ServerOptionsTest {

    @Test
    void defaultsAreThoseOfTheCommandLine() {
        ServerOptions o = ServerOptions.defaults();
        assertThat(o.host()).isEqualTo("0.0.0.0");
        assertThat(o.port()).isEqualTo(8080);
        assertThat(o.path()).isEqualTo("/distlock/lock");
        assertThat(o.lease()).isEqualTo(Duration.ofSeconds(10));
        assertThat(o.keyPrefix()).isEqualTo("distlock");
        assertThat(o.embeddedRedis()).isTrue();
        assertThat(o.hideHolder()).isFalse();
        assertThat(o.allowSteal()).as("steal is refused unless asked for").isFalse();
        assertThat(o.dataLossQuarantine()).isTrue();
        assertThat(o.allowedOrigins()).isEmpty();
        assertThat(o.allowedHosts()).as("any Host").isEmpty();
        assertThat(o.rateLimit()).isEqualTo(200);
        assertThat(o.replicaSync()).isEqualTo(Duration.ofSeconds(1));
        assertThat(o.pingInterval()).isEqualTo(Duration.ofSeconds(15));
        assertThat(o.maxConnections()).isEqualTo(10_000);
        assertThat(o.maxQueuedBytes()).isEqualTo(1L << 20);
        assertThat(o.httpTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(o.maxConnectionsPerAddress()).isEqualTo(256);
        assertThat(o.trustedProxies()).isEmpty();
        assertThat(o.demo()).as("the demo page and its store are served").isTrue();
    }

    @Test
    void connectionAndQueueLimitsAreTheEndpointsUnlessSet() {
        EndpointOptions endpoint = EndpointOptions.defaults();
        assertThat(ServerOptions.defaults().maxConnections()).isEqualTo(endpoint.maxConnections());
        assertThat(ServerOptions.defaults().maxQueuedBytes()).isEqualTo(endpoint.maxQueuedBytes());

        ServerOptions o = ServerOptions.builder().maxConnections(1).maxQueuedBytes(131_072).build();
        assertThat(o.maxConnections()).isEqualTo(1);
        assertThat(o.maxQueuedBytes()).isEqualTo(131_072);
        assertThat(o.toString()).contains("maxConnections=1", "maxQueuedBytes=131072");
        assertThat(ServerOptions.defaults().maxConnectionsPerAddress()).isEqualTo(endpoint.maxConnectionsPerAddress());
    }

    @Test
    void trustedProxiesAreCheckedByTheEndpointAndKeptInItsForm() {
        ServerOptions o = ServerOptions.builder().trustedProxies(List.of("10.0.0.0/8", "192.0.2.7", "10.1.2.3/16")).build();
        assertThat(o.trustedProxies()).containsExactly("10.0.0.0/8", "192.0.2.7", "10.1.0.0/16");
        assertThat(o.toString()).contains("trustedProxies=[10.0.0.0/8, 192.0.2.7, 10.1.0.0/16]");
        assertThatThrownBy(() -> ServerOptions.builder().trustedProxies(List.of("proxy.example.com")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("trusted proxy");
        assertThatThrownBy(() -> ServerOptions.builder().trustedProxies(List.of("0.0.0.0/0")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("every address");
    }

    @Test
    void aWildcardHostListensEverywhere() {
        assertThat(ServerOptions.defaults().listensEverywhere()).isTrue();
        assertThat(ServerOptions.builder().host("::").build().listensEverywhere()).isTrue();
        assertThat(ServerOptions.builder().host("127.0.0.1").build().listensEverywhere()).isFalse();
    }

    @Test
    void originsAreKeptAsGivenAndAStarAllowsAny() {
        ServerOptions o = ServerOptions.builder().allowedOrigins(List.of("https://app.example.com", "http://localhost:3000")).build();
        assertThat(o.allowedOrigins()).containsExactly("https://app.example.com", "http://localhost:3000");
        assertThat(ServerOptions.builder().allowedOrigins(List.of("*")).build().allowedOrigins()).containsExactly("*");
        assertThatThrownBy(() -> ServerOptions.builder().allowedOrigins(List.of("*", "https://app.example.com")))
                .hasMessageContaining("alone");
    }

    @Test
    void allowedHostsAreKeptAsGivenAndCheckedByTheEndpointsRule() {
        ServerOptions o = ServerOptions.builder().allowedHosts(List.of("Locks.example.com", "10.0.0.7:8080", "[::1]")).build();
        assertThat(o.allowedHosts()).containsExactly("Locks.example.com", "10.0.0.7:8080", "[::1]");
        assertThat(o.toString()).contains("allowedHosts=[Locks.example.com, 10.0.0.7:8080, [::1]]");
        for (String bad : List.of("", "http://locks.example.com", "locks.example.com/x", "locks.example.com:0", "a b")) {
            assertThatThrownBy(() -> ServerOptions.builder().allowedHosts(List.of(bad))).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("allowed host '" + bad + "' is not a host name");
        }
    }

    /** Found by review (2026-12-07): java.net.URI takes no host with an '_', which Redisson and browsers take. */
    @Test
    void hostNamesWithAnUnderscoreAreTaken() {
        assertThat(ServerOptions.builder().redisUrl("redis://redis_cache:6379").build().redisUrl()).isEqualTo("redis://redis_cache:6379");
        assertThat(ServerOptions.builder().redisUrl("rediss://:secret@my_redis.internal:6380").build().redisUrl())
                .isEqualTo("rediss://:secret@my_redis.internal:6380");
        assertThatThrownBy(() -> ServerOptions.builder().redisUrl("redis://redis_cache")).hasMessageContaining("has no port");
        assertThatThrownBy(() -> ServerOptions.builder().redisUrl("redis://redis_cache:99999")).hasMessageContaining("must look like");
        assertThatThrownBy(() -> ServerOptions.builder().redisUrl("redis://redis cache:6379")).hasMessageContaining("must look like");
        assertThat(ServerOptions.builder().allowedOrigins(List.of("http://my_app:3000")).build().allowedOrigins())
                .containsExactly("http://my_app:3000");
        assertThatThrownBy(() -> ServerOptions.builder().allowedOrigins(List.of("http://my_app:3000/page"))).hasMessageContaining("origin");
        assertThatThrownBy(() -> ServerOptions.builder().allowedOrigins(List.of("http://user@my_app:3000"))).hasMessageContaining("origin");
    }

    @Test
    void badSettingsAreRefusedNamingTheSetting() {
        assertThatThrownBy(() -> ServerOptions.builder().port(70_000)).hasMessageContaining("port");
        assertThatThrownBy(() -> ServerOptions.builder().port(-1)).hasMessageContaining("port");
        assertThatThrownBy(() -> ServerOptions.builder().path("distlock")).hasMessageContaining("path");
        assertThatThrownBy(() -> ServerOptions.builder().path("/a\"b")).hasMessageContaining("path");
        assertThatThrownBy(() -> ServerOptions.builder().lease(Duration.ofMillis(299))).hasMessageContaining("lease");
        assertThatThrownBy(() -> ServerOptions.builder().lease(Duration.ofMillis(86_400_001))).hasMessageContaining("at most a day");
        assertThat(ServerOptions.builder().lease(Duration.ofDays(1)).build().lease()).isEqualTo(Duration.ofDays(1));
        assertThatThrownBy(() -> ServerOptions.builder().allowedOrigins(List.of("https://app.example.com/page")))
                .hasMessageContaining("origin");
        assertThatThrownBy(() -> ServerOptions.builder().allowedOrigins(List.of("app.example.com")))
                .hasMessageContaining("origin");
        assertThatThrownBy(() -> ServerOptions.builder().redisUrl("http://localhost:6379")).hasMessageContaining("Redis URL");
        assertThatThrownBy(() -> ServerOptions.builder().redisUrl("redis://localhost")).hasMessageContaining("Redis URL");
        // Found by review (2026-12-05): Redisson ignored the database, so /5 shared database 0's keys.
        assertThatThrownBy(() -> ServerOptions.builder().redisUrl("redis://localhost:6379/5"))
                .hasMessage("Redis URL names database 5 (/5), which Redisson would ignore: distlock keeps its keys in database 0 "
                        + "(no path, or /0); tell applications on one Redis apart by their key prefix");
        assertThatThrownBy(() -> ServerOptions.builder().redisUrl("redis://:secret@localhost:6379/5")).hasMessageNotContaining("secret");
        assertThatThrownBy(() -> ServerOptions.builder().redisUrl("redis://localhost:6379?db=5")).hasMessageContaining("key prefix");
        // Found by review (2026-12-07): a Redisson setting as an option was told that distlock keeps its keys in database 0.
        assertThatThrownBy(() -> ServerOptions.builder().redisUrl("redis://localhost:6379?timeout=5"))
                .hasMessageContaining("which Redisson would ignore").hasMessageContaining("--redis-config")
                .hasMessageNotContaining("database");
        assertThat(ServerOptions.builder().redisUrl("redis://localhost:6379/").build().redisUrl()).isEqualTo("redis://localhost:6379/");
        assertThatThrownBy(() -> ServerOptions.builder().pingInterval(Duration.ofMillis(86_400_001)))
                .hasMessage("ping interval must be at most a day (86400000 ms), was 86400001 ms");
        assertThat(ServerOptions.builder().pingInterval(Duration.ofDays(1)).build().pingInterval()).isEqualTo(Duration.ofDays(1));
        assertThatThrownBy(() -> ServerOptions.builder().keyPrefix("a b")).hasMessageContaining("key prefix");
        assertThatThrownBy(() -> ServerOptions.builder().host("")).hasMessageContaining("host");
        assertThatThrownBy(() -> ServerOptions.builder().rateLimit(0)).hasMessageContaining("rate limit");
        assertThatThrownBy(() -> ServerOptions.builder().replicaSync(Duration.ofMillis(-1))).hasMessageContaining("replica sync");
        assertThatThrownBy(() -> ServerOptions.builder().lease(Duration.ofSeconds(2)).replicaSync(Duration.ofSeconds(1)).build())
                .hasMessageContaining("replica sync");
        assertThatThrownBy(() -> ServerOptions.builder().pingInterval(Duration.ofMillis(9))).hasMessageContaining("ping interval");
        assertThatThrownBy(() -> ServerOptions.builder().maxConnections(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("max connections must be at least 1, was 0");
        assertThatThrownBy(() -> ServerOptions.builder().maxQueuedBytes(131_071))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("max queued bytes must be at least 131072 (16 frames of 8192 bytes), was 131071");
        assertThatThrownBy(() -> ServerOptions.builder().maxQueuedBytes(0)).hasMessageContaining("max queued bytes");
        assertThatThrownBy(() -> ServerOptions.builder().httpTimeout(Duration.ofMillis(99)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("HTTP timeout must be at least 100 ms, was 99 ms");
        assertThatThrownBy(() -> ServerOptions.builder().maxConnectionsPerAddress(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("max connections per address must be at least 1, was 0");
        assertThatThrownBy(() -> ServerOptions.builder().redisUrl("redis://127.0.0.1:6379").redisConfig(Path.of("r.yaml")).build())
                .hasMessageContaining("not both");
    }

    @Test
    void acceptsRedisUrlsWithTlsAndCredentials() {
        assertThat(ServerOptions.builder().redisUrl("rediss://user:secret@redis.example.com:6380").build().embeddedRedis()).isFalse();
    }

    @Test
    void passwordsNeverReachTextMeantForPeople() {
        assertThat(Redact.url("redis://user:secret@host:6379")).isEqualTo("redis://user:***@host:6379");
        assertThat(Redact.url("redis://:secret@host:6379")).isEqualTo("redis://:***@host:6379");
        assertThat(Redact.url("redis://host:6379")).isEqualTo("redis://host:6379");
        // A scheme forgotten or mistyped: the error that quotes the URL must not show the password either.
        for (String mistyped : List.of("user:s3cret@db.example:6379", "redis:/:s3cret@host:6379", "redis//:s3cret@host:6379",
                "redis::s3cret@host:6379", "s3cret@host:6379")) {
            assertThat(Redact.url(mistyped)).as(mistyped).doesNotContain("s3cret").endsWith("@" + mistyped.substring(mistyped.lastIndexOf('@') + 1));
        }
        ServerOptions o = ServerOptions.builder().redisUrl("redis://user:secret@host:6379").build();
        assertThat(o.toString()).doesNotContain("secret");
        assertThatThrownBy(() -> ServerOptions.builder().redisUrl("redis://user:secret@host"))
                .hasMessageStartingWith("Redis URL has no port").hasMessageNotContaining("secret");
        assertThatThrownBy(() -> ServerOptions.builder().redisUrl("redis://host"))
                .hasMessageStartingWith("Redis URL has no port: write it, redis://host:6379");
        assertThatThrownBy(() -> ServerOptions.builder().redisUrl("user:s3cret@db.example:6379"))
                .hasMessageContaining("redis://host:port").hasMessageNotContaining("s3cret");
    }

    @Test
    void toBuilderKeepsEverySetting() {
        ServerOptions o = ServerOptions.builder().host("127.0.0.1").port(0).redisUrl("redis://127.0.0.1:1234")
                .path("/locks").lease(Duration.ofMillis(500)).allowedOrigins(List.of("http://a:1")).allowedHosts(List.of("a:1"))
                .hideHolder(true).allowSteal(true).keyPrefix("app1").rateLimit(5000).replicaSync(Duration.ZERO)
                .pingInterval(Duration.ofSeconds(3)).maxConnections(50).maxQueuedBytes(200_000)
                .httpTimeout(Duration.ofSeconds(3)).maxConnectionsPerAddress(7).trustedProxies(List.of("10.0.0.0/8")).demo(false).build();
        assertThat(o.toString()).contains("demo=false");
        assertThat(o.toBuilder().build()).usingRecursiveComparison().isEqualTo(o);
    }

    @Test
    void theServersAuthorizerLetsEveryoneLockAndStealOnlyWithAllowSteal() {
        for (boolean allowSteal : new boolean[] {false, true}) {
            io.distlock.websocket.Authorizer authorizer = DistLockServer.authorizer(allowSteal);
            for (io.distlock.websocket.Authorizer.Operation operation : io.distlock.websocket.Authorizer.Operation.values()) {
                boolean expected = operation != io.distlock.websocket.Authorizer.Operation.STEAL || allowSteal;
                assertThat(authorizer.mayLock(null, "doc-42", operation, io.distlock.core.LockMode.EXCLUSIVE))
                        .as("%s with allowSteal %s", operation, allowSteal).isEqualTo(expected);
            }
        }
    }
}
