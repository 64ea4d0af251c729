package io.distlock.websocket;

/** The protocol's actions, with how many names each takes and the protocol version that has it. */
enum Action {
    CONNECT("connect", 1, 1, 1),
    CLOSE("close", 0, 1, 1),
    LOCK("lock", 1, 1, 1),
    UNLOCK("unlock", 1, 1, 1),
    MLOCK("mlock", 1, Integer.MAX_VALUE, 1),
    MUNLOCK("munlock", 1, Integer.MAX_VALUE, 1),
    /** Leave a lock's queue (version 2). */
    CANCEL("cancel", 1, 1, 2),
    /** Answered OK, touching nothing: a browser cannot send WebSocket pings (version 2). */
    PING("ping", 0, 0, 2),
    /**
     * Take a session over after its connection dropped, or from another connection (version 2).
     * Known to a connection without a session too, which speaks version 1 until then.
     */
    RESUME("resume", 0, 0, 2),
    /** Who holds and queues for some locks (version 2); at most {@link #MAX_QUERIED} names, checked by the handler. */
    QUERY("query", 1, Integer.MAX_VALUE, 2),
    /** Watch locks by {@code params} or by {@code prefix}, one of the two (version 2; checked by {@link Frames}). */
    WATCH("watch", 0, Integer.MAX_VALUE, 2),
    /** Stop watching locks by {@code params} or by {@code prefix} (version 2). */
    UNWATCH("unwatch", 0, Integer.MAX_VALUE, 2);

    /** The most names one {@code query} may name (distinct). */
    static final int MAX_QUERIED = 64;

    final String wire;
    final int minNames;
    final int maxNames;
    /** The first protocol version with this action; in an earlier one it is an unknown action. */
    final int since;

    Action(String wire, int minNames, int maxNames, int since) {
        this.wire = wire;
        this.minNames = minNames;
        this.maxNames = maxNames;
        this.since = since;
    }

    /**
     * The action named exactly (case-sensitively) {@code wire} in protocol {@code version}, or
     * {@code null}: a version 1 session knows nothing of version 2's actions.
     */
    static Action of(String wire, int version) {
        for (Action a : values()) {
            if (a.wire.equals(wire) && a.since <= version) {
                return a;
            }
        }
        return null;
    }
}
