package io.distlock.websocket;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Settings of a distlock WebSocket endpoint: its path, who may connect, and the limits of
 * each connection. Immutable; build with {@link #builder()}. Every setting is checked when
 * it is set: a bad value is refused with an exception, never silently clamped.
 *
 * <p>Lock and session limits (name lengths, locks per session, names per {@code mlock}, the
 * lease) are the {@link io.distlock.core.LockConfig} of the lock service.
 */
import io.distlock.core.Ticker;

public final class EndpointOptions {

    /** What the default authenticator returns: accepted, with no principal (null for the authorizer). */
    static final Object NO_PRINCIPAL = new Object() {
        @Override
        public String toString() {
            return "no principal";
        }
    };
    /** The one entry of {@link Builder#allowedOrigins} that allows every origin. */
    static final String ANY_ORIGIN = "*";
    private static final Authenticator ACCEPT_ALL = handshake -> Optional.of(NO_PRINCIPAL);
    private static final Authorizer ALLOW_ALL = (principal, lock) -> true;

    private final String path;
    private final Set<String> allowedOrigins;
    private final Set<String> allowedHosts;
    private final boolean allowMissingOrigin;
    private final Authenticator authenticator;
    private final Authorizer authorizer;
    private final boolean hideHolder;
    private final int maxFrameBytes;
    private final Duration pingInterval;
    private final int rateLimitPerSecond;
    private final int rateLimitBurst;
    private final int maxQueuedPushes;
    private final long maxQueuedBytes;
    private final int maxWatchedLocks;
    private final int maxWatchedPrefixes;
    private final Duration askInterval;
    private final int maxConnections;
    private final int maxConnectionsPerAddress;
    private final List<AddressRange> trustedProxies;
    private final Ticker ticker;

    private EndpointOptions(Builder b) {
        path = b.path;
        allowedOrigins = Collections.unmodifiableSet(new LinkedHashSet<>(b.allowedOrigins));
        allowedHosts = Collections.unmodifiableSet(new LinkedHashSet<>(b.allowedHosts));
        allowMissingOrigin = b.allowMissingOrigin;
        authenticator = b.authenticator;
        authorizer = b.authorizer;
        hideHolder = b.hideHolder;
        maxFrameBytes = b.maxFrameBytes;
        pingInterval = b.pingInterval;
        rateLimitPerSecond = b.rateLimitPerSecond;
        rateLimitBurst = b.rateLimitBurst;
        maxQueuedPushes = b.maxQueuedPushes;
        maxQueuedBytes = b.maxQueuedBytes;
        maxWatchedLocks = b.maxWatchedLocks;
        maxWatchedPrefixes = b.maxWatchedPrefixes;
        askInterval = b.askInterval;
        maxConnections = b.maxConnections;
        maxConnectionsPerAddress = b.maxConnectionsPerAddress;
        trustedProxies = List.copyOf(b.trustedProxies);
        ticker = b.ticker;
    }

    /**
     * The protocol's defaults: browsers from the server's own origin only (and clients that send
     * no {@code Origin}), no authentication, 8 KiB frames, 15 s pings, 200/s.
     */
    public static EndpointOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.path = path;
        b.allowedOrigins = new LinkedHashSet<>(allowedOrigins);
        b.allowedHosts = new LinkedHashSet<>(allowedHosts);
        b.allowMissingOrigin = allowMissingOrigin;
        b.authenticator = authenticator;
        b.authorizer = authorizer;
        b.hideHolder = hideHolder;
        b.maxFrameBytes = maxFrameBytes;
        b.pingInterval = pingInterval;
        b.rateLimitPerSecond = rateLimitPerSecond;
        b.rateLimitBurst = rateLimitBurst;
        b.maxQueuedPushes = maxQueuedPushes;
        b.maxQueuedBytes = maxQueuedBytes;
        b.maxWatchedLocks = maxWatchedLocks;
        b.maxWatchedPrefixes = maxWatchedPrefixes;
        b.askInterval = askInterval;
        b.maxConnections = maxConnections;
        b.maxConnectionsPerAddress = maxConnectionsPerAddress;
        b.trustedProxies = new ArrayList<>(trustedProxies);
        b.ticker = ticker;
        return b;
    }

    /** The endpoint's path in the container, e.g. {@code /distlock/lock}. */
    public String path() {
        return path;
    }

    /**
     * The {@code Origin}s allowed to connect besides the server's own, lower-case
     * ({@code scheme://host[:port]}); empty (the default) means the server's own origin only,
     * and {@code ["*"]} any origin. See {@link Builder#allowedOrigins}.
     */
    public Set<String> allowedOrigins() {
        return allowedOrigins;
    }

    /**
     * The {@code Host} header values a handshake may carry, lower-case ({@code host[:port]});
     * empty (the default) means any. See {@link Builder#allowedHosts}.
     */
    public Set<String> allowedHosts() {
        return allowedHosts;
    }

    /**
     * Whether a request with this {@code Host} header (null: none) passes {@link #allowedHosts()}:
     * always when the list is empty; otherwise when an entry names its host (case-insensitively)
     * and either has no port or the header's port. For an application's own HTTP handlers that
     * change state, to hold them to the endpoint's rule.
     */
    public boolean isAllowedHost(String host) {
        if (allowedHosts.isEmpty()) {
            return true;
        }
        SameOrigin.Authority authority = host == null ? null : listedHost(host.trim().toLowerCase(Locale.ROOT));
        if (authority == null) {
            return false; // no Host, or not host[:port]: a list was set, so nothing to match
        }
        return allowedHosts.contains(authority.host())
                || authority.port() > 0 && allowedHosts.contains(authority.host() + ":" + authority.port());
    }

    /** Whether a handshake without an {@code Origin} header (a non-browser client) is accepted. */
    public boolean allowMissingOrigin() {
        return allowMissingOrigin;
    }

    /** The authenticator; the default accepts everyone, and the authorizer then sees a null principal. */
    public Authenticator authenticator() {
        return authenticator;
    }

    public Authorizer authorizer() {
        return authorizer;
    }

    /**
     * Whether session names are kept from other sessions: {@code holder} and {@code holders} are
     * left out of {@code WAIT} and {@code QUEUED} replies, {@code name} and {@code info} out of the
     * entries of a lock's state ({@code query}, {@code watch}, {@code CHANGED}), {@code by} and
     * {@code info} out of {@code ASKED}, and {@code by} out of {@code LOST}.
     */
    public boolean hideHolder() {
        return hideHolder;
    }

    /** Largest frame (message) a client may send, in bytes; a larger one closes the connection with 1009. */
    public int maxFrameBytes() {
        return maxFrameBytes;
    }

    /**
     * How often the server pings each connection. Silence is judged at each ping tick: a connection
     * silent for two intervals is closed then, two to three intervals after its last frame.
     */
    public Duration pingInterval() {
        return pingInterval;
    }

    /** Requests per second a connection may send, sustained. */
    public int rateLimitPerSecond() {
        return rateLimitPerSecond;
    }

    /** Requests a connection may send at once, above the sustained rate. */
    public int rateLimitBurst() {
        return rateLimitBurst;
    }

    /**
     * Frames (replies and pushes) that may wait to be sent to one connection, counting the
     * replies to requests still in progress; past it the client is too slow (or sends without
     * reading), and the connection is closed with 1008 and its session released.
     */
    public int maxQueuedPushes() {
        return maxQueuedPushes;
    }

    /**
     * Bytes of frames (replies and pushes) that may wait to be sent to one connection; past
     * it the connection is closed with 1008 and its session released, as past
     * {@link #maxQueuedPushes()}. Both bounds hold: this one caps the memory a client that
     * does not read can hold (a reply echoes its names and escapes non-ASCII, so one may be
     * about ten times its request, some 70 KB with 8 KiB frames), while the frame count also
     * caps requests still being worked on, whose replies have no size yet.
     */
    public long maxQueuedBytes() {
        return maxQueuedBytes;
    }

    /** Lock names one connection may {@code watch} by name (version 2); past it {@code TOO_MANY_LOCKS}. */
    public int maxWatchedLocks() {
        return maxWatchedLocks;
    }

    /** Prefixes one connection may {@code watch} (version 2); past it {@code TOO_MANY_LOCKS}. */
    public int maxWatchedPrefixes() {
        return maxWatchedPrefixes;
    }

    /**
     * How often a session may {@code ask} for one lock (version 2), per connection; a second ask
     * sooner is refused with {@code RATE_LIMITED} and changes nothing. Counted on {@link #ticker()}.
     */
    public Duration askInterval() {
        return askInterval;
    }

    /**
     * Open connections this endpoint (this config) serves at most; past it a handshake is
     * refused with HTTP 503, before the authenticator is asked.
     */
    public int maxConnections() {
        return maxConnections;
    }

    /**
     * Open connections this endpoint serves at most from one client address (an IPv6 client's
     * /64 network, see {@link ClientAddress}); past it a handshake is refused with HTTP 429,
     * before the authenticator is asked. The client's address is the TCP peer's, or behind a
     * {@linkplain #trustedProxies() trusted proxy} the one it names in {@code X-Forwarded-For}.
     * In a container that does not tell the endpoint the peer's address (Tyrus and Jetty do),
     * this limit does not apply.
     */
    public int maxConnectionsPerAddress() {
        return maxConnectionsPerAddress;
    }

    /**
     * The reverse proxies (addresses, or networks like {@code 10.0.0.0/8}) whose
     * {@code X-Forwarded-For} header names the client, in canonical form; empty by default: the
     * header is then never read. See {@link ClientAddress}.
     */
    public List<String> trustedProxies() {
        return trustedProxies.stream().map(AddressRange::toString).toList();
    }

    /** Whether {@code address} is one of the {@link #trustedProxies()}. */
    public boolean isTrustedProxy(InetAddress address) {
        for (AddressRange range : trustedProxies) {
            if (range.contains(address)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The clock that pings, the silence rule, the rate limit, the request timer and the limit of
     * one {@code ask} per lock per 10 s read: the core's {@link Ticker}, {@link Ticker#system()} by
     * default.
     */
    public Ticker ticker() {
        return ticker;
    }

    @Override
    public String toString() {
        return "EndpointOptions{path=" + path + ", origins=" + describeOrigins()
                + ", hosts=" + (allowedHosts.isEmpty() ? "any" : allowedHosts)
                + ", allowMissingOrigin=" + allowMissingOrigin + ", hideHolder=" + hideHolder
                + ", maxFrameBytes=" + maxFrameBytes + ", pingInterval=" + pingInterval
                + ", rateLimit=" + rateLimitPerSecond + "/s burst " + rateLimitBurst
                + ", maxQueuedPushes=" + maxQueuedPushes + ", maxQueuedBytes=" + maxQueuedBytes
                + ", maxWatchedLocks=" + maxWatchedLocks + ", maxWatchedPrefixes=" + maxWatchedPrefixes
                + ", askInterval=" + askInterval
                + ", maxConnections=" + maxConnections + ", maxConnectionsPerAddress=" + maxConnectionsPerAddress
                + ", trustedProxies=" + trustedProxies + "}";
    }

    private String describeOrigins() {
        if (allowedOrigins.contains(ANY_ORIGIN)) {
            return "any";
        }
        return allowedOrigins.isEmpty() ? "same-origin" : "same-origin+" + allowedOrigins;
    }

    /**
     * {@code host[:port]} (lower-case) if it is one an allowed-hosts list may name, or null: the
     * host a name or IPv4 address (letters, digits, {@code .-_}) or an IPv6 literal in brackets;
     * the port -1 when none is given.
     */
    static SameOrigin.Authority listedHost(String s) {
        SameOrigin.Authority authority = SameOrigin.Authority.parse(s, -1);
        if (authority == null) {
            return null;
        }
        String host = authority.host();
        boolean valid = host.startsWith("[")
                ? host.length() >= 4 && host.substring(1, host.length() - 1).chars().allMatch(c -> c == ':' || c == '.' || Character.digit(c, 16) >= 0)
                : host.chars().allMatch(c -> c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_');
        return valid ? authority : null;
    }

    /** Builds {@link EndpointOptions}; starts from the defaults. Not thread-safe. */
    public static final class Builder {
        private String path = "/distlock/lock";
        private Set<String> allowedOrigins = new LinkedHashSet<>();
        private Set<String> allowedHosts = new LinkedHashSet<>();
        private boolean allowMissingOrigin = true;
        private Authenticator authenticator = ACCEPT_ALL;
        private Authorizer authorizer = ALLOW_ALL;
        private boolean hideHolder;
        private int maxFrameBytes = 8192;
        private Duration pingInterval = Duration.ofSeconds(15);
        private int rateLimitPerSecond = 200;
        private int rateLimitBurst = 400;
        private int maxQueuedPushes = 1000;
        private long maxQueuedBytes = 1L << 20;
        private int maxWatchedLocks = 1000;
        private int maxWatchedPrefixes = 16;
        private Duration askInterval = Duration.ofSeconds(10);
        private int maxConnections = 10_000;
        private int maxConnectionsPerAddress = 256;
        private List<AddressRange> trustedProxies = new ArrayList<>();
        private Ticker ticker = Ticker.system();

        private Builder() { }

        /** Default {@code /distlock/lock}. Must start with {@code /}. */
        public Builder path(String path) {
            Objects.requireNonNull(path, "path");
            if (!path.startsWith("/") || path.chars().anyMatch(c -> Character.isWhitespace(c) || Character.isISOControl(c))) {
                throw new IllegalArgumentException("path must start with '/' and contain no spaces or control characters: '" + path + "'");
            }
            this.path = path;
            return this;
        }

        /**
         * Browser origins allowed to connect besides the server's own, each
         * {@code scheme://host[:port]} as browsers send it (e.g. {@code https://app.example.com});
         * compared case-insensitively. Replaces any earlier list.
         *
         * <p>The server's own origin is always allowed: the {@code Origin}'s host and port equal
         * the {@code Host} header's (as Spring's {@code WebUtils.isSameOrigin}; a missing port is
         * the scheme's default, 80 or 443, and the scheme itself is not compared). Every other
         * origin is refused with HTTP 403 before the authenticator runs, so a page on another
         * site cannot open a connection with the user's cookies (Cross-Site WebSocket
         * Hijacking). List the origins a page reaches the endpoint from when they differ from
         * the endpoint's own: another host or port, or behind a proxy that changes the
         * {@code Host} header.
         *
         * <p>{@code List.of("*")}, alone, allows every origin: only for endpoints whose
         * authentication does not rest on what a browser sends by itself (cookies, HTTP auth,
         * client certificates). There are no patterns: an origin with a {@code *} in it
         * ({@code https://*.example.com}) is refused.
         *
         * @throws IllegalArgumentException for an origin that is not {@code scheme://host[:port]},
         *         holds a {@code *}, or a {@code "*"} that is not alone
         */
        public Builder allowedOrigins(Collection<String> origins) {
            Objects.requireNonNull(origins, "origins");
            Set<String> checked = new LinkedHashSet<>();
            for (String origin : origins) {
                checked.add(ANY_ORIGIN.equals(origin) ? ANY_ORIGIN : checkOrigin(origin));
            }
            if (checked.contains(ANY_ORIGIN) && checked.size() > 1) {
                throw new IllegalArgumentException("allowedOrigins: \"*\" allows every origin and must be alone, was " + checked);
            }
            this.allowedOrigins = checked;
            return this;
        }

        /**
         * Default none: any {@code Host}. Otherwise the only {@code Host} header values a
         * handshake is accepted with: each entry a host name, an IPv4 address or a bracketed IPv6
         * address ({@code [::1]}), optionally with {@code :port}; compared case-insensitively. An
         * entry without a port matches that host on any port; one with a port only a
         * {@code Host} that names that port (browsers leave out 80 and 443, so list such a
         * host without a port). Any other {@code Host}, or none, is refused with HTTP 403
         * before the origin check and the authenticator. Replaces any earlier list.
         *
         * <p>Against DNS rebinding: the same-origin rule compares the {@code Origin} with the
         * {@code Host}, and a page on {@code attacker.example:8080} whose name the attacker then
         * points at this server sends both as {@code attacker.example:8080}, so they match. Such
         * a browser carries no cookies of this server, so an endpoint whose authenticator reads
         * them is safe; one that accepts everyone (the default authenticator) and is reachable
         * from browsers should list the names it is reached by (behind a proxy that passes its
         * public {@code Host}, those names).
         *
         * @throws IllegalArgumentException naming {@code allowedHosts} and the entry, if one is
         *                                  empty or not {@code host[:port]} (a scheme, a path,
         *                                  spaces, a port outside 1-65535)
         */
        public Builder allowedHosts(Collection<String> hosts) {
            Objects.requireNonNull(hosts, "hosts");
            Set<String> checked = new LinkedHashSet<>();
            for (String host : hosts) {
                if (host == null) {
                    throw new NullPointerException("allowedHosts contains null");
                }
                SameOrigin.Authority listed = listedHost(host.toLowerCase(Locale.ROOT));
                if (listed == null) {
                    throw new IllegalArgumentException("allowedHosts: '" + host + "' is not a host name, an IPv4 address"
                            + " or a bracketed IPv6 address with an optional :port (no scheme, path or spaces)");
                }
                // As a Host header is compared: ":0080" would never match the ":80" it means.
                checked.add(listed.port() > 0 ? listed.host() + ":" + listed.port() : listed.host());
            }
            this.allowedHosts = checked;
            return this;
        }

        /**
         * Default {@code true}: clients that send no {@code Origin} may connect. Browsers always
         * send it on a WebSocket handshake, so a handshake without one is not a page of another
         * site (not Cross-Site WebSocket Hijacking) but a program: Java, Node, curl.
         */
        public Builder allowMissingOrigin(boolean allow) {
            this.allowMissingOrigin = allow;
            return this;
        }

        /** Default: everyone is accepted, with no principal. */
        public Builder authenticator(Authenticator authenticator) {
            this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
            return this;
        }

        /** Default: every lock is allowed. */
        public Builder authorizer(Authorizer authorizer) {
            this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
            return this;
        }

        /** Default {@code false}. */
        public Builder hideHolder(boolean hide) {
            this.hideHolder = hide;
            return this;
        }

        /** Default 8192; at least 256. */
        public Builder maxFrameBytes(int bytes) {
            if (bytes < 256) {
                throw new IllegalArgumentException("maxFrameBytes must be at least 256, was " + bytes);
            }
            this.maxFrameBytes = bytes;
            return this;
        }

        /** Default 15 s; at least 10 ms, at most a day. */
        public Builder pingInterval(Duration interval) {
            Objects.requireNonNull(interval, "interval");
            if (interval.compareTo(Duration.ofMillis(10)) < 0) {
                throw new IllegalArgumentException("pingInterval must be at least 10 ms, was " + interval.toMillis() + " ms");
            }
            if (interval.compareTo(Duration.ofDays(1)) > 0) { // in nanoseconds, later: a long holds 292 years
                throw new IllegalArgumentException("pingInterval must be at most a day, was " + interval.toMillis() + " ms");
            }
            this.pingInterval = interval;
            return this;
        }

        /** Default 200 per second, bursts of 400; both at least 1. */
        public Builder rateLimit(int perSecond, int burst) {
            if (perSecond < 1) {
                throw new IllegalArgumentException("rate limit must be at least 1 per second, was " + perSecond);
            }
            if (burst < 1) {
                throw new IllegalArgumentException("rate limit burst must be at least 1, was " + burst);
            }
            this.rateLimitPerSecond = perSecond;
            this.rateLimitBurst = burst;
            return this;
        }

        /** Default 1000; at least 1. */
        public Builder maxWatchedLocks(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxWatchedLocks must be at least 1, was " + max);
            }
            this.maxWatchedLocks = max;
            return this;
        }

        /** Default 16; at least 1. */
        public Builder maxWatchedPrefixes(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxWatchedPrefixes must be at least 1, was " + max);
            }
            this.maxWatchedPrefixes = max;
            return this;
        }

        /** Default 10 s; zero allows every ask; not negative. */
        public Builder askInterval(Duration interval) {
            if (Objects.requireNonNull(interval, "askInterval").isNegative()) {
                throw new IllegalArgumentException("askInterval must be zero or more, was " + interval);
            }
            this.askInterval = interval;
            return this;
        }

        /** Default 1000; at least 1. */
        public Builder maxQueuedPushes(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxQueuedPushes must be at least 1, was " + max);
            }
            this.maxQueuedPushes = max;
            return this;
        }

        /**
         * Default 1 MiB (1,048,576); at least 16 times {@link #maxFrameBytes(int)} (checked by
         * {@link #build()}), so that the largest reply fits a few times over. One lock's state
         * ({@code query}, {@code watch}, {@code CHANGED}) is cut to a 64th of it.
         */
        public Builder maxQueuedBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxQueuedBytes must be at least 1, was " + bytes);
            }
            this.maxQueuedBytes = bytes;
            return this;
        }

        /** Default 10,000; at least 1. */
        public Builder maxConnections(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxConnections must be at least 1, was " + max);
            }
            this.maxConnections = max;
            return this;
        }

        /**
         * Default 256; at least 1. Connections from one client address: enough for a household
         * or an office behind one NAT with many tabs open, far below what one attacker could
         * otherwise take of {@link #maxConnections(int)}.
         */
        public Builder maxConnectionsPerAddress(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxConnectionsPerAddress must be at least 1, was " + max);
            }
            this.maxConnectionsPerAddress = max;
            return this;
        }

        /**
         * Default none. The addresses or networks ({@code 10.0.0.7}, {@code 10.0.0.0/8},
         * {@code fd00::/8}; literals only, no host names) of the reverse proxies in front of the
         * endpoint. A handshake whose TCP peer is one of them counts for the client that the
         * right-most entry of {@code X-Forwarded-For} not itself a trusted proxy names; from
         * anyone else that header is ignored, since any client can send it. Replaces any earlier
         * list.
         *
         * @throws IllegalArgumentException naming the entry, if one is not an address or network,
         *                                  or is {@code /0} (which would trust everyone)
         */
        public Builder trustedProxies(Collection<String> proxies) {
            Objects.requireNonNull(proxies, "proxies");
            List<AddressRange> parsed = new ArrayList<>();
            for (String proxy : proxies) {
                parsed.add(AddressRange.parse(proxy));
            }
            this.trustedProxies = parsed;
            return this;
        }

        /**
         * Default {@link Ticker#system()}. The time source of pings, the silence rule (a
         * connection silent for two {@link #pingInterval ping intervals} by this clock is
         * closed), the rate limit and the request timer: a monotonic clock in nanoseconds.
         * Tests give one they move by hand; the ticks that read it still come every ping
         * interval.
         */
        public Builder ticker(Ticker ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /** @throws IllegalArgumentException if {@code maxQueuedBytes} is less than 16 times {@code maxFrameBytes} */
        public EndpointOptions build() {
            if (maxQueuedBytes < 16L * maxFrameBytes) {
                throw new IllegalArgumentException("maxQueuedBytes must be at least 16 times maxFrameBytes (" + 16L * maxFrameBytes
                        + "), room for the largest replies, was " + maxQueuedBytes);
            }
            return new EndpointOptions(this);
        }

        private static String checkOrigin(String origin) {
            if (origin == null) {
                throw new NullPointerException("allowedOrigins contains null");
            }
            if (origin.indexOf('*') >= 0) {
                // Found by review (2026-12-05): https://*.example.com was accepted and matched no Origin, every page got 403.
                throw new IllegalArgumentException("an allowed origin cannot hold a '*' pattern: '" + origin
                        + "'; only a lone \"*\" (any origin) is supported, otherwise list each origin as scheme://host[:port]");
            }
            int scheme = origin.indexOf("://");
            boolean ok = scheme > 0
                    && origin.length() > scheme + 3
                    && origin.indexOf('/', scheme + 3) < 0
                    && origin.chars().noneMatch(c -> Character.isWhitespace(c) || Character.isISOControl(c));
            if (!ok) {
                throw new IllegalArgumentException("an allowed origin must look like scheme://host[:port] with no path: '" + origin + "'");
            }
            return withoutDefaultPort(origin.toLowerCase(Locale.ROOT));
        }

        /**
         * {@code https://app.example.com:443} as browsers send it, {@code https://app.example.com}:
         * an {@code Origin} never carries its scheme's default port (found by review 2026-12-05:
         * such an entry matched no browser), nor leading zeros in one.
         */
        private static String withoutDefaultPort(String origin) {
            int colon = origin.lastIndexOf(':');
            int hostStart = origin.indexOf("://") + 3;
            if (colon < hostStart || origin.endsWith("]") || colon == origin.length() - 1) {
                return origin; // no port (an IPv6 literal's colons are inside its brackets)
            }
            String digits = origin.substring(colon + 1);
            if (!digits.chars().allMatch(c -> c >= '0' && c <= '9') || digits.length() > 9) {
                return origin;
            }
            int port = Integer.parseInt(digits);
            String scheme = origin.substring(0, hostStart - 3);
            boolean defaultPort = port == 80 && (scheme.equals("http") || scheme.equals("ws"))
                    || port == 443 && (scheme.equals("https") || scheme.equals("wss"));
            return origin.substring(0, colon) + (defaultPort ? "" : ":" + port);
        }
    }
}
