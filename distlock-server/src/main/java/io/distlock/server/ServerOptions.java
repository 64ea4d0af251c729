package io.distlock.server;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.websocket.EndpointOptions;

/**
 * Settings of a {@link DistLockServer}: the command line's options as a value. Immutable;
 * build with {@link #builder()}. Every setting is checked when it is set and a bad one is
 * refused with {@link IllegalArgumentException} naming it; nothing is silently clamped.
 *
 * <p>Redis: {@link #redisUrl()} (one server), or {@link #redisConfig()} (a Redisson YAML file,
 * for Sentinel or Cluster), or neither: then the server starts an embedded {@code redis-server}.
 *
 * <p>Long by count, not by logic: one field, getter, builder method and check per option.
 */
public final class ServerOptions {

    /** The wildcard addresses: a server bound to one of them listens on every interface. */
    private static final Set<String> WILDCARD_HOSTS = Set.of("0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0");

    private final String host;
    private final int port;
    private final String redisUrl;
    private final Path redisConfig;
    private final String path;
    private final Duration lease;
    private final List<String> allowedOrigins;
    private final List<String> allowedHosts;
    private final boolean hideHolder;
    private final boolean allowSteal;
    private final boolean dataLossQuarantine;
    private final boolean watching;
    private final String keyPrefix;
    private final int rateLimit;
    /** As set; {@code null} for the core's default, which follows the lease. */
    private final Duration replicaSync;
    private final Duration pingInterval;
    private final int maxConnections;
    private final long maxQueuedBytes;
    private final Duration httpTimeout;
    private final int maxRequestHeadBytes;
    private final int maxConnectionsPerAddress;
    private final List<String> trustedProxies;
    private final boolean demo;

    private ServerOptions(Builder b) {
        host = b.host;
        port = b.port;
        redisUrl = b.redisUrl;
        redisConfig = b.redisConfig;
        path = b.path;
        lease = b.lease;
        allowedOrigins = List.copyOf(b.allowedOrigins);
        allowedHosts = List.copyOf(b.allowedHosts);
        hideHolder = b.hideHolder;
        allowSteal = b.allowSteal;
        dataLossQuarantine = b.dataLossQuarantine;
        watching = b.watching;
        keyPrefix = b.keyPrefix;
        rateLimit = b.rateLimit;
        replicaSync = b.replicaSync;
        pingInterval = b.pingInterval;
        maxConnections = b.maxConnections;
        maxQueuedBytes = b.maxQueuedBytes;
        httpTimeout = b.httpTimeout;
        maxRequestHeadBytes = b.maxRequestHeadBytes;
        maxConnectionsPerAddress = b.maxConnectionsPerAddress;
        trustedProxies = List.copyOf(b.trustedProxies);
        demo = b.demo;
    }

    public static ServerOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The address to listen on; default {@code 0.0.0.0} (every interface). */
    public String host() {
        return host;
    }

    /** The HTTP and WebSocket port; default 8080; 0 picks a free port ({@link DistLockServer#port()} tells which). */
    public int port() {
        return port;
    }

    /** {@code redis://host:port} or {@code rediss://host:port} of an existing Redis, or null. */
    public String redisUrl() {
        return redisUrl;
    }

    /** A Redisson YAML configuration file (single server, Sentinel, Cluster...), or null. */
    public Path redisConfig() {
        return redisConfig;
    }

    /** True when neither a Redis URL nor a Redisson file is given: the server runs its own Redis. */
    public boolean embeddedRedis() {
        return redisUrl == null && redisConfig == null;
    }

    /** The WebSocket endpoint's path; default {@code /distlock/lock}. */
    public String path() {
        return path;
    }

    /** The lease of the locks this node holds; default 10 s. */
    public Duration lease() {
        return lease;
    }

    /**
     * Browser origins allowed to open a WebSocket besides the server's own (the page's, same
     * host and port as the {@code Host} the browser connected to), as given; {@code ["*"]}
     * allows any. See {@link EndpointOptions.Builder#allowedOrigins}.
     */
    public List<String> allowedOrigins() {
        return allowedOrigins;
    }

    /**
     * The {@code Host} header values the WebSocket handshake and the demo store's {@code PUT}
     * accept ({@code host[:port]}; without a port, any port), as given; empty (the default)
     * accepts any. Against DNS rebinding. See {@link EndpointOptions.Builder#allowedHosts}.
     */
    public List<String> allowedHosts() {
        return allowedHosts;
    }

    /** True when the host is a wildcard address ({@code 0.0.0.0}, {@code ::}). */
    public boolean listensEverywhere() {
        return WILDCARD_HOSTS.contains(host);
    }

    /** Whether {@code WAIT} replies leave out the holder's name. */
    public boolean hideHolder() {
        return hideHolder;
    }

    /**
     * Whether a session may take a lock over from its holders ({@code steal}; the holders are
     * told {@code LOST} with reason {@code stolen}). Default false: the endpoint's authorizer
     * refuses {@code steal} with {@code UNAUTHORIZED}.
     */
    public boolean allowSteal() {
        return allowSteal;
    }

    /**
     * Whether grants wait out a lease after Redis lost its data ({@link LockConfig#dataLossQuarantine()});
     * default true.
     */
    public boolean dataLossQuarantine() {
        return dataLossQuarantine;
    }

    /**
     * Whether locks can be watched ({@link LockConfig#watching()}); default true. Off, {@code watch}
     * is refused with {@code UNAUTHORIZED} and the demo page's board does not update.
     */
    public boolean watching() {
        return watching;
    }

    /**
     * Whether the node serves the demo: the board page at {@code /}, its files under {@code /demo/}
     * and its store {@code /demo/docs}; default true. Off ({@code --no-demo}), those paths answer
     * 404 and {@code /} a short page naming the node and its WebSocket endpoint.
     */
    public boolean demo() {
        return demo;
    }

    /** Prefix of every Redis key and channel; default {@code distlock}. */
    public String keyPrefix() {
        return keyPrefix;
    }

    /** Requests per second one connection may send, sustained (bursts of twice as many); default 200. */
    public int rateLimit() {
        return rateLimit;
    }

    /**
     * How long a lock grant waits for a Redis replica to confirm it
     * ({@link LockConfig#replicaSync()}); zero when off. Default: the core's, 1 s or a third of
     * the lease if that is less.
     */
    public Duration replicaSync() {
        return replicaSync != null ? replicaSync : LockConfig.builder().lease(lease).build().replicaSync();
    }

    /**
     * How often the endpoint pings each connection; one silent for two intervals is closed.
     * Default: the endpoint's, 15 s.
     */
    public Duration pingInterval() {
        return pingInterval;
    }

    /**
     * Open WebSocket connections the endpoint serves at most; past it a handshake gets HTTP 503.
     * Default: the endpoint's, 10,000. See {@link EndpointOptions#maxConnections()}.
     */
    public int maxConnections() {
        return maxConnections;
    }

    /**
     * Bytes of frames that may wait to be sent to one connection; past it the connection is
     * closed with 1008. Times {@link #maxConnections()}, it bounds the memory clients that stop
     * reading can hold. Default: the endpoint's, 1 MiB. See {@link EndpointOptions#maxQueuedBytes()}.
     */
    public long maxQueuedBytes() {
        return maxQueuedBytes;
    }

    /**
     * How long a connection may take to complete an HTTP request head (a WebSocket upgrade, a
     * page, {@code /metrics}), counted from its opening or from the previous response; past it
     * the connection is closed. Upgraded WebSockets are exempt (the endpoint's pings watch them).
     * Default 10 s.
     */
    public Duration httpTimeout() {
        return httpTimeout;
    }

    /**
     * The largest HTTP request head (request line and headers) served, in bytes; a larger one,
     * or one of more than 100 headers, is answered {@code 431 Request Header Fields Too Large}
     * and its connection closed. A browser sends its cookies for the host with every request,
     * the WebSocket handshake included, so a site with large cookies may need more. A connection
     * holds up to this much while its head arrives. Default 8192, as Tomcat's and Jetty's.
     */
    public int maxRequestHeadBytes() {
        return maxRequestHeadBytes;
    }

    /**
     * Connections one client address may hold open (an IPv6 client's /64): TCP connections of
     * any kind, refused at accept, and WebSocket connections, refused with HTTP 429 (where the
     * client's address comes from a trusted proxy's {@code X-Forwarded-For}). Default: the
     * endpoint's, 256. See {@link EndpointOptions#maxConnectionsPerAddress()}.
     */
    public int maxConnectionsPerAddress() {
        return maxConnectionsPerAddress;
    }

    /**
     * Reverse proxies (addresses or networks) whose {@code X-Forwarded-For} names the client,
     * in canonical form; their own connections are not capped per address. Default none. See
     * {@link EndpointOptions#trustedProxies()}.
     */
    public List<String> trustedProxies() {
        return trustedProxies;
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.host = host;
        b.port = port;
        b.redisUrl = redisUrl;
        b.redisConfig = redisConfig;
        b.path = path;
        b.lease = lease;
        b.allowedOrigins = new ArrayList<>(allowedOrigins);
        b.allowedHosts = new ArrayList<>(allowedHosts);
        b.hideHolder = hideHolder;
        b.allowSteal = allowSteal;
        b.dataLossQuarantine = dataLossQuarantine;
        b.watching = watching;
        b.keyPrefix = keyPrefix;
        b.rateLimit = rateLimit;
        b.replicaSync = replicaSync;
        b.pingInterval = pingInterval;
        b.maxConnections = maxConnections;
        b.maxQueuedBytes = maxQueuedBytes;
        b.httpTimeout = httpTimeout;
        b.maxRequestHeadBytes = maxRequestHeadBytes;
        b.maxConnectionsPerAddress = maxConnectionsPerAddress;
        b.trustedProxies = new ArrayList<>(trustedProxies);
        b.demo = demo;
        return b;
    }

    @Override
    public String toString() {
        return "ServerOptions{host=" + host + ", port=" + port + ", redisUrl=" + Redact.url(redisUrl)
                + ", redisConfig=" + redisConfig + ", path=" + path + ", lease=" + lease
                + ", allowedOrigins=" + allowedOrigins + ", allowedHosts=" + allowedHosts + ", hideHolder=" + hideHolder + ", allowSteal=" + allowSteal + ", dataLossQuarantine=" + dataLossQuarantine + ", watching=" + watching + ", keyPrefix=" + keyPrefix + ", rateLimit=" + rateLimit
                + ", replicaSync=" + replicaSync() + ", pingInterval=" + pingInterval
                + ", maxConnections=" + maxConnections + ", maxQueuedBytes=" + maxQueuedBytes
                + ", httpTimeout=" + httpTimeout + ", maxRequestHeadBytes=" + maxRequestHeadBytes + ", maxConnectionsPerAddress=" + maxConnectionsPerAddress
                + ", trustedProxies=" + trustedProxies + ", demo=" + demo + "}";
    }

    /** A host as it is written in a URL: IPv6 literals in brackets. */
    static String hostForUrl(String host) {
        return host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    /** Builds {@link ServerOptions}; starts from the defaults. */
    public static final class Builder {
        private String host = "0.0.0.0";
        private int port = 8080;
        private String redisUrl;
        private Path redisConfig;
        private String path = "/distlock/lock";
        private Duration lease = Duration.ofSeconds(10);
        private List<String> allowedOrigins = new ArrayList<>();
        private List<String> allowedHosts = new ArrayList<>();
        private boolean hideHolder;
        private boolean allowSteal;
        private boolean dataLossQuarantine = true;
        private boolean watching = true;
        private String keyPrefix = "distlock";
        private int rateLimit = 200;
        private Duration replicaSync;
        private Duration pingInterval = EndpointOptions.defaults().pingInterval();
        private int maxConnections = EndpointOptions.defaults().maxConnections();
        private long maxQueuedBytes = EndpointOptions.defaults().maxQueuedBytes();
        private Duration httpTimeout = Duration.ofSeconds(10);
        private int maxRequestHeadBytes = 8192;
        private int maxConnectionsPerAddress = EndpointOptions.defaults().maxConnectionsPerAddress();
        private List<String> trustedProxies = new ArrayList<>();
        private boolean demo = true;

        private Builder() { }

        public Builder host(String host) {
            Objects.requireNonNull(host, "host");
            if (host.isBlank() || host.chars().anyMatch(c -> c <= ' ' || c == '/')) {
                throw new IllegalArgumentException("host must be a host name or address, was '" + host + "'");
            }
            this.host = host;
            return this;
        }

        public Builder port(int port) {
            if (port < 0 || port > 65_535) {
                throw new IllegalArgumentException("port must be between 0 and 65535, was " + port);
            }
            this.port = port;
            return this;
        }

        /** An existing Redis, {@code redis://[user:password@]host:port} or {@code rediss://...}; null for none. */
        public Builder redisUrl(String url) {
            if (url != null) {
                checkRedisUrl(url);
            }
            this.redisUrl = url;
            return this;
        }

        /** A Redisson YAML file; null for none. Its existence is checked when the server starts. */
        public Builder redisConfig(Path file) {
            this.redisConfig = file;
            return this;
        }

        public Builder path(String path) {
            Objects.requireNonNull(path, "path");
            if (!path.matches("/[A-Za-z0-9._~%/-]+")) {
                throw new IllegalArgumentException("path must start with '/' and use only letters, digits and . _ ~ % / -,"
                        + " like /distlock/lock, was '" + path + "'");
            }
            EndpointOptions.builder().path(path); // and whatever else the endpoint requires
            this.path = path;
            return this;
        }

        /** At least 300 ms and at most a day, as the core requires. */
        public Builder lease(Duration lease) {
            LockConfig.builder().lease(lease); // the core's bounds
            this.lease = lease;
            return this;
        }

        /**
         * Origins like {@code https://app.example.com} or {@code http://localhost:3000}, allowed
         * besides the server's own; {@code "*"} alone for any.
         */
        public Builder allowedOrigins(Collection<String> origins) {
            Objects.requireNonNull(origins, "origins");
            List<String> checked = new ArrayList<>();
            for (String origin : origins) {
                checked.add(checkOrigin(origin));
            }
            EndpointOptions.builder().allowedOrigins(checked); // and whatever else the endpoint requires
            this.allowedOrigins = checked;
            return this;
        }

        /**
         * Host names or addresses like {@code locks.example.com} or {@code 10.0.0.7:8080}, the
         * {@code Host} header values accepted; empty for any. Replaces any earlier list.
         */
        public Builder allowedHosts(Collection<String> hosts) {
            Objects.requireNonNull(hosts, "allowedHosts");
            List<String> checked = new ArrayList<>(hosts);
            try {
                EndpointOptions.builder().allowedHosts(checked); // the endpoint's rule, which the demo store follows too
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage().replaceFirst("^allowedHosts: ", "allowed host "), e);
            }
            this.allowedHosts = checked;
            return this;
        }

        public Builder hideHolder(boolean hide) {
            this.hideHolder = hide;
            return this;
        }

        public Builder allowSteal(boolean allow) {
            this.allowSteal = allow;
            return this;
        }

        public Builder dataLossQuarantine(boolean on) {
            this.dataLossQuarantine = on;
            return this;
        }

        public Builder watching(boolean on) {
            this.watching = on;
            return this;
        }

        /** Whether to serve the demo page and its store ({@link ServerOptions#demo()}). */
        public Builder demo(boolean on) {
            this.demo = on;
            return this;
        }

        public Builder keyPrefix(String prefix) {
            try {
                LockConfig.builder().keyPrefix(prefix); // the core's rules: no spaces or control characters, no lone '{'
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage().replaceFirst("^keyPrefix", "key prefix"), e);
            }
            this.keyPrefix = prefix;
            return this;
        }

        /** At least 1; bursts of twice as many are allowed. */
        public Builder rateLimit(int perSecond) {
            if (perSecond < 1 || perSecond > 1_000_000_000) {
                throw new IllegalArgumentException("rate limit must be between 1 and 1000000000 requests per second, was " + perSecond);
            }
            this.rateLimit = perSecond;
            return this;
        }

        /** Zero turns it off; otherwise at least 1 ms and at most a third of the lease (checked by {@link #build()}). */
        public Builder replicaSync(Duration timeout) {
            Objects.requireNonNull(timeout, "replicaSync");
            if (timeout.isNegative() || !timeout.isZero() && timeout.toMillis() < 1) {
                throw new IllegalArgumentException("replica sync must be 0 (off) or at least 1 ms, was " + timeout.toMillis() + " ms");
            }
            this.replicaSync = timeout;
            return this;
        }

        /** At least 10 ms, as the endpoint requires. */
        public Builder pingInterval(Duration interval) {
            Objects.requireNonNull(interval, "pingInterval");
            if (interval.compareTo(Duration.ofMillis(10)) < 0) {
                throw new IllegalArgumentException("ping interval must be at least 10 ms, was " + interval.toMillis() + " ms");
            }
            if (interval.compareTo(Duration.ofDays(1)) > 0) {
                throw new IllegalArgumentException("ping interval must be at most a day (86400000 ms), was " + interval.toMillis() + " ms");
            }
            EndpointOptions.builder().pingInterval(interval); // and whatever else the endpoint requires
            this.pingInterval = interval;
            return this;
        }

        /** At least 1, as the endpoint requires. */
        public Builder maxConnections(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("max connections must be at least 1, was " + max);
            }
            EndpointOptions.builder().maxConnections(max); // and whatever else the endpoint requires
            this.maxConnections = max;
            return this;
        }

        /**
         * At least 131,072: the endpoint requires room for 16 of its largest frames, and the
         * server keeps the endpoint's frame size, 8 KiB.
         */
        public Builder maxQueuedBytes(long bytes) {
            long min = 16L * EndpointOptions.defaults().maxFrameBytes();
            if (bytes < min) {
                throw new IllegalArgumentException("max queued bytes must be at least " + min + " (16 frames of "
                        + EndpointOptions.defaults().maxFrameBytes() + " bytes), was " + bytes);
            }
            // and whatever else the endpoint requires; build() checks it against the frame size
            EndpointOptions.builder().maxQueuedBytes(bytes).build();
            this.maxQueuedBytes = bytes;
            return this;
        }

        /** At least 100 ms; a browser sends its whole request head at once, so seconds are plenty. */
        public Builder httpTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "httpTimeout");
            if (timeout.compareTo(Duration.ofMillis(100)) < 0) {
                throw new IllegalArgumentException("HTTP timeout must be at least 100 ms, was " + timeout.toMillis() + " ms");
            }
            this.httpTimeout = timeout;
            return this;
        }

        /** From 1 KiB (a browser's handshake without cookies takes about 500 bytes) to 1 MiB. */
        public Builder maxRequestHeadBytes(int bytes) {
            if (bytes < 1024 || bytes > 1 << 20) {
                throw new IllegalArgumentException("max request head bytes must be between 1024 and 1048576, was " + bytes);
            }
            this.maxRequestHeadBytes = bytes;
            return this;
        }

        /** At least 1, as the endpoint requires. */
        public Builder maxConnectionsPerAddress(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("max connections per address must be at least 1, was " + max);
            }
            EndpointOptions.builder().maxConnectionsPerAddress(max); // and whatever else the endpoint requires
            this.maxConnectionsPerAddress = max;
            return this;
        }

        /** IP addresses or networks ({@code 10.0.0.0/8}), literals only; replaces any earlier list. */
        public Builder trustedProxies(Collection<String> proxies) {
            Objects.requireNonNull(proxies, "trustedProxies");
            // the endpoint parses them, refusing names, ports and /0; keep its canonical form
            this.trustedProxies = new ArrayList<>(EndpointOptions.builder().trustedProxies(proxies).build().trustedProxies());
            return this;
        }

        public ServerOptions build() {
            if (redisUrl != null && redisConfig != null) {
                throw new IllegalArgumentException("give either a Redis URL or a Redisson configuration file, not both");
            }
            if (replicaSync != null && replicaSync.compareTo(lease.dividedBy(3)) > 0) {
                throw new IllegalArgumentException("replica sync must be at most a third of the lease ("
                        + lease.dividedBy(3).toMillis() + " ms), was " + replicaSync.toMillis() + " ms");
            }
            return new ServerOptions(this);
        }

        private static void checkRedisUrl(String url) {
            URI uri;
            try {
                uri = new URI(url);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("Redis URL must look like redis://host:port, was '" + Redact.url(url) + "'"
                        + percentEncodingHint(url));
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            String host = uri.getHost() != null ? uri.getHost() : nameWithUnderscore(uri);
            int port = uri.getHost() != null ? uri.getPort() : portAfter(uri);
            if ((scheme.equals("redis") || scheme.equals("rediss")) && host != null && port == -1) {
                throw new IllegalArgumentException("Redis URL has no port: write it, " + scheme + "://host:6379 for Redis's"
                        + " default, was '" + Redact.url(url) + "'");
            }
            if (!scheme.equals("redis") && !scheme.equals("rediss") || host == null || port < 0) {
                throw new IllegalArgumentException("Redis URL must look like redis://host:port or rediss://host:port, was '"
                        + Redact.url(url) + "'" + percentEncodingHint(url));
            }
            LockService.redissonConfig(url); // what the core refuses (a database, which Redisson would ignore), refused now
        }

        /**
         * The host name of an authority {@link URI} does not take as a server's because of an '_'
         * (a Docker Compose service such as {@code redis_cache}), which browsers send in an
         * {@code Origin} and Redisson connects to (it parses with {@code java.net.URL}); null for
         * anything else it did not take.
         */
        private static String nameWithUnderscore(URI uri) {
            String authority = uri.getRawAuthority();
            if (authority == null) {
                return null;
            }
            String hostPort = authority.substring(authority.lastIndexOf('@') + 1);
            int colon = hostPort.lastIndexOf(':');
            String name = colon < 0 ? hostPort : hostPort.substring(0, colon);
            return name.indexOf('_') >= 0 && name.matches("[A-Za-z0-9._-]+") ? name : null;
        }

        /** The port of such an authority: -1 if none is written, -2 if it is not a port. */
        private static int portAfter(URI uri) {
            String authority = uri.getRawAuthority();
            int colon = authority == null ? -1 : authority.lastIndexOf(':');
            if (colon < 0 || colon < authority.lastIndexOf('@')) {
                return -1;
            }
            String digits = authority.substring(colon + 1);
            return digits.matches("[0-9]{1,5}") && Integer.parseInt(digits) <= 65_535 ? Integer.parseInt(digits)
                    : digits.isEmpty() ? -1 : -2;
        }

        /**
         * For a URL with a user name or password (which {@link Redact#url} hides): a '%' that
         * starts no %XX, or an @ / # in the password, is what usually makes it unparsable.
         */
        private static String percentEncodingHint(String url) {
            return url.indexOf('@') < 0 ? "" : "; a user name or password in it is percent-encoded:"
                    + " write % as %25, + as %2B, and @ / # : as %40 %2F %23 %3A";
        }

        private static String checkOrigin(String origin) {
            Objects.requireNonNull(origin, "origin");
            if (origin.equals("*")) {
                return origin; // any origin; the endpoint checks that it stands alone
            }
            if (origin.indexOf('*') >= 0) {
                // As EndpointOptions says it: a pattern was refused only as "not scheme://host[:port]".
                throw new IllegalArgumentException("an allowed origin cannot hold a '*' pattern: '" + origin
                        + "'; only a lone \"*\" (any origin) is supported, otherwise list each origin as scheme://host[:port]");
            }
            URI uri;
            try {
                uri = new URI(origin);
            } catch (URISyntaxException e) {
                uri = null;
            }
            boolean ok = uri != null && uri.getScheme() != null
                    && (uri.getHost() != null || nameWithUnderscore(uri) != null && uri.getRawAuthority().indexOf('@') < 0
                            && portAfter(uri) >= -1)
                    && (uri.getPath() == null || uri.getPath().isEmpty())
                    && uri.getQuery() == null && uri.getFragment() == null && uri.getUserInfo() == null;
            if (!ok) {
                throw new IllegalArgumentException("an allowed origin must look like scheme://host[:port] without a path, was '" + origin + "'");
            }
            return origin;
        }
    }
}
