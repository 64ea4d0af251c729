package io.distlock.core;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Settings of a {@link LockService}. Immutable; build with {@link #builder()}. Every
 * setting is checked when it is set: a bad value is refused, never silently clamped. The one
 * check that needs two settings, {@code replicaSync} against the lease, is made by
 * {@link Builder#build()}.
 */
public final class LockConfig {

    private final String keyPrefix;
    private final Duration lease;
    private final Duration tokenMemory;
    private final int maxSessionNameLength;
    private final int maxLockNameLength;
    private final int maxLocksPerSession;
    private final int maxLocksPerRequest;
    private final int maxQueueLength;
    private final Duration maxGrace;
    private final Executor callbackExecutor;
    private final Duration replicaSync;
    /** As set on the builder; {@code null} for the default, which follows the lease. */
    private final Duration replicaSyncSetting;
    private final boolean dataLossQuarantine;
    private final boolean newRedis;
    private final boolean watching;
    private final Ticker ticker;
    private final Scheduler scheduler;

    private LockConfig(Builder b) {
        keyPrefix = b.keyPrefix;
        lease = b.lease;
        tokenMemory = b.tokenMemory;
        maxSessionNameLength = b.maxSessionNameLength;
        maxLockNameLength = b.maxLockNameLength;
        maxLocksPerSession = b.maxLocksPerSession;
        maxLocksPerRequest = b.maxLocksPerRequest;
        maxQueueLength = b.maxQueueLength;
        maxGrace = b.maxGrace;
        callbackExecutor = b.callbackExecutor;
        replicaSyncSetting = b.replicaSync;
        replicaSync = b.replicaSync != null ? b.replicaSync : defaultReplicaSync(b.lease);
        dataLossQuarantine = b.dataLossQuarantine;
        newRedis = b.newRedis;
        watching = b.watching;
        ticker = b.ticker;
        scheduler = b.scheduler;
    }

    /** One second, like Redisson's {@code slavesSyncTimeout}, but at most a third of the lease. */
    private static Duration defaultReplicaSync(Duration lease) {
        Duration third = lease.dividedBy(3);
        return third.compareTo(Duration.ofSeconds(1)) < 0 ? third : Duration.ofSeconds(1);
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

    /** How long a lock outlives its node: renewed every sixth of it while the node lives. */
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

    /** Most locks a session holds and queues for, together. */
    public int maxLocksPerSession() {
        return maxLocksPerSession;
    }

    /** Most names in one {@code lockAll} or {@code unlockAll}. */
    public int maxLocksPerRequest() {
        return maxLocksPerRequest;
    }

    /** Most sessions queued for one lock, across all nodes; past it a queued request is refused {@link Refusal#TOO_MANY_LOCKS}. */
    public int maxQueueLength() {
        return maxQueueLength;
    }

    /**
     * Where results and listener calls are delivered; {@code null} (the default) means on the
     * thread that completed the work, usually a Redisson I/O thread: the fastest, and right
     * when callbacks never block (see {@link LockListener}). Give a pool when they may.
     */
    public Executor callbackExecutor() {
        return callbackExecutor;
    }

    /**
     * How long a grant waits for a replica of the lock's Redis primary to confirm it (Redis
     * {@code WAIT}); {@link Duration#ZERO} when off. A grant that no replica confirms in time is
     * released again and the request fails with {@link BackendUnavailableException}. A primary
     * without replicas is never waited for. See {@code docs/safety.md}.
     */
    public Duration replicaSync() {
        return replicaSync;
    }

    /**
     * Whether grants stop for one lease after Redis may have lost data (on by default): a grant
     * that finds Redis restarted, failed over to another primary, or without the marker of a
     * previous grant, answers {@code WAIT} (holder {@link LockResult.Waiting#RECOVERING}) until
     * every holder of a lock Redis forgot has been told {@code LOST} or its lease has run out.
     * The first grant on a brand-new Redis waits one lease too. See {@code docs/safety.md}.
     */
    public boolean dataLossQuarantine() {
        return dataLossQuarantine;
    }

    /**
     * Whether this application started Redis itself, empty, just now (off by default): then no
     * lock can have been lost, and the service marks Redis as in service when it starts, so no
     * node sharing it waits out a quarantine on its first grant.
     */
    public boolean newRedis() {
        return newRedis;
    }

    /**
     * Whether locks can be watched ({@link LockService#watch}; on by default). On, every change
     * of a lock's holders or queue publishes the lock's name for the nodes that watch, one
     * {@code PUBLISH} to a channel nobody listens to while nobody watches (about a microsecond
     * of Redis's time per change). Off, nothing is published and {@code watch}
     * is refused.
     */
    public boolean watching() {
        return watching;
    }

    /** The clock of leases, re-checks and timeouts; {@link Ticker#system()} by default. */
    public Ticker ticker() {
        return ticker;
    }

    /** Where timed work runs; {@code null} (the default) means one daemon thread the service owns. */
    public Scheduler scheduler() {
        return scheduler;
    }

    /** The longest grace a session may ask for ({@link SessionOptions#grace()}): 60 s unless set. */
    public Duration maxGrace() {
        return maxGrace;
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
        b.maxQueueLength = maxQueueLength;
        b.maxGrace = maxGrace;
        b.callbackExecutor = callbackExecutor;
        b.replicaSync = replicaSyncSetting;
        b.dataLossQuarantine = dataLossQuarantine;
        b.newRedis = newRedis;
        b.watching = watching;
        b.ticker = ticker;
        b.scheduler = scheduler;
        return b;
    }

    @Override
    public String toString() {
        return "LockConfig{keyPrefix=" + keyPrefix + ", lease=" + lease + ", tokenMemory=" + tokenMemory
                + ", maxSessionNameLength=" + maxSessionNameLength + ", maxLockNameLength=" + maxLockNameLength
                + ", maxLocksPerSession=" + maxLocksPerSession + ", maxLocksPerRequest=" + maxLocksPerRequest + ", maxQueueLength=" + maxQueueLength
                + ", maxGrace=" + maxGrace
                + ", replicaSync=" + replicaSync + ", dataLossQuarantine=" + dataLossQuarantine + ", newRedis=" + newRedis + ", watching=" + watching + "}";
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
        private int maxQueueLength = 10_000;
        private Duration maxGrace = Duration.ofSeconds(60);
        private Executor callbackExecutor;
        /** {@code null}: the default, which depends on the lease. */
        private Duration replicaSync;
        private boolean dataLossQuarantine = true;
        private boolean newRedis;
        private boolean watching = true;
        private Ticker ticker = Ticker.system();
        private Scheduler scheduler;

        private Builder() { }

        public Builder keyPrefix(String keyPrefix) {
            Objects.requireNonNull(keyPrefix, "keyPrefix");
            if (keyPrefix.isEmpty() || keyPrefix.chars().anyMatch(c -> Character.isISOControl(c) || c == ' ')) {
                throw new IllegalArgumentException("keyPrefix must be non-empty, without spaces or control characters: '" + keyPrefix + "'");
            }
            // Each lock's keys share one Redis Cluster hash slot by a {tag} after the prefix: a '{' in
            // the prefix would start the tag there instead, and spread one lock's keys over slots.
            int open = keyPrefix.indexOf('{');
            if (open >= 0 && keyPrefix.indexOf('}', open) <= open + 1) {
                throw new IllegalArgumentException("keyPrefix must not have a '{' without a non-empty {tag} after it (Redis Cluster would "
                        + "hash each of a lock's keys to a different slot): '" + keyPrefix + "'");
            }
            this.keyPrefix = keyPrefix;
            return this;
        }

        /**
         * At least 300 ms (renewal runs every sixth of it), at most a day: Redis and its scripts
         * count expiries in milliseconds from now, and a longer lease only delays the release of
         * a dead node's locks.
         */
        public Builder lease(Duration lease) {
            Objects.requireNonNull(lease, "lease");
            if (lease.compareTo(Duration.ofMillis(300)) < 0 || lease.compareTo(Duration.ofDays(1)) > 0) {
                throw new IllegalArgumentException("lease must be at least 300 ms and at most a day (86400000 ms), was "
                        + millis(lease));
            }
            this.lease = lease;
            return this;
        }

        /** At least 1 s, at most a day: Redis counts it in milliseconds from now, and tokens outgrow a forgotten one anyway. */
        public Builder tokenMemory(Duration tokenMemory) {
            Objects.requireNonNull(tokenMemory, "tokenMemory");
            if (tokenMemory.compareTo(Duration.ofSeconds(1)) < 0 || tokenMemory.compareTo(Duration.ofDays(1)) > 0) {
                throw new IllegalArgumentException("tokenMemory must be at least 1 s and at most a day, was " + millis(tokenMemory));
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

        /**
         * The longest grace a session may ask for; 0 turns resuming off. At most a day: the grace is
         * counted in milliseconds and nanoseconds, and a vanished client's locks are held for it.
         */
        public Builder maxGrace(Duration max) {
            Objects.requireNonNull(max, "maxGrace");
            if (max.isNegative() || max.compareTo(Duration.ofDays(1)) > 0) {
                throw new IllegalArgumentException("maxGrace must be between 0 and a day, was " + millis(max));
            }
            this.maxGrace = max;
            return this;
        }

        public Builder maxQueueLength(int max) {
            this.maxQueueLength = positive("maxQueueLength", max);
            return this;
        }

        public Builder callbackExecutor(Executor executor) {
            this.callbackExecutor = executor;
            return this;
        }

        /**
         * Makes every grant wait up to {@code timeout} until a replica of the lock's Redis primary
         * has it (the equivalent of Redisson's {@code checkLockSyncedSlaves} with
         * {@code slavesSyncTimeout}); {@link Duration#ZERO} turns it off. On by default with 1 s,
         * or a third of the lease if that is less. At most a third of the lease: the grant is
         * not renewed while it waits, and its lease runs from when it was sent (checked by
         * {@link #build()}, when the lease is known).
         */
        public Builder replicaSync(Duration timeout) {
            Objects.requireNonNull(timeout, "replicaSync");
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("replicaSync must not be negative, was " + timeout.toMillis() + " ms");
            }
            if (!timeout.isZero() && timeout.compareTo(Duration.ofMillis(1)) < 0) {
                throw new IllegalArgumentException("replicaSync must be 0 (off) or at least 1 ms, was " + timeout);
            }
            this.replicaSync = timeout;
            return this;
        }

        /**
         * Turns the quarantine after a possible loss of Redis data on ({@code true}, the default)
         * or off. Off, a lock that Redis forgot (a restart without persistence, a failover to a
         * replica that missed the grant) can be granted again at once, while its holder has not
         * yet been told {@code LOST}: until the holder's node next renews (every sixth of the
         * lease), two sessions hold it. Every node of one key prefix should use the same setting
         * and the same lease: the quarantine lasts the longest lease the node that notices the loss
         * has seen among the prefix's nodes, and a node started after the loss has seen none yet
         * (nodes that see another lease log a WARNING; {@code docs/safety.md}).
         */
        public Builder dataLossQuarantine(boolean on) {
            this.dataLossQuarantine = on;
            return this;
        }

        /**
         * Says that this application started Redis itself, empty, just now (as the runnable
         * server does with its embedded Redis), so the service marks it as in service instead of
         * letting the first grant wait out a quarantine. Never set it for a Redis that may hold
         * locks of sessions on other nodes: they would lose the quarantine's protection. For a
         * standalone Redis only: a Redis Cluster keeps one marker per hash slot, which this does not
         * set, so there each slot's first grant still waits out the quarantine.
         */
        public Builder newRedis(boolean isNew) {
            this.newRedis = isNew;
            return this;
        }

        /**
         * Turns watching on ({@code true}, the default) or off, for an application that never
         * watches locks and wants no lock operation to pay for it. Every node of one key prefix
         * must use the same setting: a node with it off does not tell the watchers of the others.
         */
        public Builder watching(boolean on) {
            this.watching = on;
            return this;
        }

        /**
         * The clock the service measures leases, re-checks and timeouts with. Give the same
         * clock's {@link Scheduler} too, or timed work runs on real time while leases are
         * measured on this one.
         */
        public Builder ticker(Ticker ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /** Where the service's timed work runs; {@code null} for one daemon thread of its own (the default). */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = scheduler;
            return this;
        }

        /** @throws IllegalArgumentException if {@code replicaSync} is more than a third of the lease */
        public LockConfig build() {
            if (replicaSync != null && replicaSync.compareTo(lease.dividedBy(3)) > 0) {
                throw new IllegalArgumentException("replicaSync must be at most a third of the lease ("
                        + lease.dividedBy(3).toMillis() + " ms), was " + millis(replicaSync));
            }
            return new LockConfig(this);
        }

        /**
         * A duration in a refusal: in ms, or as ISO-8601 if it has no long number of ms (a huge one must be
         * refused with the IllegalArgumentException promised, not an ArithmeticException from {@code toMillis}).
         */
        static String millis(Duration d) {
            try {
                return d.toMillis() + " ms";
            } catch (ArithmeticException e) {
                return d.toString();
            }
        }

        private static int positive(String name, int value) {
            if (value < 1) {
                throw new IllegalArgumentException(name + " must be at least 1, was " + value);
            }
            return value;
        }
    }
}
