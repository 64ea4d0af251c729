package io.distlock.spring.boot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code distlock.*} properties. Only {@code distlock.redis.url} is needed (or a
 * {@code RedissonClient} bean); everything else has the endpoint's and the core's defaults.
 */
@ConfigurationProperties("distlock")
public class DistLockProperties {

    /** Path of the WebSocket endpoint on the embedded server. */
    private String path = "/distlock/lock";

    /**
     * Browser origins allowed to open a WebSocket besides the application's own
     * ({@code scheme://host[:port]}, no path); {@code *} allows every origin. Pages of the
     * application's own origin (the Host the browser connected to) are always allowed.
     */
    private List<String> allowedOrigins = new ArrayList<>();

    /** Whether clients that send no Origin header (not browsers: Java, Node, curl) are accepted. */
    private boolean allowMissingOrigin = true;

    /** Leave the holder's name out of WAIT replies, when session names are private. */
    private boolean hideHolder = false;

    /** Prefix of every Redis key and channel; nodes share locks only with nodes of the same prefix. */
    private String keyPrefix = "distlock";

    /** Lock lease: how long the locks of a node that died (or lost Redis) outlive it. At least 300 ms. */
    private Duration lease = Duration.ofSeconds(10);

    /** Whether locks can be watched; off, no lock operation publishes its changes for watchers. Same on every node. */
    private boolean watching = true;

    /** How often the endpoint pings each connection; a connection silent for two intervals is closed. */
    private Duration pingInterval = Duration.ofSeconds(15);

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
        this.path = path;
    }

    public List<String> getAllowedOrigins() {
        return allowedOrigins;
    }

    public void setAllowedOrigins(List<String> allowedOrigins) {
        this.allowedOrigins = allowedOrigins;
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
        this.keyPrefix = keyPrefix;
    }

    public Duration getLease() {
        return lease;
    }

    public void setLease(Duration lease) {
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
        this.pingInterval = pingInterval;
    }

    public int getRateLimit() {
        return rateLimit;
    }

    public void setRateLimit(int rateLimit) {
        this.rateLimit = rateLimit;
    }

    public int getMaxConnections() {
        return maxConnections;
    }

    public void setMaxConnections(int maxConnections) {
        this.maxConnections = maxConnections;
    }

    public int getMaxConnectionsPerAddress() {
        return maxConnectionsPerAddress;
    }

    public void setMaxConnectionsPerAddress(int maxConnectionsPerAddress) {
        this.maxConnectionsPerAddress = maxConnectionsPerAddress;
    }

    public List<String> getTrustedProxies() {
        return trustedProxies;
    }

    public void setTrustedProxies(List<String> trustedProxies) {
        this.trustedProxies = trustedProxies;
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
         * The Redis server, {@code redis://host:port}, {@code redis://user:password@host:port} or
         * {@code rediss://...} for TLS. Not needed when the application has a RedissonClient bean
         * (Sentinel, Cluster, settings of its own), which is then used instead.
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
