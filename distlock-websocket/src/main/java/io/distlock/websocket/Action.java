package io.distlock.websocket;

/** The protocol's actions, with how many names each takes. */
enum Action {
    CONNECT("connect", 1, 1),
    CLOSE("close", 0, 1),
    LOCK("lock", 1, 1),
    UNLOCK("unlock", 1, 1),
    MLOCK("mlock", 1, Integer.MAX_VALUE),
    MUNLOCK("munlock", 1, Integer.MAX_VALUE);

    final String wire;
    final int minNames;
    final int maxNames;

    Action(String wire, int minNames, int maxNames) {
        this.wire = wire;
        this.minNames = minNames;
        this.maxNames = maxNames;
    }

    /** The action named exactly (case-sensitively) {@code wire}, or {@code null}. */
    static Action of(String wire) {
        for (Action a : values()) {
            if (a.wire.equals(wire)) {
                return a;
            }
        }
        return null;
    }
}
