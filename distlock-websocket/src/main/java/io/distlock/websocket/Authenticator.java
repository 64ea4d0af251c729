package io.distlock.websocket;

import java.util.Optional;

/**
 * Decides at the WebSocket handshake who the client is, from its headers (cookies,
 * {@code Authorization}), query parameters or URI.
 *
 * <p>Called once per connection, on a container thread, before the connection opens; it may
 * be called concurrently for different connections. A refusal (empty, {@code null}, or
 * anything thrown, an error too) fails the handshake, so the browser's {@code WebSocket} never
 * opens: with HTTP 403 in Tyrus and Jetty 12; with the container's error status where the WebSocket API gives
 * no way to set one (Tomcat). The principal it returns is handed to the {@link Authorizer}
 * for every lock request of that connection.
 */
@FunctionalInterface
public interface Authenticator {

    /**
     * @return the principal (any non-null object, e.g. a user name) or {@code Optional.empty()}
     *         to refuse the connection
     */
    Optional<Object> authenticate(HandshakeInfo handshake);
}
