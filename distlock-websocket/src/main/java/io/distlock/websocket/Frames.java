package io.distlock.websocket;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Reads request frames and writes reply frames: the JSON side of the protocol, nothing else. */
final class Frames {

    static final int MAX_ID_LENGTH = 64;

    // Strict on purpose: a duplicated key or trailing garbage means the client and the server
    // could read the frame differently, so it is refused rather than guessed at. Replies are
    // pure ASCII: names are echoed exactly, even a lone surrogate a client sent as an escape,
    // which no UTF-8 encoder in a container could otherwise write.
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonWriteFeature.ESCAPE_NON_ASCII)
            .build();

    private Frames() { }

    /** Parses and checks one request frame. */
    static Request parse(String text) throws BadRequest {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new BadRequest(FailCode.BAD_REQUEST, "the frame is not valid JSON", null, null);
        }
        if (root == null || !root.isObject()) {
            throw new BadRequest(FailCode.BAD_REQUEST, "the frame is not a JSON object", null, null);
        }
        JsonNode id = present(root.get("id"));
        if (id != null) {
            if (id.isTextual() ? id.textValue().length() > MAX_ID_LENGTH : !id.isIntegralNumber()) {
                // Not echoed: the client cannot be matching on an id it could not send.
                throw new BadRequest(FailCode.BAD_REQUEST,
                        "'id' must be a string of at most " + MAX_ID_LENGTH + " characters or an integer", null, null);
            }
        }
        JsonNode actionNode = present(root.get("action"));
        if (actionNode == null) {
            throw new BadRequest(FailCode.BAD_REQUEST, "missing field 'action'", id, null);
        }
        if (!actionNode.isTextual()) {
            throw new BadRequest(FailCode.BAD_REQUEST, "'action' must be a string", id, null);
        }
        String wire = actionNode.textValue();
        Action action = Action.of(wire);
        if (action == null) {
            throw new BadRequest(FailCode.UNKNOWN_ACTION, "unknown action '" + abbreviate(wire) + "'", id, wire);
        }
        JsonNode time = present(root.get("time"));
        if (time != null && !time.isNumber()) {
            throw new BadRequest(FailCode.BAD_REQUEST, "'time' must be a number", id, wire);
        }
        JsonNode param = present(root.get("param"));
        if (param != null && !param.isTextual()) {
            throw new BadRequest(FailCode.BAD_REQUEST, "'param' must be a string", id, wire);
        }
        JsonNode params = present(root.get("params"));
        List<String> names;
        if (params != null) {
            if (!params.isArray()) {
                throw new BadRequest(FailCode.BAD_REQUEST, "'params' must be an array of strings", id, wire);
            }
            names = new ArrayList<>(params.size());
            for (JsonNode element : params) {
                if (!element.isTextual()) {
                    throw new BadRequest(FailCode.BAD_REQUEST, "'params' must be an array of strings", id, wire);
                }
                names.add(element.textValue());
            }
            if (param != null && !(names.size() == 1 && names.get(0).equals(param.textValue()))) {
                throw new BadRequest(FailCode.BAD_REQUEST, "'param' and 'params' disagree; send one of them", id, wire);
            }
        } else if (param != null) {
            names = List.of(param.textValue());
        } else {
            names = List.of();
        }
        if (names.size() < action.minNames) {
            throw new BadRequest(FailCode.BAD_REQUEST, action.maxNames == 1
                    ? wire + " needs a name in 'param'"
                    : wire + " needs at least one name in 'params'", id, wire);
        }
        if (names.size() > action.maxNames) {
            throw new BadRequest(FailCode.BAD_REQUEST, wire + " takes at most one name", id, wire);
        }
        return new Request(action, List.copyOf(names), id);
    }

    /** A new reply with the fields every reply has: {@code status}, {@code message}, {@code time}. */
    static ObjectNode reply(Status status, String message) {
        ObjectNode reply = JSON.createObjectNode();
        reply.put("status", status.name());
        reply.put("message", message);
        reply.put("time", System.currentTimeMillis());
        return reply;
    }

    /** A {@code RETRY} or {@code LOST} push: the lock is both the message and the {@code lock} field. */
    static String push(Status status, String lock) {
        return write(reply(status, lock).put("lock", lock));
    }

    static String write(ObjectNode reply) {
        try {
            return JSON.writeValueAsString(reply);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a reply", e); // a tree of strings and numbers always writes
        }
    }

    /** Whether the frame is larger than {@code maxBytes} in UTF-8, without encoding it when it cannot be. */
    static boolean longerThan(String text, int maxBytes) {
        if (text.length() > maxBytes) {
            return true; // every char is at least one byte
        }
        if ((long) text.length() * 3 <= maxBytes) {
            return false; // every char is at most three bytes
        }
        return text.getBytes(StandardCharsets.UTF_8).length > maxBytes;
    }

    static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 61) + "...";
    }

    private static JsonNode present(JsonNode node) {
        return node == null || node.isNull() ? null : node;
    }
}
