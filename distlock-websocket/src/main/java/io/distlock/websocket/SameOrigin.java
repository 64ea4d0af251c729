package io.distlock.websocket;

import java.util.Locale;

/**
 * Whether a handshake's {@code Origin} is the server's own origin, by the rule of Spring's
 * {@code WebUtils.isSameOrigin}: the origin's host and port equal those the browser connected
 * to, which it names in the {@code Host} header. Hosts compare without regard to case; a
 * missing port is the scheme's default (80 for {@code http}, 443 for {@code https}); IPv6
 * literals keep their brackets ({@code [::1]:8080}).
 *
 * <p>Unlike Spring, the scheme is not compared: a JSR-356 handshake does not portably tell
 * whether it came over TLS (and behind a proxy that ends TLS it did not). So a {@code Host}
 * without a port takes the default port of the origin's scheme, which can let a page from
 * {@code http://host} reach {@code wss://host} on the same host; listing the origins
 * explicitly is the way to exclude that.
 */
final class SameOrigin {

    private SameOrigin() { }

    /** True if {@code origin} ({@code scheme://host[:port]}) names the host and port of {@code host} ({@code host[:port]}). */
    static boolean matches(String origin, String host) {
        if (origin == null || host == null) {
            return false;
        }
        String o = origin.trim().toLowerCase(Locale.ROOT);
        int separator = o.indexOf("://");
        if (separator <= 0) {
            return false; // "null" (a sandboxed page, a file) and anything else that is not scheme://...
        }
        int defaultPort = defaultPort(o.substring(0, separator));
        Authority from = Authority.parse(o.substring(separator + 3), defaultPort);
        Authority to = Authority.parse(host.trim().toLowerCase(Locale.ROOT), defaultPort);
        return from != null && to != null && from.port() > 0 && from.equals(to);
    }

    private static int defaultPort(String scheme) {
        return switch (scheme) {
            case "http", "ws" -> 80;
            case "https", "wss" -> 443;
            default -> -1;
        };
    }

    /** A host (lower-case, IPv6 in brackets) and a port; -1 when neither given nor known from the scheme. */
    record Authority(String host, int port) {

        /** {@code host[:port]}, or null if it is not one: no user, path, query, spaces or stray colons. */
        static Authority parse(String s, int defaultPort) {
            String host;
            String rest;
            if (s.startsWith("[")) {
                int end = s.indexOf(']');
                if (end < 0) {
                    return null;
                }
                host = s.substring(0, end + 1);
                rest = s.substring(end + 1);
            } else {
                int colon = s.indexOf(':');
                host = colon < 0 ? s : s.substring(0, colon);
                rest = colon < 0 ? "" : s.substring(colon);
            }
            if (host.isEmpty() || host.chars().anyMatch(c -> c <= ' ' || "/?#@\\".indexOf(c) >= 0)) {
                return null;
            }
            if (rest.isEmpty()) {
                return new Authority(host, defaultPort);
            }
            String digits = rest.substring(1);
            if (!rest.startsWith(":") || digits.isEmpty() || digits.length() > 5 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return null;
            }
            int port = Integer.parseInt(digits);
            return port >= 1 && port <= 65_535 ? new Authority(host, port) : null;
        }
    }
}
