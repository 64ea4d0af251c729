package io.distlock.websocket;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Which client a connection comes from, for {@link EndpointOptions#maxConnectionsPerAddress()}.
 *
 * <p>Connections count under a <em>key</em> ({@link #key}): an IPv4 address itself, and for an
 * IPv6 address its /64 network, since one host (or one home, one office) usually holds a whole
 * /64 and could otherwise open each connection from an address of its own.
 *
 * <p>The client's address is the TCP peer's. Only when the peer is a trusted proxy
 * ({@link EndpointOptions#trustedProxies()}) is {@code X-Forwarded-For} read, from the right:
 * each proxy appends the address it received the request from, so the right-most entry that is
 * not itself a trusted proxy is the first address no trusted party vouches for beyond, and
 * the client. Entries to its left are whatever the client chose to send, and are never used.
 * A header from a peer that is not a trusted proxy is ignored.
 *
 * <p>Addresses are parsed as literals only: nothing here ever asks DNS.
 */
public final class ClientAddress {

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]+");

    private ClientAddress() { }

    /**
     * The key under which connections from {@code address} are counted: the address for IPv4
     * ({@code 192.0.2.7}), the /64 network for IPv6 ({@code 2001:db8:1:2::/64}).
     */
    public static String key(InetAddress address) {
        if (address instanceof Inet6Address) {
            byte[] bytes = address.getAddress();
            StringBuilder key = new StringBuilder();
            for (int i = 0; i < 8; i += 2) {
                key.append(Integer.toHexString(((bytes[i] & 0xff) << 8) | (bytes[i + 1] & 0xff))).append(':');
            }
            return key.append(":/64").toString();
        }
        return address.getHostAddress();
    }

    /**
     * The key of the client of a handshake from {@code peer} that carried {@code forwardedFor}
     * (every {@code X-Forwarded-For} value, in order), or {@code null} if the peer is unknown
     * (a container that does not tell it). Public for a server that limits its other requests
     * per client as well (the runnable server's demo store).
     */
    public static String resolve(InetAddress peer, List<String> forwardedFor, EndpointOptions options) {
        if (peer == null) {
            return null;
        }
        if (!options.isTrustedProxy(peer) || forwardedFor == null || forwardedFor.isEmpty()) {
            return key(peer);
        }
        List<String> hops = new ArrayList<>();
        for (String value : forwardedFor) {
            if (value != null) {
                for (String hop : value.split(",")) {
                    if (!hop.isBlank()) {
                        hops.add(hop.trim());
                    }
                }
            }
        }
        InetAddress client = peer;
        for (int i = hops.size() - 1; i >= 0; i--) {
            InetAddress hop = literal(hops.get(i));
            if (hop == null) {
                // Not an address ("unknown", an obfuscated name): the proxy's word for the
                // client, the best key there is. Bounded, so a client cannot make it large.
                String text = hops.get(i).toLowerCase(Locale.ROOT);
                return "forwarded:" + (text.length() > 64 ? text.substring(0, 64) : text);
            }
            client = hop;
            if (!options.isTrustedProxy(hop)) {
                break;
            }
        }
        return key(client);
    }

    /**
     * An IP address literal, as a header or a container writes it: {@code 192.0.2.7},
     * {@code 192.0.2.7:5678}, {@code 2001:db8::1}, {@code [2001:db8::1]:5678}; {@code null} for
     * anything else. Never a DNS lookup: only text that can only be a literal is parsed.
     */
    static InetAddress literal(String text) {
        if (text == null) {
            return null;
        }
        String s = text.trim();
        if (s.startsWith("[")) {
            int end = s.indexOf(']');
            if (end < 0) {
                return null;
            }
            s = s.substring(1, end);
        } else if (s.indexOf(':') == s.lastIndexOf(':') && s.indexOf(':') > 0) {
            s = s.substring(0, s.indexOf(':')); // IPv4 with a port
        }
        int zone = s.indexOf('%');
        if (zone >= 0) {
            s = s.substring(0, zone);
        }
        boolean v4 = IPV4.matcher(s).matches();
        boolean v6 = !v4 && s.indexOf(':') >= 0 && IPV6.matcher(s).matches();
        if (!v4 && !v6) {
            return null;
        }
        try {
            InetAddress address = InetAddress.getByName(s); // a literal: parsed, not looked up
            return v4 && !(address instanceof Inet4Address) ? null : address;
        } catch (UnknownHostException e) {
            return null; // "999.1.1.1", ":::"
        }
    }
}
