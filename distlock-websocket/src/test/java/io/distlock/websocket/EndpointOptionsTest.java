package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.distlock.core.Ticker;
import org.junit.jupiter.api.Test;

/** Defaults and validation: a bad setting is refused, never clamped. */
class EndpointOptionsTest {

    @Test
    void defaultsAreTheProtocols() {
        EndpointOptions o = EndpointOptions.defaults();
        assertThat(o.path()).isEqualTo("/distlock/lock");
        assertThat(o.allowedOrigins()).isEmpty();
        assertThat(o.allowMissingOrigin()).isTrue();
        assertThat(o.hideHolder()).isFalse();
        assertThat(o.maxFrameBytes()).isEqualTo(8192);
        assertThat(o.pingInterval()).isEqualTo(Duration.ofSeconds(15));
        assertThat(o.rateLimitPerSecond()).isEqualTo(200);
        assertThat(o.rateLimitBurst()).isEqualTo(400);
        assertThat(o.maxQueuedPushes()).isEqualTo(1000);
        assertThat(o.maxQueuedBytes()).isEqualTo(1L << 20);
        assertThat(o.maxConnections()).isEqualTo(10_000);
        assertThat(o.maxWatchedLocks()).isEqualTo(1000);
        assertThat(o.maxWatchedPrefixes()).isEqualTo(16);
        assertThat(o.askInterval()).isEqualTo(Duration.ofSeconds(10));
        long before = System.nanoTime();
        assertThat(o.ticker().read()).as("System.nanoTime by default").isBetween(before, System.nanoTime());
        assertThat(o.authorizer().mayLock(null, "x")).isTrue();
        HandshakeInfo anyone = new HandshakeInfo(Map.of(), Map.of(), null, null);
        assertThat(o.authenticator().authenticate(anyone)).isPresent();
    }

    @Test
    void settingsAreKeptAndCopied() {
        Ticker clock = () -> 42L;
        EndpointOptions o = EndpointOptions.builder()
                .path("/locks")
                .allowedOrigins(List.of("HTTP://Example.com:8080", "https://b.example"))
                .allowMissingOrigin(false)
                .hideHolder(true)
                .maxFrameBytes(256)
                .pingInterval(Duration.ofMillis(10))
                .rateLimit(1, 1)
                .maxQueuedPushes(1)
                .maxQueuedBytes(4096)
                .maxConnections(1)
                .maxWatchedLocks(3)
                .maxWatchedPrefixes(2)
                .askInterval(Duration.ofSeconds(1))
                .ticker(clock)
                .build();
        assertThat(o.ticker()).isSameAs(clock);
        assertThat(o.maxWatchedLocks()).isEqualTo(3);
        assertThat(o.maxWatchedPrefixes()).isEqualTo(2);
        assertThat(o.askInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(o.maxQueuedBytes()).isEqualTo(4096);
        assertThat(o.maxConnections()).isEqualTo(1);
        assertThat(o.allowedOrigins()).containsExactly("http://example.com:8080", "https://b.example");
        EndpointOptions copy = o.toBuilder().hideHolder(false).build();
        assertThat(copy.hideHolder()).isFalse();
        assertThat(copy.path()).isEqualTo("/locks");
        assertThat(copy.allowedOrigins()).isEqualTo(o.allowedOrigins());
        assertThat(copy.maxQueuedBytes()).isEqualTo(4096);
        assertThat(copy.maxConnections()).isEqualTo(1);
        assertThat(copy.ticker()).isSameAs(clock);
        assertThat(copy.maxWatchedLocks()).isEqualTo(3);
        assertThat(copy.maxWatchedPrefixes()).isEqualTo(2);
        assertThat(copy.askInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(o.toString()).contains("/locks", "maxQueuedBytes=4096", "maxConnections=1")
                .contains("same-origin+[http://example.com:8080, https://b.example]");
    }

    @Test
    void originsAreTheServersOwnByDefaultAndAnyWithAStar() {
        assertThat(EndpointOptions.defaults().toString()).contains("origins=same-origin,");
        EndpointOptions any = EndpointOptions.builder().allowedOrigins(List.of("*")).build();
        assertThat(any.allowedOrigins()).containsExactly("*");
        assertThat(any.toString()).contains("origins=any");
    }

    /** Found by review (2026-12-05): https://app.example.com:443 was kept as written and matched no browser's Origin. */
    @Test
    void anAllowedOriginIsKeptAsBrowsersSendIt() {
        EndpointOptions o = EndpointOptions.builder().allowedOrigins(List.of("https://app.example.com:443", "http://other.example:80",
                "wss://w.example:443", "http://x.example:0080", "https://y.example:8443", "http://[::1]:80", "http://[::1]")).build();
        assertThat(o.allowedOrigins()).containsExactly("https://app.example.com", "http://other.example", "wss://w.example",
                "http://x.example", "https://y.example:8443", "http://[::1]");
        assertThat(EndpointOptions.builder().allowedOrigins(List.of("https://a.example:80", "http://b.example:443")).build()
                .allowedOrigins()).as("another scheme's default port is a port").containsExactly("https://a.example:80", "http://b.example:443");
    }

    @Test
    void allowedHostsAreAnyByDefaultAndOtherwiseOnlyTheListedOnes() {
        assertThat(EndpointOptions.defaults().allowedHosts()).isEmpty();
        assertThat(EndpointOptions.defaults().isAllowedHost("attacker.example:8080")).as("any Host by default").isTrue();
        assertThat(EndpointOptions.defaults().isAllowedHost(null)).as("even none").isTrue();
        assertThat(EndpointOptions.defaults().toString()).contains("hosts=any");

        EndpointOptions o = EndpointOptions.builder()
                .allowedHosts(List.of("Locks.Example.com", "127.0.0.1:8080", "[::1]:9000", "intranet-node_1"))
                .build();
        assertThat(o.allowedHosts()).containsExactly("locks.example.com", "127.0.0.1:8080", "[::1]:9000", "intranet-node_1");
        assertThat(o.toBuilder().build().allowedHosts()).isEqualTo(o.allowedHosts());
        assertThat(o.toString()).contains("hosts=[locks.example.com, 127.0.0.1:8080, [::1]:9000, intranet-node_1]");
        // Without a port: that host on any port, or none.
        assertThat(o.isAllowedHost("locks.example.com")).isTrue();
        assertThat(o.isAllowedHost("LOCKS.example.COM:8443")).as("case-insensitive, any port").isTrue();
        assertThat(o.isAllowedHost(" locks.example.com:80 ")).isTrue();
        // With a port: that port only.
        assertThat(o.isAllowedHost("127.0.0.1:8080")).isTrue();
        assertThat(o.isAllowedHost("127.0.0.1:8081")).isFalse();
        assertThat(o.isAllowedHost("127.0.0.1")).isFalse();
        assertThat(o.isAllowedHost("[::1]:9000")).isTrue();
        assertThat(o.isAllowedHost("[::1]")).isFalse();
        // Others, and none.
        assertThat(o.isAllowedHost("attacker.example:8080")).isFalse();
        assertThat(o.isAllowedHost("locks.example.com.attacker.example")).as("suffix").isFalse();
        assertThat(o.isAllowedHost("evil.locks.example.com")).as("prefix").isFalse();
        assertThat(o.isAllowedHost(null)).as("no Host").isFalse();
        assertThat(o.isAllowedHost("")).isFalse();
        assertThat(o.isAllowedHost("locks.example.com:0")).as("not host[:port]").isFalse();
        assertThat(o.isAllowedHost("user@locks.example.com")).isFalse();
        // A port written with leading zeros means the same port.
        assertThat(EndpointOptions.builder().allowedHosts(List.of("example.com:0080")).build().isAllowedHost("example.com:80")).isTrue();
        // An empty list is any Host again.
        assertThat(o.toBuilder().allowedHosts(List.of()).build().isAllowedHost("attacker.example")).isTrue();
    }

    @Test
    void badAllowedHostsAreRefusedNamingTheSettingAndTheValue() {
        EndpointOptions.Builder b = EndpointOptions.builder();
        for (String bad : List.of("", " ", "a b", "http://a.example", "a.example/", "a.example/x", "a.example:", "a.example:0",
                "a.example:65536", "a.example:80x", ":80", "[::1", "[]:80", "[zz]:80", "::1", "*", "a.example:80:80", "user@a.example")) {
            assertThatThrownBy(() -> b.allowedHosts(List.of(bad))).as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("allowedHosts")
                    .hasMessageContaining("'" + bad + "'");
        }
        assertThatThrownBy(() -> b.allowedHosts(Arrays.asList("a.example", null))).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> b.allowedHosts(null)).isInstanceOf(NullPointerException.class);
        assertThat(b.allowedHosts(List.of("a.example:65535", "10.0.0.7", "[fd00::1]")).build().allowedHosts()).hasSize(3);
    }

    @Test
    void badSettingsAreRefusedWithTheirName() {
        EndpointOptions.Builder b = EndpointOptions.builder();
        assertThatThrownBy(() -> b.path("locks")).hasMessageContaining("path");
        assertThatThrownBy(() -> b.path("/a b")).hasMessageContaining("path");
        assertThatThrownBy(() -> b.maxFrameBytes(255)).hasMessageContaining("maxFrameBytes");
        assertThatThrownBy(() -> b.pingInterval(Duration.ofMillis(9))).hasMessageContaining("pingInterval");
        assertThatThrownBy(() -> b.rateLimit(0, 10)).hasMessageContaining("rate limit");
        assertThatThrownBy(() -> b.rateLimit(10, 0)).hasMessageContaining("burst");
        assertThatThrownBy(() -> b.maxQueuedPushes(0)).hasMessageContaining("maxQueuedPushes");
        assertThatThrownBy(() -> b.maxQueuedBytes(0)).hasMessageContaining("maxQueuedBytes");
        assertThatThrownBy(() -> b.maxConnections(0)).hasMessageContaining("maxConnections");
        // Room for the largest replies, which may be about ten times a request frame.
        assertThatThrownBy(() -> EndpointOptions.builder().maxQueuedBytes(16 * 8192 - 1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxQueuedBytes").hasMessageContaining("maxFrameBytes");
        assertThatThrownBy(() -> EndpointOptions.builder().maxFrameBytes(65537).build())
                .hasMessageContaining("maxQueuedBytes");
        assertThat(EndpointOptions.builder().maxQueuedBytes(16 * 8192).build().maxQueuedBytes()).isEqualTo(16 * 8192);
        assertThatThrownBy(() -> b.allowedOrigins(List.of("example.com"))).hasMessageContaining("origin");
        assertThatThrownBy(() -> b.allowedOrigins(List.of("http://example.com/"))).hasMessageContaining("origin");
        assertThatThrownBy(() -> b.allowedOrigins(Arrays.asList("http://a.example", null))).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> b.allowedOrigins(List.of("*", "http://a.example"))).hasMessageContaining("alone");
        // Found by review (2026-12-05): a pattern was accepted and matched no Origin, every page got 403.
        for (String pattern : new String[] {"https://*.example.com", "https://app.example.com:*", "*://app.example.com", "https://*"}) {
            assertThatThrownBy(() -> b.allowedOrigins(List.of(pattern))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + pattern + "'").hasMessageContaining("only a lone \"*\" (any origin) is supported");
        }
        assertThatThrownBy(() -> b.authenticator(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> b.authorizer(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> b.ticker(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> b.askInterval(null)).isInstanceOf(NullPointerException.class); // was IllegalArgumentException
        assertThat(b.build()).isNotNull();
    }

    @Test
    void handshakeHeadersAreCaseInsensitiveAndUnmodifiable() {
        HandshakeInfo info = new HandshakeInfo(Map.of("Cookie", List.of("a=1")), Map.of("token", List.of("t")), "token=t", null);
        assertThat(info.header("cookie")).isEqualTo("a=1");
        assertThat(info.headers().get("COOKIE")).containsExactly("a=1");
        assertThat(info.header("origin")).isNull();
        assertThatThrownBy(() -> info.headers().put("x", List.of())).isInstanceOf(UnsupportedOperationException.class);
        assertThat(Optional.ofNullable(info.parameters().get("token"))).contains(List.of("t"));
    }
}
