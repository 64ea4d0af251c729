package io.distlock.websocket;

import java.lang.System.Logger.Level;
import java.util.concurrent.CompletionException;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.distlock.core.BackendUnavailableException;
import io.distlock.core.Refused;

/**
 * Builds replies to requests: the fields every reply has ({@link Frames#reply}), the echoes of
 * the request (its {@code id}, {@code action} and names), and the {@code FAIL} replies with
 * their {@link FailCode}. What a reply says is decided by the request handler; how the
 * protocol spells it is decided here.
 */
final class Replies {

    private static final System.Logger LOG = System.getLogger(Replies.class.getName());

    private Replies() { }

    /** A reply to {@code r} (null: a frame that is no request): the common fields, the id and action echoed, and the names. */
    static ObjectNode to(Request r, Status status, String message) {
        ObjectNode reply = Frames.reply(status, message);
        if (r == null) {
            return reply;
        }
        if (r.id() != null) {
            reply.set("id", r.id());
        }
        reply.put("action", r.action().wire);
        switch (r.action()) {
            case LOCK, UNLOCK, CANCEL -> reply.put("lock", r.name());
            case MLOCK, MUNLOCK -> {
                ArrayNode locks = reply.putArray("locks");
                r.names().forEach(locks::add);
            }
            case WATCH, UNWATCH -> {
                if (r.prefix() != null) {
                    reply.put("prefix", r.prefix());
                }
            }
            default -> { }
        }
        return reply;
    }

    static ObjectNode fail(Request r, FailCode code, String message) {
        return to(r, Status.FAIL, message).put("code", code.name());
    }

    /**
     * The {@code FAIL} reply to a frame that could not be read as a request: it echoes what
     * could be read of it (its {@code id}, its {@code action}).
     */
    static ObjectNode badRequest(BadRequest e, FailCode code, String message) {
        ObjectNode reply = Frames.reply(Status.FAIL, message);
        if (e.id != null) {
            reply.set("id", e.id);
        }
        if (e.action != null) {
            reply.put("action", e.action);
        }
        return reply.put("code", code.name());
    }

    /** The {@code FAIL} reply to a request the lock service refused. */
    static ObjectNode refused(Request r, Refused refused) {
        FailCode code = switch (refused.reason()) {
            case BAD_NAME -> FailCode.BAD_NAME;
            case NOT_OWNER -> FailCode.NOT_OWNER;
            case NOT_QUEUED -> FailCode.NOT_QUEUED;
            case TOO_MANY_LOCKS -> FailCode.TOO_MANY_LOCKS;
            case SESSION_CLOSED -> FailCode.NOT_CONNECTED;
            // Version 2 only: a version 1 session never asks for a shared lock.
            case HELD_SHARED -> FailCode.BAD_REQUEST;
            case SESSION_EXPIRED -> FailCode.SESSION_EXPIRED;
        };
        return fail(r, code, refused.message());
    }

    /** The {@code FAIL} reply to a request whose call to the lock service failed. */
    static ObjectNode failure(Request r, Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof BackendUnavailableException) {
            LOG.log(Level.DEBUG, "Lock backend unavailable: {0}", cause.getMessage());
            // A lock that failed took nothing; an unlock that failed gave the lock up, and LOST follows.
            return fail(r, FailCode.BACKEND_UNAVAILABLE, "the lock backend is unavailable");
        }
        if (cause instanceof IllegalArgumentException && r != null && (r.action() == Action.QUERY || r.action() == Action.WATCH)) {
            return fail(r, FailCode.BAD_NAME, cause.getMessage()); // the lock service's answer to a name it does not accept
        }
        if (cause instanceof IllegalStateException && r != null && r.action() == Action.WATCH) {
            // The connection's watch was closed while this one was being answered: its session left.
            return fail(r, FailCode.NOT_CONNECTED, "the session left this connection");
        }
        return internal(r, cause);
    }

    /** An unexpected failure: logged in full, answered without any detail. */
    static ObjectNode internal(Request r, Throwable error) {
        LOG.log(Level.ERROR, "Unexpected failure serving a distlock request", error);
        return fail(r, FailCode.INTERNAL, "internal error");
    }

    /** The status of a reply made here. */
    static Status status(ObjectNode reply) {
        return Status.valueOf(reply.path("status").asText());
    }

    /** The code of a {@code FAIL} reply made here. */
    static FailCode code(ObjectNode reply) {
        return FailCode.valueOf(reply.path("code").asText());
    }
}
