package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.List;

import org.junit.jupiter.api.Test;

/** {@link ClientAddress} and {@link AddressRange}: who a handshake counts for, with and without trusted proxies. */
class ClientAddressTest {

    private static final EndpointOptions NO_PROXY = EndpointOptions.defaults();
    private static final EndpointOptions PROXIES = EndpointOptions.builder().trustedProxies(List.of("10.0.0.0/8", "192.0.2.1")).build();

    private static InetAddress ip(String literal) {
        return ClientAddress.literal(literal);
    }

    @Test
    void ipv4CountsPerAddressAndIpv6PerSlash64() {
        assertThat(ClientAddress.key(ip("198.51.100.7"))).isEqualTo("198.51.100.7");
        assertThat(ClientAddress.key(ip("2001:db8:1:2:aaaa::1"))).isEqualTo("2001:db8:1:2::/64");
        assertThat(ClientAddress.key(ip("2001:db8:1:2:bbbb::9"))).isEqualTo("2001:db8:1:2::/64");
        assertThat(ClientAddress.key(ip("2001:db8:1:3::1"))).isEqualTo("2001:db8:1:3::/64");
        assertThat(ClientAddress.key(ip("::ffff:198.51.100.7"))).as("IPv4 written as IPv6").isEqualTo("198.51.100.7");
    }

    @Test
    void onlyLiteralsAreParsedNeverNames() {
        assertThat(ip("198.51.100.7:5678")).isEqualTo(ip("198.51.100.7"));
        assertThat(ip("[2001:db8::1]:443")).isEqualTo(ip("2001:db8::1"));
        assertThat(ip(" 2001:db8::1 ")).isNotNull();
        assertThat(ip("localhost")).as("a name is not looked up").isNull();
        assertThat(ip("example.com")).isNull();
        assertThat(ip("unknown")).isNull();
        assertThat(ip("999.1.1.1")).isNull();
        assertThat(ip("1.2.3")).isNull();
        assertThat(ip("")).isNull();
        assertThat(ip(null)).isNull();
    }

    @Test
    void anUntrustedPeersForwardedForIsIgnored() {
        assertThat(ClientAddress.resolve(ip("198.51.100.7"), List.of("203.0.113.9"), NO_PROXY)).isEqualTo("198.51.100.7");
        assertThat(ClientAddress.resolve(ip("198.51.100.7"), List.of("203.0.113.9"), PROXIES)).isEqualTo("198.51.100.7");
        assertThat(ClientAddress.resolve(null, List.of("203.0.113.9"), PROXIES)).as("peer unknown").isNull();
    }

    @Test
    void behindTrustedProxiesTheRightMostUntrustedHopIsTheClient() {
        assertThat(ClientAddress.resolve(ip("10.1.2.3"), List.of("203.0.113.9"), PROXIES)).isEqualTo("203.0.113.9");
        // what the client wrote itself (left) is never believed
        assertThat(ClientAddress.resolve(ip("10.1.2.3"), List.of("6.6.6.6, 203.0.113.9"), PROXIES)).isEqualTo("203.0.113.9");
        // two proxies: the outer one appended the client, the inner one the outer proxy
        assertThat(ClientAddress.resolve(ip("10.1.2.3"), List.of("6.6.6.6, 203.0.113.9, 192.0.2.1"), PROXIES)).isEqualTo("203.0.113.9");
        // the header repeated counts as one list
        assertThat(ClientAddress.resolve(ip("10.1.2.3"), List.of("6.6.6.6", "203.0.113.9:1234"), PROXIES)).isEqualTo("203.0.113.9");
        // every hop trusted: the left-most
        assertThat(ClientAddress.resolve(ip("10.1.2.3"), List.of("10.9.9.9, 192.0.2.1"), PROXIES)).isEqualTo("10.9.9.9");
        // a proxy that says nothing: the proxy itself
        assertThat(ClientAddress.resolve(ip("10.1.2.3"), List.of(), PROXIES)).isEqualTo("10.1.2.3");
        assertThat(ClientAddress.resolve(ip("10.1.2.3"), List.of(" , "), PROXIES)).isEqualTo("10.1.2.3");
        // a word instead of an address: the proxy's word, bounded
        assertThat(ClientAddress.resolve(ip("10.1.2.3"), List.of("6.6.6.6, Unknown"), PROXIES)).isEqualTo("forwarded:unknown");
        assertThat(ClientAddress.resolve(ip("10.1.2.3"), List.of("x".repeat(500)), PROXIES)).hasSize("forwarded:".length() + 64);
        assertThat(ClientAddress.resolve(ip("10.1.2.3"), List.of("2001:db8:1:2::77"), PROXIES)).isEqualTo("2001:db8:1:2::/64");
    }

    @Test
    void trustedProxiesAreAddressesOrNetworksNothingElse() {
        EndpointOptions options = EndpointOptions.builder()
                .trustedProxies(List.of("10.1.2.3", "172.16.0.0/12", "fd00::/8", "::1", "192.168.7.99/24")).build();
        assertThat(options.trustedProxies()).containsExactly("10.1.2.3", "172.16.0.0/12", "fd00:0:0:0:0:0:0:0/8", "0:0:0:0:0:0:0:1",
                "192.168.7.0/24");
        assertThat(options.isTrustedProxy(ip("10.1.2.3"))).isTrue();
        assertThat(options.isTrustedProxy(ip("10.1.2.4"))).isFalse();
        assertThat(options.isTrustedProxy(ip("172.31.255.255"))).isTrue();
        assertThat(options.isTrustedProxy(ip("172.32.0.0"))).isFalse();
        assertThat(options.isTrustedProxy(ip("fdab::1"))).isTrue();
        assertThat(options.isTrustedProxy(ip("fe00::1"))).isFalse();
        assertThat(options.isTrustedProxy(ip("::1"))).isTrue();
        assertThat(options.isTrustedProxy(ip("192.168.7.1"))).isTrue();
        assertThat(NO_PROXY.isTrustedProxy(ip("127.0.0.1"))).isFalse();

        for (String bad : List.of("proxy.example.com", "localhost", "10.0.0.1:80", "[::1]:80", "10.0.0.0/33", "fd00::/129",
                "10.0.0.0/x", "10.0.0.0/-1", "", "1.2.3")) {
            assertThatThrownBy(() -> EndpointOptions.builder().trustedProxies(List.of(bad)))
                    .as(bad).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'" + bad + "'");
        }
        assertThatThrownBy(() -> EndpointOptions.builder().trustedProxies(List.of("0.0.0.0/0")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("every address");
        assertThatThrownBy(() -> EndpointOptions.builder().maxConnectionsPerAddress(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxConnectionsPerAddress");
        assertThat(EndpointOptions.defaults().maxConnectionsPerAddress()).isEqualTo(256);
        assertThat(EndpointOptions.defaults().trustedProxies()).isEmpty();
    }
}
