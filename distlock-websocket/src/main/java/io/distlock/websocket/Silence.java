package io.distlock.websocket;

/**
 * When a connection counts as silent, on the node's clock: nothing heard from the client for two
 * ping intervals, judged at each ping tick. A tick that comes half an interval or more late means
 * the node itself stood still (a long GC pause, a frozen VM): the client's frames may be waiting
 * unread, and a client that answered every ping would be closed for the node's own silence, its
 * locks released while it still believes it holds them. Such a tick judges nobody; it pings, and
 * the next tick judges. Never two late ticks in a row pass, so a node whose timer is always late
 * (overloaded) still judges at every other tick. Pure: {@link Connection} feeds it the times.
 */
final class Silence {

    private final long intervalNanos;
    private volatile long lastHeardNanos;
    // Only the connection's ticks, one at a time, touch these.
    private long lastTickNanos;
    private boolean passed;

    Silence(long intervalNanos, long nowNanos) {
        this.intervalNanos = intervalNanos;
        this.lastHeardNanos = nowNanos;
        this.lastTickNanos = nowNanos;
    }

    /** A frame (a pong included) arrived from the client. */
    void heard(long nowNanos) {
        lastHeardNanos = nowNanos;
    }

    /** At a ping tick: whether to close the connection as silent. */
    boolean silentAt(long nowNanos) {
        boolean late = nowNanos - lastTickNanos >= intervalNanos + intervalNanos / 2;
        lastTickNanos = nowNanos;
        if (late && !passed) {
            passed = true;
            return false;
        }
        passed = false;
        return nowNanos - lastHeardNanos >= 2 * intervalNanos;
    }
}
