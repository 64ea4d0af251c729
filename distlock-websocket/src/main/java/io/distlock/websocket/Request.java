package io.distlock.websocket;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A well-formed request.
 *
 * @param action the action
 * @param names  the session name or lock names from {@code param}/{@code params}, in order;
 *               as many as the action takes
 * @param id     the client's id to echo, a text or integer node, or {@code null}
 */
record Request(Action action, List<String> names, JsonNode id) {

    String name() {
        return names.isEmpty() ? null : names.get(0);
    }
}
