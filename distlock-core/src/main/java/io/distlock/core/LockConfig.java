package io.distlock.core;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Settings of a {@link LockService}. Immutable; build with {@link #builder()}. Every
 * setting is checked when it is set: a bad value is refused, never silently clamped.
 */
public final class LockConfig {

    private final String keyPrefix;
    private final Duration lease;
    private final Duration tokenMemory;
    private final int maxSessionNameLength;
    private final int maxLockNameLength;
    private final int maxLocksPerSession;
    private final int maxLocksPerRequest;
    private final Executor callbackExecutor;

    private LockConfig(Builder b) {
        keyPrefix = b.keyPrefix;
        lease = b.lease;
        tokenMemory = b.tokenMemory;
        maxSessionNameLength = b.maxSessionNameLength;
        maxLockNameLength = b.maxLockNameLength;
        maxLocksPerSession = b.maxLocksPerSession;
        maxLocksPerRequest = b.maxLocksPerRequest;
        callbackExecutor = b.callbackExecutor;
    }

    /** The defaults of the protocol: 10 s lease, names of 128/256 characters, 1,000 locks. */
    public static LockConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Prefix of every Redis key and channel, so several applications can share one Redis. */
    public String keyPrefix() {
        return keyPrefix;
    }

    /** How long a lock outlives its node: renewed every third of it while the node lives. */
    public Duration lease() {
        return lease;
    }

    /** How long Redis remembers a released lock's last token (see {@code docs/safety.md}). */
    public Duration tokenMemory() {
        return tokenMemory;
    }

    public int maxSessionNameLength() {
        return maxSessionNameLength;
    }

    public int maxLockNameLength() {
        return maxLockNameLength;
    }

    public int maxLocksPerSession() {
        return maxLocksPerSession;
    }

    /** Most names in one {@code lockAll} or {@code unlockAll}. */
    public int maxLocksPerRequest() {
        return maxLocksPerRequest;
    }

    /**
     * Where results and listener calls are delivered; {@code null} means a small pool the
     * service owns. An executor that runs tasks on the calling thread is fine when callbacks
     * never block.
     */
    public Executor callbackExecutor() {
        return callbackExecutor;
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.keyPrefix = keyPrefix;
        b.lease = lease;
        b.tokenMemory = tokenMemory;
        b.maxSessionNameLength = maxSessionNameLength;
        b.maxLockNameLength = maxLockNameLength;
        b.maxLocksPerSession = maxLocksPerSession;
        b.maxLocksPerRequest = maxLocksPerRequest;
        b.callbackExecutor = callbackExecutor;
        return b;
    }

    @Override
    public String toString() {
        return "LockConfig{keyPrefix=" + keyPrefix + ", lease=" + lease + ", tokenMemory=" + tokenMemory
                + ", maxSessionNameLength=" + maxSessionNameLength + ", maxLockNameLength=" + maxLockNameLength
                + ", maxLocksPerSession=" + maxLocksPerSession + ", maxLocksPerRequest=" + maxLocksPerRequest + "}";
    }

    /** Builds a {@link LockConfig}; starts from the defaults. */
    public static final class Builder {
        private String keyPrefix = "distlock";
        private Duration lease = Duration.ofSeconds(10);
        private Duration tokenMemory = Duration.ofMinutes(1);
        private int maxSessionNameLength = 128;
        private int maxLockNameLength = 256;
        private int maxLocksPerSession = 1_000;
        private int maxLocksPerRequest = 64;
        private Executor callbackExecutor;

        private Builder() { }

        public Builder keyPrefix(String keyPrefix) {
            Objects.requireNonNull(keyPrefix, "keyPrefix");
            if (keyPrefix.isEmpty() || keyPrefix.chars().anyMatch(c -> Character.isISOControl(c) || c == ' ')) {
                throw new IllegalArgumentException("keyPrefix must be non-empty, without spaces or control characters: '" + keyPrefix + "'");
            }
            this.keyPrefix = keyPrefix;
            return this;
        }

        /** At least 300 ms (renewal runs every third of it). */
        public Builder lease(Duration lease) {
            Objects.requireNonNull(lease, "lease");
            if (lease.compareTo(Duration.ofMillis(300)) < 0) {
                throw new IllegalArgumentException("lease must be at least 300 ms, was " + lease.toMillis() + " ms");
            }
            this.lease = lease;
            return this;
        }

        /** At least 1 s. */
        public Builder tokenMemory(Duration tokenMemory) {
            Objects.requireNonNull(tokenMemory, "tokenMemory");
            if (tokenMemory.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("tokenMemory must be at least 1 s, was " + tokenMemory.toMillis() + " ms");
            }
            this.tokenMemory = tokenMemory;
            return this;
        }

        public Builder maxSessionNameLength(int max) {
            this.maxSessionNameLength = positive("maxSessionNameLength", max);
            return this;
        }

        public Builder maxLockNameLength(int max) {
            this.maxLockNameLength = positive("maxLockNameLength", max);
            return this;
        }

        public Builder maxLocksPerSession(int max) {
            this.maxLocksPerSession = positive("maxLocksPerSession", max);
            return this;
        }

        public Builder maxLocksPerRequest(int max) {
            this.maxLocksPerRequest = positive("maxLocksPerRequest", max);
            return this;
        }

        public Builder callbackExecutor(Executor executor) {
            this.callbackExecutor = executor;
            return this;
        }

        public LockConfig build() {
            return new LockConfig(this);
        }

        private static int positive(String name, int value) {
            if (value < 1) {
                throw new IllegalArgumentException(name + " must be at least 1, was " + value);
            }
            return value;
        }
    }
}
