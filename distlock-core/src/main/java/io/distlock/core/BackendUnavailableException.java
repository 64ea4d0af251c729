package io.distlock.core;

/**
 * Redis could not be reached or did not answer in time. An operation failing with it
 * changed nothing that lasts: a lock that Redis may have granted anyway is released again,
 * or frees itself when its lease runs out.
 */
public final class BackendUnavailableException extends RuntimeException {

    public BackendUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
