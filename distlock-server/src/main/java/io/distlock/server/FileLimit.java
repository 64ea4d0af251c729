package io.distlock.server;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/**
 * The process's open-file limit and how many files it has open, as the JVM reports them
 * ({@code com.sun.management.UnixOperatingSystemMXBean}); both -1 where it cannot tell (Windows).
 * Every connection holds one file descriptor, so {@link #room()} is about how many more
 * connections the server can accept. (HotSpot raises its soft limit to the hard one at start,
 * so the limit that counts is the hard one: {@code ulimit -Hn}, systemd's {@code LimitNOFILE}.)
 *
 * @param limit the most files the process may have open, or -1
 * @param open  the files it has open now, or -1
 */
record FileLimit(long limit, long open) {

    /**
     * The limit and the files open now. Counting them lists {@code /proc/self/fd}, which takes
     * a file descriptor: with none left it fails (an {@code InternalError}), and both are -1.
     */
    static FileLimit now() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            try {
                return new FileLimit(unix.getMaxFileDescriptorCount(), unix.getOpenFileDescriptorCount());
            } catch (RuntimeException | InternalError e) {
                return new FileLimit(-1, -1);
            }
        }
        return new FileLimit(-1, -1);
    }

    /** The limit alone (a system call that needs no file descriptor), or -1 if unknown. */
    static long currentLimit() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            try {
                return unix.getMaxFileDescriptorCount();
            } catch (RuntimeException | InternalError e) {
                return -1;
            }
        }
        return -1;
    }

    boolean known() {
        return limit >= 0 && open >= 0;
    }

    /** Files that may still be opened: about the connections the server can still accept; -1 if unknown. */
    long room() {
        return known() ? Math.max(0, limit - open) : -1;
    }

    /** {@code open-file limit 1024, 56 open}, or that it is unknown. */
    String describe() {
        return known() ? "open-file limit " + limit + ", " + open + " open" : "open-file limit unknown";
    }
}
