package io.distlock.websocket;

import java.util.Collection;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.core.LockOptions;

/**
 * A well-formed request.
 *
 * @param action  the action
 * @param names   the session name or lock names from {@code param}/{@code params}, in order;
 *                as many as the action takes
 * @param id      the client's id to echo, a text or integer node, or {@code null}
 * @param version the protocol version a {@code connect} asks for (1 when it names none); 1 for
 *                every other action
 * @param options how a {@code lock} or {@code mlock} of a version 2 session asks (mode, queue,
 *                timeout, steal, ask); {@link LockOptions#DEFAULT} for every other request, and for every
 *                request of a version 1 session
 * @param session what a {@code connect} or {@code resume} asks for its session
 * @param prefix  the {@code prefix} of a {@code watch} or {@code unwatch} (then {@code names} is
 *                empty); null otherwise
 */
record Request(Action action, List<String> names, JsonNode id, int version, LockOptions options, Session session, String prefix) {

    /**
     * What a version 2 {@code connect} asks for its session ({@code grace}, {@code info}), or what a
     * {@code resume} names ({@code session}, {@code resume}).
     *
     * @param grace    ms; 0 when not asked
     * @param info     the {@code info} object, serialized; null when not given
     * @param id       the session id a {@code resume} names
     * @param secret   the secret a {@code resume} gives; never logged
     */
    record Session(long grace, String info, String id, String secret) {
        static final Session NONE = new Session(0, null, null, null);

        @Override
        public String toString() {
            return "Session{grace=" + grace + ", id=" + id + "}";
        }
    }

    Request(Action action, List<String> names, JsonNode id, int version, LockOptions options) {
        this(action, names, id, version, options, Session.NONE, null);
    }

    /** A request without version 2 fields. */
    Request(Action action, List<String> names, JsonNode id) {
        this(action, names, id, 1, LockOptions.DEFAULT);
    }

    String name() {
        return names.isEmpty() ? null : names.get(0);
    }

    /**
     * The locks whose grants this request's reply may carry, which a {@code LOST} of one of them
     * must not overtake: a {@code lock}'s, {@code mlock}'s, {@code unlock}'s or {@code munlock}'s
     * names; null for every lock (a {@code connect}, {@code close} or {@code resume}: the
     * session's); none for the rest ({@code query} and {@code watch} show states, no grant).
     */
    Collection<String> locksNamed() {
        return switch (action) {
            case LOCK, UNLOCK -> names;
            case MLOCK, MUNLOCK -> Set.copyOf(names); // looked up once per waiting reply by each LOST
            case CONNECT, CLOSE, RESUME -> null;
            default -> List.of();
        };
    }

    /**
     * How many Redis calls serving this request can have in flight: a query or watch reads each
     * name, a watch of more names than a connection may have in flight in turns.
     */
    int redisCalls() {
        return (action == Action.QUERY || action == Action.WATCH) ? Math.max(1, Math.min(names.size(), Connection.MAX_REDIS_CALLS)) : 1;
    }
}
