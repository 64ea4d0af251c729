package io.distlock.websocket;

/**
 * Decides whether a connection may take a lock. Asked for every name of a {@code lock} or
 * {@code mlock} request before the lock service is called; a single {@code false} refuses
 * the whole request with {@code FAIL UNAUTHORIZED} and changes nothing. Not asked for
 * {@code unlock}/{@code munlock}: a session can only release locks it holds.
 *
 * <p>Called on container or lock-service threads, concurrently for different connections;
 * it must not block for long. Names are passed as the client sent them (they may still be
 * refused as {@code BAD_NAME} afterwards). An exception counts as {@code false}.
 */
@FunctionalInterface
public interface Authorizer {

    /**
     * @param principal what the {@link Authenticator} returned for this connection, or
     *                  {@code null} with the default authenticator
     */
    boolean mayLock(Object principal, String lockName);
}
