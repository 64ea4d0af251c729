package io.distlock.websocket;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import io.distlock.core.LockMode;
import io.distlock.core.LockOptions;
import io.distlock.core.LockState;

/** Reads request frames and writes reply frames: the JSON side of the protocol, nothing else. */
final class Frames {

    static final int MAX_ID_LENGTH = 64;
    /** The highest protocol version this server speaks. */
    static final int MAX_VERSION = 2;
    /** The lock options of version 2, refused on a version 1 session. */
    static final List<String> LOCK_OPTIONS = List.of("mode", "wait", "timeout", "steal", "ask");
    /** Connect options of version 2, refused on a version 1 connect. */
    static final List<String> CONNECT_OPTIONS = List.of("grace", "info");
    /** The largest {@code info}, serialized. */
    static final int MAX_INFO_BYTES = 512;
    /** The largest {@code grace} that can be asked, whatever the server allows (its maximum is checked later). */
    static final long MAX_GRACE_ASKED = 86_400_000L;

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

    /** Parses and checks one request frame of a connection that speaks version 1 (or has no session). */
    static Request parse(String text) throws BadRequest {
        return parse(text, 1);
    }

    /**
     * Parses and checks one request frame of a connection whose session speaks protocol
     * {@code version} (1 while it has no session): version 2's actions are unknown to version 1,
     * and its lock options are refused there. Pure: it reads the text and nothing else.
     */
    static Request parse(String text, int version) throws BadRequest {
        return parse(text, version, false);
    }

    /**
     * {@link #parse(String, int)}; {@code sessionless}: the connection has no session, so it may
     * {@code resume} one (a version 2 session) although it speaks version 1 until then.
     */
    static Request parse(String text, int version, boolean sessionless) throws BadRequest {
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
            if (id.isTextual() ? codePoints(id.textValue()) > MAX_ID_LENGTH : !id.isIntegralNumber()) {
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
        Action action = Action.of(wire, version);
        if (action == null && sessionless && Action.RESUME.wire.equals(wire)) {
            action = Action.RESUME;
        }
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
            throw new BadRequest(FailCode.BAD_REQUEST, wire + (action.maxNames == 0 ? " takes no name" : " takes at most one name"), id, wire);
        }
        int asked = 1;
        LockOptions options = LockOptions.DEFAULT;
        Request.Session session = Request.Session.NONE;
        String prefix = null;
        switch (action) {
            case CONNECT -> {
                asked = version(root, id, wire);
                session = connectOptions(root, asked, id, wire);
            }
            case LOCK, MLOCK -> options = lockOptions(root, action, version, id, wire);
            case RESUME -> session = resumeFields(root, id, wire);
            case WATCH, UNWATCH -> prefix = prefix(root, names, id, wire);
            default -> { }
        }
        return new Request(action, List.copyOf(names), id, asked, options, session, prefix);
    }

    /**
     * The {@code prefix} of a {@code watch} or {@code unwatch}, or null when it names locks
     * instead: exactly one of the two. Whether the prefix is acceptable (not empty) is the
     * handler's to judge, as for names.
     */
    private static String prefix(JsonNode root, List<String> names, JsonNode id, String wire) throws BadRequest {
        JsonNode prefix = present(root.get("prefix"));
        if (prefix != null && !prefix.isTextual()) {
            throw new BadRequest(FailCode.BAD_REQUEST, "'prefix' must be a string", id, wire);
        }
        if ((prefix == null) == names.isEmpty()) {
            throw new BadRequest(FailCode.BAD_REQUEST, wire + " needs lock names in 'params' or a 'prefix', not both", id, wire);
        }
        return prefix == null ? null : prefix.textValue();
    }

    /** {@code grace} and {@code info} of a version 2 connect; refused on version 1, never ignored. */
    private static Request.Session connectOptions(JsonNode root, int version, JsonNode id, String wire) throws BadRequest {
        JsonNode grace = present(root.get("grace"));
        JsonNode info = present(root.get("info"));
        if (version < 2) {
            for (String field : CONNECT_OPTIONS) {
                if (present(root.get(field)) != null) {
                    throw new BadRequest(FailCode.BAD_REQUEST,
                            "'" + field + "' is an option of protocol version 2: connect with \"version\": 2 to use it", id, wire);
                }
            }
            return Request.Session.NONE;
        }
        long ms = 0;
        if (grace != null) {
            if (!grace.isIntegralNumber() || !grace.canConvertToLong() || grace.longValue() < 0 || grace.longValue() > MAX_GRACE_ASKED) {
                throw new BadRequest(FailCode.BAD_REQUEST, "'grace' must be an integer number of milliseconds, 0 or more", id, wire);
            }
            ms = grace.longValue();
        }
        String text = null;
        if (info != null) {
            if (!info.isObject()) {
                throw new BadRequest(FailCode.BAD_REQUEST, "'info' must be a JSON object", id, wire);
            }
            text = info.toString();
            if (text.getBytes(StandardCharsets.UTF_8).length > MAX_INFO_BYTES) {
                throw new BadRequest(FailCode.BAD_REQUEST, "'info' must be at most " + MAX_INFO_BYTES + " bytes serialized", id, wire);
            }
            if (!keptAsSent(info)) {
                throw new BadRequest(FailCode.BAD_REQUEST,
                        "'info' must hold finite numbers and text without unpaired surrogates (others would see it changed)", id, wire);
            }
        }
        return new Request.Session(ms, text, null, null);
    }

    /** The {@code session} and {@code resume} fields of a resume: strings (their contents are the lock service's to judge). */
    private static Request.Session resumeFields(JsonNode root, JsonNode id, String wire) throws BadRequest {
        JsonNode session = present(root.get("session"));
        JsonNode secret = present(root.get("resume"));
        if (session == null || !session.isTextual() || secret == null || !secret.isTextual()) {
            throw new BadRequest(FailCode.BAD_REQUEST, "resume needs 'session' and 'resume', both strings", id, wire);
        }
        if (session.textValue().length() > 128 || secret.textValue().length() > 256) {
            throw new BadRequest(FailCode.BAD_REQUEST, "'session' or 'resume' is too long", id, wire);
        }
        return new Request.Session(0, null, session.textValue(), secret.textValue());
    }

    /**
     * Whether the registry keeps {@code info} as sent, so that others see what the session sent:
     * stored as UTF-8 text, an unpaired surrogate (in a key or a value) would become {@code ?},
     * and a number beyond a double's range (1e309) would come back as {@code "Infinity"}.
     */
    private static boolean keptAsSent(JsonNode node) {
        if (node.isTextual()) {
            return wellFormed(node.textValue());
        }
        if (node.isFloatingPointNumber()) {
            return Double.isFinite(node.doubleValue());
        }
        if (node.isObject()) {
            for (var fields = node.fields(); fields.hasNext(); ) {
                var field = fields.next();
                if (!wellFormed(field.getKey()) || !keptAsSent(field.getValue())) {
                    return false;
                }
            }
        } else if (node.isArray()) {
            for (JsonNode element : node) {
                if (!keptAsSent(element)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Whether {@code text} has no unpaired UTF-16 surrogate: whether it can be written as UTF-8. */
    private static boolean wellFormed(String text) {
        return StandardCharsets.UTF_8.newEncoder().canEncode(text);
    }

    /** Characters as the protocol counts them: Unicode code points. */
    private static int codePoints(String text) {
        return text.codePointCount(0, text.length());
    }

    /** The protocol version a {@code connect} asks for: 1 without {@code version}. */
    private static int version(JsonNode root, JsonNode id, String wire) throws BadRequest {
        JsonNode version = present(root.get("version"));
        if (version == null) {
            return 1; // version 1 ignores every other field of connect, as it always did, but grace and info (connectOptions)
        }
        if (!version.isIntegralNumber() || !version.canConvertToInt() || version.intValue() < 1 || version.intValue() > MAX_VERSION) {
            throw new BadRequest(FailCode.BAD_REQUEST, "'version' must be 1 or 2: the protocol versions this server speaks", id, wire);
        }
        return version.intValue();
    }

    /**
     * The lock options of a {@code lock} or {@code mlock}: {@code mode}, {@code wait},
     * {@code timeout}, {@code steal} and {@code ask} on a version 2 session (only {@code mode} on
     * {@code mlock}); none at all on a version 1 session, which refuses them rather than ignore
     * them (a client that asks to queue must not believe it queues).
     */
    private static LockOptions lockOptions(JsonNode root, Action action, int version, JsonNode id, String wire) throws BadRequest {
        if (version < 2) {
            for (String field : LOCK_OPTIONS) {
                if (present(root.get(field)) != null) {
                    throw new BadRequest(FailCode.BAD_REQUEST,
                            "'" + field + "' is an option of protocol version 2: connect with \"version\": 2 to use it", id, wire);
                }
            }
            return LockOptions.DEFAULT;
        }
        LockMode mode = LockMode.EXCLUSIVE;
        JsonNode modeNode = present(root.get("mode"));
        if (modeNode != null) {
            Optional<LockMode> named = modeNode.isTextual() ? LockMode.ofWire(modeNode.textValue()) : Optional.empty();
            if (named.isEmpty()) {
                throw new BadRequest(FailCode.BAD_REQUEST, "'mode' must be \"exclusive\" or \"shared\"", id, wire);
            }
            mode = named.get();
        }
        JsonNode wait = present(root.get("wait"));
        JsonNode timeout = present(root.get("timeout"));
        if (action == Action.MLOCK) {
            if (wait != null || timeout != null) {
                throw new BadRequest(FailCode.BAD_REQUEST, "'" + (wait != null ? "wait" : "timeout")
                        + "' is not allowed on mlock: an mlock is answered at once and never queues", id, wire);
            }
            for (String field : List.of("steal", "ask")) {
                if (present(root.get(field)) != null) {
                    throw new BadRequest(FailCode.BAD_REQUEST, "'" + field + "' is not allowed on mlock: only on lock", id, wire);
                }
            }
            return LockOptions.DEFAULT.mode(mode);
        }
        boolean queued = flag(root, "wait", id, wire);
        boolean steal = flag(root, "steal", id, wire);
        boolean ask = flag(root, "ask", id, wire);
        if (steal && queued) {
            throw new BadRequest(FailCode.BAD_REQUEST, "'steal' cannot be combined with \"wait\": true: a steal takes the lock now", id, wire);
        }
        if (ask && !queued) {
            throw new BadRequest(FailCode.BAD_REQUEST, "'ask' needs \"wait\": true: only a queued request asks the holders", id, wire);
        }
        Duration queueTimeout = null;
        if (timeout != null) {
            long max = LockOptions.MAX_TIMEOUT.toMillis();
            if (!timeout.isIntegralNumber() || !timeout.canConvertToLong() || timeout.longValue() < 1 || timeout.longValue() > max) {
                throw new BadRequest(FailCode.BAD_REQUEST, "'timeout' must be an integer number of milliseconds from 1 to " + max, id, wire);
            }
            if (!queued) {
                throw new BadRequest(FailCode.BAD_REQUEST, "'timeout' needs \"wait\": true: only a queued request can time out", id, wire);
            }
            queueTimeout = Duration.ofMillis(timeout.longValue());
        }
        return new LockOptions(mode, queued, queueTimeout, steal, ask);
    }

    /** A boolean lock option: false when not sent. */
    private static boolean flag(JsonNode root, String field, JsonNode id, String wire) throws BadRequest {
        JsonNode value = present(root.get(field));
        if (value != null && !value.isBoolean()) {
            throw new BadRequest(FailCode.BAD_REQUEST, "'" + field + "' must be true or false", id, wire);
        }
        return value != null && value.booleanValue();
    }

    /** A new reply with the fields every reply has: {@code status}, {@code message}, {@code time}. */
    static ObjectNode reply(Status status, String message) {
        ObjectNode reply = JSON.createObjectNode();
        reply.put("status", status.name());
        reply.put("message", message);
        reply.put("time", System.currentTimeMillis());
        return reply;
    }

    /** A {@code RETRY} or version 1 {@code LOST} push: the lock is both the message and the {@code lock} field. */
    static String push(Status status, String lock) {
        return write(pushFrame(status, lock));
    }

    /** A push's common fields, to which version 2's pushes add theirs: the lock is both the message and the {@code lock} field. */
    static ObjectNode pushFrame(Status status, String lock) {
        return reply(status, lock).put("lock", lock);
    }

    /**
     * One lock's state as version 2 sends it: {@code {"holders": [...], "queue": [...]}}, each
     * entry {@code name}, {@code info}, {@code mode}, {@code since}; with {@code hide} (hidden
     * holders) only {@code mode} and {@code since}.
     *
     * <p>Written in at most about {@code maxChars}: the holders, then the queue, are listed in
     * order while they fit (the first entry of a list that has any always is, so an empty list
     * still means nobody), and a list cut short gains its full length beside it,
     * {@code holdersTotal} or {@code queueTotal}. A lock with thousands of queued sessions thus
     * never makes a frame too large to wait for its connection.
     */
    static ObjectNode state(LockState state, boolean hide, int maxChars) {
        ObjectNode node = JSON.createObjectNode();
        int room = maxChars - STATE_FRAME_CHARS;
        // Most states are short: entries are written to be measured only if they might not fit.
        boolean measure = mostChars(state.holders(), hide) + mostChars(state.queue(), hide) > room;
        room = entries(node, "holders", state.holders(), hide, measure, room);
        entries(node, "queue", state.queue(), hide, measure, room);
        return node;
    }

    /** What a state takes beside its entries, both totals included. */
    private static final int STATE_FRAME_CHARS =
            "{'holders':[],'queue':[],'holdersTotal':2147483647,'queueTotal':2147483647}".length();
    /** What an entry takes beside its name and info, a comma included. */
    private static final int ENTRY_FRAME_CHARS =
            "{'name':'','info':null,'mode':'exclusive','since':-9223372036854775808},".length();

    /** No less than what {@code entries} take written: each char of a name or info takes at most six (escaped). */
    private static long mostChars(List<LockState.Entry> entries, boolean hide) {
        long chars = 0;
        for (LockState.Entry e : entries) {
            chars += ENTRY_FRAME_CHARS + (hide ? 0 : 6L * (e.name().length() + (e.info() == null ? 0 : e.info().length())));
        }
        return chars;
    }

    /**
     * Lists {@code entries} as {@code list}; with {@code measure}, in what is left of {@code room},
     * returning what is left after them.
     */
    private static int entries(ObjectNode state, String list, List<LockState.Entry> entries, boolean hide, boolean measure,
            int room) {
        ArrayNode array = state.putArray(list);
        for (LockState.Entry e : entries) {
            ObjectNode entry = JSON.createObjectNode();
            if (!hide) {
                entry.put("name", e.name());
                entry.set("info", info(e.info()));
            }
            entry.put("mode", e.mode().wire());
            entry.put("since", e.since());
            if (measure) {
                int chars = write(entry).length() + 1; // and a comma
                if (chars > room && !array.isEmpty()) {
                    state.put(list + "Total", entries.size());
                    return 0; // no room left: after cut holders, the queue lists its first entry only
                }
                room -= chars;
            }
            array.add(entry);
        }
        return room;
    }

    /**
     * A session's {@code info} as the JSON object it was sent as (kept serialized by the core);
     * JSON null when it gave none. Text that is not JSON (a session opened through the core
     * directly) is sent as a string.
     */
    static JsonNode info(String info) {
        if (info == null) {
            return NullNode.getInstance();
        }
        try {
            return JSON.readTree(info);
        } catch (JsonProcessingException e) {
            return TextNode.valueOf(info);
        }
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
