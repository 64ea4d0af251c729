package io.distlock.server;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

import io.distlock.core.Ticker;

/**
 * How many saves the demo store takes ({@code PUT /demo/docs/{id}}): each is a Lua script in the
 * Redis that serves the locks, and anyone who reaches the page may send them, on a kept-alive
 * connection as fast as the node answers (review 2026-12-07). Two token buckets: one per client
 * address ({@link #PER_ADDRESS_PER_SECOND}, bursts of {@link #PER_ADDRESS_BURST}), so that one
 * client cannot take the node's share, and one for the node ({@link #PER_NODE_PER_SECOND}, bursts
 * of {@link #PER_NODE_BURST}), which bounds what Redis runs however many addresses send. A person
 * saving by hand, and the page's announce on each grant, stay far below both.
 *
 * <p>Each bucket is one number, when it is full again (the generic cell rate algorithm, as
 * {@link FrameHeaderGuard}'s pace of pings): a save is taken if that moment is at most a burst's
 * worth ahead of now, and moves it on by one save's share. A refusal changes nothing, so only
 * addresses that saved lately are kept: at most what the node's bucket let through within the
 * time an address's bucket takes to fill, dropped once full (the WebSocket endpoint's
 * {@code RateLimiter} is per connection, and package-private in the library).
 * Time on the injected {@link Ticker}. Thread-safe.
 */
final class SaveThrottle {

    static final int PER_ADDRESS_PER_SECOND = 10;
    static final int PER_ADDRESS_BURST = 30;
    static final int PER_NODE_PER_SECOND = 100;
    static final int PER_NODE_BURST = 200;

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    /** What a save was told: {@code waitNanos} 0 when taken; else how long until it would be, and whose limit it met. */
    record Verdict(long waitNanos, boolean node) {
        static final Verdict TAKEN = new Verdict(0, false);

        boolean taken() {
            return waitNanos == 0;
        }

        /** Whole seconds to wait, as {@code Retry-After} says it: at least 1. */
        long retryAfterSeconds() {
            return Math.max(1, (waitNanos + SECOND - 1) / SECOND);
        }
    }

    private final Ticker ticker;
    private final long addressShare = SECOND / PER_ADDRESS_PER_SECOND;
    private final long nodeShare = SECOND / PER_NODE_PER_SECOND;
    /** Per client key, when its bucket is full again; only keys that are not full yet. Guarded by this. */
    private final Map<String, Long> addressFullAt = new HashMap<>();
    private long nodeFullAt; // guarded by this
    private long sweptAt; // guarded by this
    private long refusedForAddress; // guarded by this
    private long refusedForNode; // guarded by this

    SaveThrottle(Ticker ticker) {
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.nodeFullAt = ticker.read();
        this.sweptAt = nodeFullAt;
    }

    /** Takes a save of {@code client} (a {@code ClientAddress} key) if both its address's and the node's bucket allow one. */
    synchronized Verdict acquire(String client) {
        long now = ticker.read();
        sweep(now);
        Long full = addressFullAt.get(client);
        long addressNext = (full == null || full - now < 0 ? now : full) + addressShare;
        long addressWait = addressNext - now - PER_ADDRESS_BURST * addressShare;
        if (addressWait > 0) {
            refusedForAddress++;
            return new Verdict(addressWait, false);
        }
        long nodeNext = (nodeFullAt - now < 0 ? now : nodeFullAt) + nodeShare;
        long nodeWait = nodeNext - now - PER_NODE_BURST * nodeShare;
        if (nodeWait > 0) {
            refusedForNode++;
            return new Verdict(nodeWait, true);
        }
        addressFullAt.put(client, addressNext);
        nodeFullAt = nodeNext;
        return Verdict.TAKEN;
    }

    /** Saves refused so far for their address's limit ({@code node} false) or the node's. */
    synchronized long refused(boolean node) {
        return node ? refusedForNode : refusedForAddress;
    }

    /** Client keys kept (tests: the map stays bounded). */
    synchronized int keys() {
        return addressFullAt.size();
    }

    /** Once a second: forgets addresses whose bucket is full again (as good as never seen). */
    private void sweep(long now) {
        if (now - sweptAt < SECOND) {
            return;
        }
        sweptAt = now;
        addressFullAt.values().removeIf(full -> full - now <= 0);
    }
}
