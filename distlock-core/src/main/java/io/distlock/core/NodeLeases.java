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

    NodeLeases(long ownMillis, Ticker ticker, String prefix) {
        this.ownMillis = ownMillis;
        this.ticker = ticker;
        this.prefix = prefix;
    }

    /** What a beat read: the leases of the other live nodes, one per node. */
    synchronized void seen(Collection<Long> others) {
        long now = ticker.read();
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
