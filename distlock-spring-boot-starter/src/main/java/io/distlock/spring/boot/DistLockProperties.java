package io.distlock.spring.boot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;

import io.distlock.core.LockConfig;
import io.distlock.websocket.EndpointOptions;

/**
 * The {@code distlock.*} properties. Only {@code distlock.redis.url} is needed (or a
 * {@code RedissonClient} bean); everything else has the endpoint's and the core's defaults.
 *
 * <p>Each setter checks its value by the rule of the builder it feeds ({@link LockConfig.Builder},
 * {@link EndpointOptions.Builder}), so a bad value fails the binding: Boot then reports the
 * property, its value and where it was set, instead of a bean creation stack trace that names
 * only the builder's field.
 */
@ConfigurationProperties("distlock")
public class DistLockProperties {

    /** Path of the WebSocket endpoint on the embedded server: a fixed path (no URI template or wildcard: no '{' or '*'), not one of the JavaScript client's files. */
    private String path = "/distlock/lock";

    /**
     * Browser origins allowed to open a WebSocket besides the application's own
     * (scheme://host[:port], no path); "*" allows every origin. Pages of the
     * application's own origin (the Host the browser connected to) are always allowed.
     */
    private List<String> allowedOrigins = new ArrayList<>();

    /**
     * Host header values the WebSocket handshake accepts (host[:port]; without a port,
     * any port); others get 403. Empty (the default): any Host. Against DNS rebinding, for an
     * endpoint whose authentication does not rest on cookies.
     */
    private List<String> allowedHosts = new ArrayList<>();

    /** Whether clients that send no Origin header (not browsers: Java, Node, curl) are accepted. */
    private boolean allowMissingOrigin = true;

    /** Leave other sessions' names and info out of replies and pushes (WAIT, QUEUED, states, ASKED, LOST), when session names are private. */
    private boolean hideHolder = false;

    /** Prefix of every Redis key and channel; nodes share locks only with nodes of the same prefix. */
    private String keyPrefix = "distlock";

    /** Lock lease: how long the locks of a node that died (or lost Redis) outlive it. At least 300 ms, at most a day. */
    private Duration lease = Duration.ofSeconds(10);

    /** Whether locks can be watched; off, no lock operation publishes its changes for watchers. Same on every node. */
    private boolean watching = true;

    /** How often the endpoint pings each connection; a connection silent for two intervals is closed. At least 1 s. */
    private Duration pingInterval = Duration.ofSeconds(15);

    private static final Duration MIN_PING_INTERVAL = Duration.ofSeconds(1);

    /** Requests per second one connection may send, sustained; bursts of twice as many. */
    private int rateLimit = 200;

    /** Open WebSocket connections the endpoint serves at most; past it a handshake gets HTTP 503. */
    private int maxConnections = 10_000;

    /** Open WebSocket connections one client address may hold (IPv6 per /64), where the container tells the address. */
    private int maxConnectionsPerAddress = 256;

    /** Reverse proxies (addresses or networks) whose X-Forwarded-For names the client. */
    private List<String> trustedProxies = new ArrayList<>();

    private final Redis redis = new Redis();

    private final Client client = new Client();

    public String getPath() {
        return path;
    }

    public void setPath(String path) {
        EndpointOptions.builder().path(path);
        // The handshake filter is mapped to the path as a servlet URL pattern, which a template never matches:
        // its checks (origin, limits) would not run.
        if (path.indexOf('{') >= 0) {
            throw new IllegalArgumentException("path must be a fixed path, without '{' (URI templates are not supported)");
        }
        // The endpoint is the literal path, but to the filter and distlockEndpointServlet '*' is a servlet
        // wildcard (/ws/*): every path under it would get 426, a wildcard that almost works.
        if (path.indexOf('*') >= 0) {
            throw new IllegalArgumentException("path must be a fixed path, without '*' (wildcards are not supported)");
        }
        // Boot ignores the mapping conflict: one of the two servlets would silently lose the path.
        if (ClientScriptServlet.isClientPath(path)) {
            throw new IllegalArgumentException("path must not be " + path + ", where the JavaScript client is served");
        }
        this.path = path;
    }

    public List<String> getAllowedOrigins() {
        return allowedOrigins;
    }

    public void setAllowedOrigins(List<String> allowedOrigins) {
        EndpointOptions.builder().allowedOrigins(allowedOrigins);
        this.allowedOrigins = allowedOrigins;
    }

    public List<String> getAllowedHosts() {
        return allowedHosts;
    }

    public void setAllowedHosts(List<String> allowedHosts) {
        EndpointOptions.builder().allowedHosts(allowedHosts);
        this.allowedHosts = allowedHosts;
    }

    public boolean isAllowMissingOrigin() {
        return allowMissingOrigin;
    }

    public void setAllowMissingOrigin(boolean allowMissingOrigin) {
        this.allowMissingOrigin = allowMissingOrigin;
    }

    public boolean isHideHolder() {
        return hideHolder;
    }

    public void setHideHolder(boolean hideHolder) {
        this.hideHolder = hideHolder;
    }

    public String getKeyPrefix() {
        return keyPrefix;
    }

    public void setKeyPrefix(String keyPrefix) {
        LockConfig.builder().keyPrefix(keyPrefix);
        this.keyPrefix = keyPrefix;
    }

    public Duration getLease() {
        return lease;
    }

    public void setLease(Duration lease) {
        LockConfig.builder().lease(lease);
        this.lease = lease;
    }

    public boolean isWatching() {
        return watching;
    }

    public void setWatching(boolean watching) {
        this.watching = watching;
    }

    public Duration getPingInterval() {
        return pingInterval;
    }

    public void setPingInterval(Duration pingInterval) {
        // A bare number is milliseconds to Boot: "15", meant as the documented 15 s, pinged every
        // 15 ms and dropped every client further than ~30 ms away (review 2026-12-07).
        if (pingInterval != null && pingInterval.compareTo(MIN_PING_INTERVAL) < 0) {
            throw new IllegalArgumentException("ping interval must be at least 1 s, was " + pingInterval.toMillis()
                    + " ms (a bare number is milliseconds: write 15s)");
        }
        EndpointOptions.builder().pingInterval(pingInterval);
        this.pingInterval = pingInterval;
    }

    public int getRateLimit() {
        return rateLimit;
    }

    public void setRateLimit(int rateLimit) {
        EndpointOptions.builder().rateLimit(rateLimit, burst(rateLimit));
        this.rateLimit = rateLimit;
    }

    public int getMaxConnections() {
        return maxConnections;
    }

    public void setMaxConnections(int maxConnections) {
        EndpointOptions.builder().maxConnections(maxConnections);
        this.maxConnections = maxConnections;
    }

    public int getMaxConnectionsPerAddress() {
        return maxConnectionsPerAddress;
    }

    public void setMaxConnectionsPerAddress(int maxConnectionsPerAddress) {
        EndpointOptions.builder().maxConnectionsPerAddress(maxConnectionsPerAddress);
        this.maxConnectionsPerAddress = maxConnectionsPerAddress;
    }

    public List<String> getTrustedProxies() {
        return trustedProxies;
    }

    public void setTrustedProxies(List<String> trustedProxies) {
        EndpointOptions.builder().trustedProxies(trustedProxies);
        this.trustedProxies = trustedProxies;
    }

    /** The burst the endpoint allows: twice the rate, capped where twice would overflow an int. */
    static int burst(int rateLimit) {
        return (int) Math.min(Integer.MAX_VALUE, 2L * rateLimit);
    }

    public Redis getRedis() {
        return redis;
    }

    public Client getClient() {
        return client;
    }

    /** Where the locks live. */
    public static class Redis {

        /**
         * The Redis server, redis://host:port, redis://user:password@host:port or
         * rediss://... for TLS. Not needed when the application has a RedissonClient bean
         * (Sentinel, Cluster, settings of its own), which is then used; set, it wins over that bean
         * (the lock service then connects a client of its own here).
         */
        private String url;

        public String getUrl() {
            return url;
        }

        public void setUrl(String url) {
            this.url = url;
        }
    }

    /** The JavaScript client, served from the distlock-js jar. */
    public static class Client {

        /** Serve the JavaScript client at /distlock/distlock.js (and its types at /distlock/distlock.d.ts). */
        private boolean enabled = true;

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }
    }
}
