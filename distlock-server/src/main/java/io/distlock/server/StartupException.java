package io.distlock.server;

/**
 * The server could not start: the port is in use, Redis cannot be reached, a configuration
 * file is missing or wrong. The message is one line meant for the person who started the
 * server; the cause, if any, carries the details.
 */
public final class StartupException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final boolean badOption;

    public StartupException(String message) {
        this(message, null, false);
    }

    public StartupException(String message, Throwable cause) {
        this(message, cause, false);
    }

    private StartupException(String message, Throwable cause, boolean badOption) {
        super(message, cause);
        this.badOption = badOption;
    }

    /**
     * What an option names cannot be used (a {@code --redis-config} file that is missing, unreadable
     * or no Redisson configuration): the command line is to fix, as for a bad option, and the
     * command exits with 2 rather than 1.
     */
    public static StartupException badOption(String message) {
        return new StartupException(message, null, true);
    }

    /** Whether {@link #badOption} made it: the command line is wrong, not the machine or Redis. */
    public boolean isBadOption() {
        return badOption;
    }
}
