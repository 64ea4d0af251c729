package io.distlock.core;

import java.util.Optional;

/** How a lock is held: alone, or together with other shared holders. */
public enum LockMode {

    /** Excludes every other holder. The mode of every version 1 request. */
    EXCLUSIVE("exclusive"),

    /** Held together with any number of other shared holders; excludes an exclusive one. */
    SHARED("shared");

    private final String wire;

    LockMode(String wire) {
        this.wire = wire;
    }

    /** The word the protocol uses for the mode. */
    public String wire() {
        return wire;
    }

    /** The mode the protocol names {@code wire} (case-sensitive), if any. */
    public static Optional<LockMode> ofWire(String wire) {
        for (LockMode m : values()) {
            if (m.wire.equals(wire)) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }
}
