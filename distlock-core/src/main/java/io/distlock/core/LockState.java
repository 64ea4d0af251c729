package io.distlock.core;

import java.util.List;
import java.util.Objects;

/**
 * Who holds a lock and who queues for it, as Redis had it at one instant
 * ({@link LockService#query}, {@link LockWatch}).
 *
 * @param holders the sessions holding it, earliest grant first (one exclusive holder, or shared holders)
 * @param queue   the sessions queued for it, in queue order
 */
public record LockState(List<Entry> holders, List<Entry> queue) {

    /** A lock nobody holds or queues for. */
    public static final LockState FREE = new LockState(List.of(), List.of());

    public LockState {
        holders = List.copyOf(holders);
        queue = List.copyOf(queue);
    }

    /**
     * One holder or queued request.
     *
     * @param name  the session's name
     * @param info  the session's {@link SessionOptions#info()}, or {@code null}
     * @param mode  the mode held or asked for
     * @param since when it was granted or queued: ms since the epoch, on the Redis clock
     */
    public record Entry(String name, String info, LockMode mode, long since) {
        public Entry {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(mode, "mode");
        }
    }
}
