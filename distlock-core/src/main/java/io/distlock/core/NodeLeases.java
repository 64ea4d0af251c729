package io.distlock.core;

import java.lang.System.Logger.Level;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The leases of the other live nodes of this key prefix, as this node's beat reads them from
 * Redis ({@code node-beat.lua}, every renewal tick while the quarantine is on). The quarantine
 * after a possible loss of data must last until every holder has been told {@code LOST}, which
 * its own node does at its next renewal, a sixth of <em>its</em> lease: so a quarantine lasts
 * the longest lease of any node seen within that lease, not only this node's. A node that has
 * not been heard of (one whose first beat after the loss has not come yet, when this node
 * started after the loss) cannot be counted: hence a WARNING when the leases differ, since
 * every node of a prefix should use the same lease (docs/safety.md).
 */
final class NodeLeases {

    private static final System.Logger LOG = System.getLogger(NodeLeases.class.getName());

    private final long ownMillis;
    private final Ticker ticker;
    private final String prefix;
    /** A lease in ms to when a node with it was last seen, in ticker nanos. */
    private final Map<Long, Long> lastSeen = new ConcurrentHashMap<>();
    private Set<Long> warnedOf = Set.of();
    /** When beats began failing (ticker nanos), or null while they succeed; warned of once a lease of them failed. */
    private Long failingSince;
    private boolean warnedOfFailures;

    NodeLeases(long ownMillis, Ticker ticker, String prefix) {
        this.ownMillis = ownMillis;
        this.ticker = ticker;
        this.prefix = prefix;
    }

    /** What a beat read: the leases of the other live nodes, one per node. */
    synchronized void seen(Collection<Long> others) {
        long now = ticker.read();
        failingSince = null;
        warnedOfFailures = false;
        others.forEach(lease -> lastSeen.put(lease, now));
        Set<Long> differing = new TreeSet<>(others);
        differing.remove(ownMillis);
        if (!differing.isEmpty() && !differing.equals(warnedOf)) {
            LOG.log(Level.WARNING, "Nodes of key prefix \"" + prefix + "\" use other leases than this node's " + ownMillis + " ms: "
                    + differing + " ms. After Redis loses its data, new grants wait for the longest lease this node has seen, "
                    + "but a node started after the loss cannot know of the others until they next renew. Give every node "
                    + "of a key prefix the same lease (docs/safety.md, \"After Redis lost its data\")");
        }
        warnedOf = differing;
    }

    /**
     * A beat failed. One now and then is nothing (the next tick beats again); beats failing for a
     * whole lease (an ACL without the {@code <prefix>:nodes} key, a Redis Cluster shard this node
     * cannot reach) leave other nodes' leases unknown, and are warned of once.
     */
    synchronized void beatFailed(Throwable failure) {
        long now = ticker.read();
        if (failingSince == null) {
            failingSince = now;
        }
        if (!warnedOfFailures && now - failingSince >= TimeUnit.MILLISECONDS.toNanos(ownMillis)) {
            warnedOfFailures = true;
            LOG.log(Level.WARNING, "Could not record this node's lease in Redis, nor read the other nodes', for a lease: " + LockService.connectFailure(failure)
                    + ". After a data loss, grants would wait this node's lease only, whatever the other nodes' are (docs/safety.md)");
        } else {
            LOG.log(Level.DEBUG, "Could not record this node''s lease in Redis; trying again at the next tick: {0}", failure.getMessage());
        }
    }

    /** How long a quarantine lasts, in ms: the longest lease seen within that lease, and at least this node's own. */
    long quarantineMillis() {
        long now = ticker.read();
        lastSeen.entrySet().removeIf(seen -> now - seen.getValue() > TimeUnit.MILLISECONDS.toNanos(seen.getKey()));
        long longest = ownMillis;
        for (long lease : lastSeen.keySet()) {
            longest = Math.max(longest, lease);
        }
        return longest;
    }
}
