package io.distlock.core;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.redisson.api.BatchOptions;

/**
 * Replica sync of grants, the equivalent of Redisson's {@code checkLockSyncedSlaves}: a grant
 * counts only once at least one replica of the lock's primary acknowledged it (Redis
 * {@code WAIT}), if that primary has any replica connected.
 *
 * <p>How Redisson 4.7 does it ({@code CommandAsyncService.syncedEval}): it learns the
 * primary's {@code connected_slaves} from {@code INFO} (one extra round trip, then cached on
 * the primary's entry until a WAIT answers a different count), runs the script in a batch
 * with {@code BatchOptions.sync(connected replicas, slavesSyncTimeout)}, which pipelines
 * {@code WAIT <all of them> <timeout>} after it, and fails with {@code NoSyncedSlavesException}
 * only if none acknowledged while some were connected; the lock then unlocks and rethrows
 * ({@code RedissonBaseLock.handleNoSync}). With a single-server config it never waits.
 *
 * <p>What this does instead, and why:
 * <ul>
 *   <li>The same rule: at least one replica, if any is connected. But it sends
 *       {@code WAIT 1}, not {@code WAIT <all>}: one acknowledgement is all the rule needs, and
 *       waiting for all would make every grant wait the full timeout whenever one replica
 *       of several is slow.</li>
 *   <li>The replica count comes from the primary itself, through the lock script, which
 *       reads {@code connected_slaves} from {@code INFO replication} when asked. So it is the
 *       count of the key's own primary in a Cluster and after a failover, whatever Redisson's
 *       config (a single-server config in front of a primary with replicas is covered too),
 *       and learning it costs no round trip.</li>
 *   <li>It is remembered per primary (per hash slot in a Cluster). While the primary has
 *       replicas, every grant asks again, so the count is always current. While it has none,
 *       a grant is a plain script, no WAIT, and the script is asked again at most once a
 *       second. A grant that finds replicas the node did not know of (the first grant, or
 *       replicas added since) is confirmed after the fact: a renewal by the new owner and
 *       WAIT, pipelined.</li>
 * </ul>
 */
final class ReplicaSync {

    /** How old a "no replicas" answer may get before a grant asks the primary again. */
    private static final long REFRESH_NANOS = TimeUnit.SECONDS.toNanos(1);

    record Known(int replicas, long atNanos) { }

    private final Duration timeout;
    private final boolean cluster;
    private final AtomicReferenceArray<Known> known;

    private final Ticker ticker;

    ReplicaSync(Duration timeout, boolean cluster, Ticker ticker) {
        this.ticker = ticker;
        this.timeout = timeout;
        this.cluster = cluster;
        this.known = new AtomicReferenceArray<>(cluster ? ClusterSlots.COUNT : 1);
    }

    Known known(String key) {
        return known.get(index(key));
    }

    boolean stale(Known k) {
        return k == null || ticker.read() - k.atNanos() > REFRESH_NANOS;
    }

    /** Remembers what a script reported; -1 (not asked) changes nothing. */
    void learn(String key, int replicas) {
        if (replicas >= 0) {
            known.set(index(key), new Known(replicas, ticker.read()));
        }
    }

    /** A batch that pipelines {@code WAIT 1 <timeout>} after its commands (the response timeout grows by as much). */
    BatchOptions batchOptions(Duration commandTimeout) {
        return BatchOptions.defaults().responseTimeout(commandTimeout.toMillis(), TimeUnit.MILLISECONDS).retryAttempts(0)
                .sync(1, timeout);
    }

    private int index(String key) {
        return cluster ? ClusterSlots.slot(key) : 0;
    }
}
