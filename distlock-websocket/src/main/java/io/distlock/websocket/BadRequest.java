package io.distlock.websocket;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A frame that cannot be served as a request. Carries what could be read of it (the id and
 * the action) so the {@code FAIL} reply can still be matched by the client.
 */
final class BadRequest extends Exception {

    private static final long serialVersionUID = 1L;

    final FailCode code;
    final transient JsonNode id;
    final String action;

    BadRequest(FailCode code, String message, JsonNode id, String action) {
        super(message, null, false, false); // a refusal, not a failure: no stack trace
        this.code = code;
        this.id = id;
        this.action = action;
    }
}
