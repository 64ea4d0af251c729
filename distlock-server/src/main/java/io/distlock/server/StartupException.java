package io.distlock.server;

/**
 * The server could not start: the port is in use, Redis cannot be reached, a configuration
 * file is missing or wrong. The message is one line meant for the person who started the
 * server; the cause, if any, carries the details.
 */
public final class StartupException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public StartupException(String message) {
        super(message);
    }

    public StartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
