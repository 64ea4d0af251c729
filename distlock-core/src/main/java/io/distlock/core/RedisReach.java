package io.distlock.core;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.redisson.client.RedisConnectionException;
import org.redisson.client.RedisException;
import org.redisson.client.RedisNodeNotFoundException;
import org.redisson.client.RedisReconnectedException;
import org.redisson.client.RedisTimeoutException;
import org.redisson.config.Config;

/**
 * Whether Redis answers this node, as the one command of every renewal tick finds it, the beat:
 * the node talks to Redis every tick even when idle, so this needs no traffic of its own, and
 * follows one command only (several, in a Redis Cluster, would go to different shards and could
 * disagree every tick). Without the quarantine there is no beat: then an {@code EXISTS} of the
 * beat's key, every tick, tells it. In a Cluster, this is the reach of the beat's shard.
 * Reporting only: nothing decides on it. One WARNING when a tick's command first fails, one more
 * when one is answered again, with the outage's length on the service's {@link Ticker}; nothing
 * for the failures in between, nor for a command's failure that comes after a later one's answer.
 */
final class RedisReach {

    // LockService's: the console's "LockService: Redis at ... does not answer" says whose Redis.
    private static final System.Logger LOG = System.getLogger(LockService.class.getName());

    private final Ticker ticker;
    private final String where;
    private volatile boolean up = true;
    /** Set at close: a client shut down with the service fails what is still out, which is not Redis's doing. */
    private volatile boolean stopped;
    /** When the first command not answered was sent (ticker nanos); meaningful while !up. */
    private long downSince; // guarded by this
    /** When the latest command answered was sent (ticker nanos): a failure of one sent before it is old news. */
    private long answeredSentAt = Long.MIN_VALUE; // guarded by this

    /** How long a command may take (a sixth of the lease, at most 3 s), for a timeout's words. */
    private final long timeoutMillis;

    RedisReach(Ticker ticker, String where, long timeoutMillis) {
        this.ticker = ticker;
        this.where = where;
        this.timeoutMillis = timeoutMillis;
    }

    /** Whether the last tick's command was answered (true until one fails). */
    boolean up() {
        return up;
    }

    /** @param sentAt when the answered command was sent (ticker nanos) */
    synchronized void answered(long sentAt) {
        if (answeredSentAt == Long.MIN_VALUE || sentAt - answeredSentAt > 0) {
            answeredSentAt = sentAt;
        }
        if (!up) {
            up = true;
            // WARNING, as the line it ends: a console that shows warnings only (the server's) shows both.
            LOG.log(Level.WARNING, "{0} answers again, after {1} without an answer", where,
                    seconds(ticker.read() - downSince));
        }
    }

    void stop() {
        stopped = true;
    }

    /** @param sentAt when the failed command was sent (ticker nanos): the outage is counted from there */
    synchronized void failed(Throwable failure, long sentAt) {
        boolean old = answeredSentAt != Long.MIN_VALUE && sentAt - answeredSentAt < 0;
        if (up && !stopped && !old) {
            up = false;
            downSince = sentAt;
            // {1} is a parameter, not pattern text: its apostrophe needs no doubling.
            LOG.log(Level.WARNING, "{0} {1} ({2}): locks cannot be taken or renewed until it does", where,
                    answeredWithError(failure) ? "refuses this node's commands" : "does not answer", reason(failure));
        }
    }

    /** Redisson's words for a timeout run to 400 characters of advice and the command's parameters: a few of ours. */
    private String reason(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RedisTimeoutException) {
                return "no answer within " + timeoutMillis + " ms: paused, overloaded, or unreachable";
            }
        }
        return LockService.connectFailure(failure);
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1f s", TimeUnit.NANOSECONDS.toMillis(nanos) / 1000.0);
    }

    /** Whether Redis itself answered with an error (NOPERM, OOM, LOADING...), rather than not at all. */
    private static boolean answeredWithError(Throwable failure) {
        Throwable root = failure;
        for (int depth = 0; root.getCause() != null && root.getCause() != root && depth < 50; depth++) {
            if (root instanceof RedisConnectionException || root instanceof RedisTimeoutException) {
                return false;
            }
            root = root.getCause();
        }
        return root instanceof RedisException && !(root instanceof RedisConnectionException || root instanceof RedisTimeoutException
                || root instanceof RedisNodeNotFoundException || root instanceof RedisReconnectedException);
    }

    /**
     * Which Redis a client talks to, for a log line: {@code Redis at host:port}, {@code Redis
     * Cluster at host:port, ...}, {@code Redis (Sentinel master NAME)}. Host and port only: an
     * address's user name and password never reach a log.
     */
    static String describe(Config config) {
        try {
            if (config.isSingleConfig()) {
                return "Redis at " + LockService.hostAndPort(config.useSingleServer().getAddress());
            }
            if (config.isClusterConfig()) {
                return "Redis Cluster at " + hostsAndPorts(config.useClusterServers().getNodeAddresses());
            }
            if (config.isSentinelConfig()) {
                return "Redis (Sentinel master " + config.useSentinelServers().getMasterName() + ")";
            }
        } catch (RuntimeException e) {
            // a configuration Redisson accepted but this cannot read: the plain word will do
        }
        return "Redis";
    }

    private static String hostsAndPorts(List<String> addresses) {
        return addresses.stream().map(LockService::hostAndPort).collect(Collectors.joining(", "));
    }
}
