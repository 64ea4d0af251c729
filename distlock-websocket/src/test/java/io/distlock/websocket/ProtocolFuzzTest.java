package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Property-based fuzzing of the protocol over real WebSocket connections (Tyrus) to a real
 * Redis: well-shaped requests with random fields, mutations of valid frames, and plain
 * garbage. For every text frame the server must send exactly one well-formed reply (or, for
 * a frame over the size limit only, close with 1009), never leak a stack trace or a class
 * name, and stay up; a bystander session holds a lock throughout, which must never change.
 *
 * <p>Exactly one reply is checked with a probe: after each fuzzed frame the client sends a
 * frame of its own with a fresh id; replies come in request order, so what arrives before
 * the probe's reply (pushes aside) is the fuzzed frame's answer, and there must be one.
 */
class ProtocolFuzzTest {

    static final String MAIN = "/distlock/lock";
    /** The fuzzing endpoint: a rate limit so high that RATE_LIMITED never hides an answer. */
    static final String FUZZ = "/fuzz";
    static final int MAX_FRAME = 8192;
    static final Set<String> CODES = Arrays.stream(FailCode.values()).map(Enum::name).collect(Collectors.toSet());
    /** Words that would betray a stack trace or an internal class in a message. */
    static final List<String> LEAKS = List.of("Exception", "\tat ", "Caused by", "java.", "jakarta.", "io.distlock",
            "com.fasterxml", "org.glassfish", "org.eclipse", "org.redisson", "io.netty");

    /** Writes JSON strings as pure ASCII, so a lone surrogate goes out as an escape, as a client may send it. */
    static final JsonMapper ASCII = JsonMapper.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

    static final String BYSTANDER_LOCK = "fz-bystander";
    /** Lock and session names the fuzzer draws from, so that its requests meet each other (and the bystander). */
    static final List<String> NAMES = List.of("fz-a", "fz-b", "fz-c", "fz-d", BYSTANDER_LOCK, "fuzzer");

    private static GuardedNode node;
    private static TestServer server;
    private static WsClient fuzzer;
    private static final AtomicInteger PROBES = new AtomicInteger();
    private static final AtomicInteger FRAMES = new AtomicInteger();
    private static final AtomicInteger CLOSES = new AtomicInteger();
    private static final AtomicInteger REFUSED = new AtomicInteger();
    private static final AtomicInteger FLOOD_CLOSES = new AtomicInteger();
    /** What the replies were, for the test output: status or FAIL code, to count. */
    private static volatile String property = "";
    private static final java.util.Map<String, AtomicInteger> SEEN = new java.util.concurrent.ConcurrentSkipListMap<>();

    @BeforeContainer
    static void start() {
        node = GuardedNode.start(BYSTANDER_LOCK, List.of(
                EndpointOptions.defaults(),
                EndpointOptions.builder().path(FUZZ).rateLimit(1_000_000, 1_000_000).build()), TestServer::tyrus);
        server = node.server;
    }

    @AfterContainer
    static void stop() {
        System.out.println("FUZZ frames=" + FRAMES.get() + " closes(1009)=" + CLOSES.get()
                + " rate-limited=" + REFUSED.get() + " closes(1008)=" + FLOOD_CLOSES.get() + "\nreplies by property: " + SEEN);
        for (AutoCloseable c : new AutoCloseable[] {fuzzer}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                // closing test clients
            }
        }
        if (node != null) {
            node.close();
        }
    }

    /** After each property: the bystander's lock is untouched, and the node serves a newcomer. */
    @AfterProperty
    void bystanderAndNodeUnharmed() {
        node.assertBystanderUnharmed();
        try (WsClient fresh = WsClient.open(server.uri(MAIN))) {
            fresh.request("OK", "action", "connect", "param", "newcomer");
            fresh.request("LOCKED", "action", "lock", "param", "fz-newcomer-" + PROBES.incrementAndGet());
            fresh.request("OK", "action", "close");
        }
    }

    // ---- the properties ----

    /**
     * Most tries start with a session, so that lock requests get past NOT_CONNECTED; of either
     * protocol version (a session lasts until a fuzzed close ends it, so both meet every kind of
     * frame).
     */
    @Property(tries = 300, shrinking = ShrinkingMode.BOUNDED)
    void wellShapedRequestsGetOneWellFormedReply(@ForAll("requests") String frame, @ForAll("mostly") boolean withSession,
            @ForAll @IntRange(min = 1, max = 2) int version) {
        property = "requests";
        if (withSession) {
            WsClient c = fuzzer();
            c.sendRaw("{\"action\":\"connect\",\"param\":\"fuzzer\",\"version\":" + version + "}");
            JsonNode reply = readPastPushes(c);
            assertThat(reply.path("status").asText().equals("OK") || reply.path("code").asText().equals("ALREADY_CONNECTED"))
                    .as("%s", reply).isTrue();
        }
        sendAndCheck(frame);
    }

    @Provide
    Arbitrary<Boolean> mostly() {
        return Arbitraries.frequency(Tuple.of(4, true), Tuple.of(1, false));
    }

    @Property(tries = 300, shrinking = ShrinkingMode.BOUNDED)
    void mutatedFramesGetOneWellFormedReply(@ForAll("mutated") String frame) {
        property = "mutated";
        sendAndCheck(frame);
    }

    @Property(tries = 200, shrinking = ShrinkingMode.BOUNDED)
    void garbageGetsOneWellFormedReply(@ForAll("garbage") String frame) {
        property = "garbage";
        sendAndCheck(frame);
    }

    /** Frames sent back to back, before any reply: one reply each, in order. */
    @Property(tries = 60, shrinking = ShrinkingMode.BOUNDED)
    void pipelinedFramesGetOneReplyEachInOrder(@ForAll("pipelined") List<String> frames) {
        property = "pipelined";
        WsClient c = fuzzer();
        List<String> probes = new ArrayList<>();
        try {
            for (String frame : frames) {
                FRAMES.incrementAndGet();
                c.sendRaw(frame);
                String probe = "probe-" + PROBES.incrementAndGet();
                probes.add(probe);
                c.sendRaw("{\"action\":\"probe\",\"id\":\"" + probe + "\"}");
            }
            for (int i = 0; i < frames.size(); i++) {
                readOneReplyThenProbe(c, frames.get(i), probes.get(i));
            }
        } catch (AssertionError | RuntimeException e) {
            dropFuzzer();
            throw e;
        }
    }

    /**
     * The default limits (200/s, bursts of 400), one frame at a time as fast as the client
     * goes: the first 400 frames are never refused; after that a frame is answered as usual
     * or refused with RATE_LIMITED, and the only close is 1008, after more refusals than the
     * burst.
     */
    @Property(tries = 4, shrinking = ShrinkingMode.OFF)
    void theDefaultRateLimitOnlyRefusesOrClosesWith1008(@ForAll("anyFrame") List<String> frames,
            @ForAll @IntRange(min = 300, max = 1000) int count) {
        property = "limited";
        try (WsClient c = WsClient.open(server.uri(MAIN))) {
            int refused = 0;
            for (int i = 0; i < count; i++) {
                String frame = frames.get(i % frames.size());
                c.sendRaw(frame);
                Object event = c.nextFrameOrClose();
                while (event instanceof JsonNode push && isPush(push)) {
                    event = c.nextFrameOrClose();
                }
                if (event instanceof WsClient.Closed closed) {
                    assertThat(closed.code()).as("close after %d frames, %d refused", i + 1, refused).isEqualTo(1008);
                    assertThat(refused).as("refusals before a flood close").isGreaterThanOrEqualTo(400);
                    FLOOD_CLOSES.incrementAndGet();
                    return;
                }
                JsonNode reply = (JsonNode) event;
                checkReply(frame, reply.toString(), reply, true);
                if ("RATE_LIMITED".equals(reply.path("code").asText())) {
                    assertThat(i).as("refused within the burst").isGreaterThanOrEqualTo(400);
                    refused++;
                    REFUSED.incrementAndGet();
                }
            }
        }
    }

    // ---- sending and checking ----

    /** The fuzzing connection, opened again after a 1009 close. */
    static WsClient fuzzer() {
        if (fuzzer == null || !fuzzer.isOpen()) {
            fuzzer = WsClient.open(server.uri(FUZZ));
        }
        return fuzzer;
    }

    /**
     * Sends one frame and checks its answer. After a failure the connection is dropped, so
     * that the tries jqwik makes while shrinking start clean, not amid unread replies.
     */
    static void sendAndCheck(String frame) {
        try {
            doSendAndCheck(frame);
        } catch (AssertionError | RuntimeException e) {
            dropFuzzer();
            throw e;
        }
    }

    static void dropFuzzer() {
        if (fuzzer != null) {
            fuzzer.abort();
            fuzzer = null;
        }
    }

    private static void doSendAndCheck(String frame) {
        FRAMES.incrementAndGet();
        WsClient c = fuzzer();
        if (utf8Length(frame) > MAX_FRAME) {
            c.trySendRaw(frame);
            WsClient.Closed closed = c.expectClosed();
            assertThat(closed.code()).as("close for a frame of %d bytes", utf8Length(frame)).isEqualTo(1009);
            CLOSES.incrementAndGet();
            fuzzer = null;
            return;
        }
        c.sendRaw(frame);
        String probe = "probe-" + PROBES.incrementAndGet();
        c.sendRaw("{\"action\":\"probe\",\"id\":\"" + probe + "\"}");
        readOneReplyThenProbe(c, frame, probe);
    }

    /** The next frame that is not a push. */
    static JsonNode readPastPushes(WsClient c) {
        JsonNode frame = c.next();
        while (isPush(frame)) {
            frame = c.next();
        }
        return frame;
    }

    /** Reads the one reply to {@code frame}, then the probe's; pushes may come between. */
    static void readOneReplyThenProbe(WsClient c, String frame, String probe) {
        List<JsonNode> replies = new ArrayList<>();
        while (true) {
            Object event = c.nextFrameOrClose();
            if (event instanceof WsClient.Closed closed) {
                fail("the server closed the connection (%s) after the frame %s", closed, abbreviate(frame));
            }
            JsonNode reply = (JsonNode) event;
            String text = reply.toString();
            if (isPush(reply)) {
                checkCommon(frame, text, reply);
                assertThat(reply.has("id")).as("a push has no id: %s", text).isFalse();
                assertThat(reply.path("lock").isTextual()).as("a push names its lock: %s", text).isTrue();
                continue;
            }
            if (probe.equals(reply.path("id").asText()) && "UNKNOWN_ACTION".equals(reply.path("code").asText())) {
                break;
            }
            checkReply(frame, text, reply);
            replies.add(reply);
        }
        assertThat(replies).as("replies to the frame %s", abbreviate(frame)).hasSize(1);
    }

    static boolean isPush(JsonNode reply) {
        String status = reply.path("status").asText();
        return List.of("RETRY", "LOST", "GRANTED", "CANCELLED", "ASKED", "CHANGED").contains(status);
    }

    /** A reply: status, message, time; a FAIL has a known code; no leak of internals. */
    static void checkReply(String frame, String text, JsonNode reply) {
        checkReply(frame, text, reply, false);
    }

    static void checkReply(String frame, String text, JsonNode reply, boolean rateLimited) {
        checkCommon(frame, text, reply);
        String status = reply.path("status").asText();
        SEEN.computeIfAbsent(property + ":" + (status.equals("FAIL") ? reply.path("code").asText() : status), k -> new AtomicInteger())
                .incrementAndGet();
        assertThat(status).as("status of %s for %s", text, abbreviate(frame)).isIn("OK", "LOCKED", "WAIT", "QUEUED", "FAIL");
        if (status.equals("FAIL")) {
            String code = reply.path("code").asText();
            assertThat(code).as("code of %s for %s", text, abbreviate(frame)).isIn(CODES);
            // Redis is up, nothing is rate limited on the fuzzing endpoint, and nothing may fail unexpectedly;
            // but the default authorizer refuses every steal, and a repeated ask is refused for 10 s.
            String compact = frame.replace(" ", "");
            assertThat(code).as("code of %s for %s", text, abbreviate(frame))
                    .isNotIn("INTERNAL", "BACKEND_UNAVAILABLE", compact.contains("\"steal\":true") ? "-" : "UNAUTHORIZED",
                            rateLimited || compact.contains("\"ask\":true") ? "-" : "RATE_LIMITED");
        } else {
            assertThat(reply.has("code")).as("only FAIL has a code: %s", text).isFalse();
        }
    }

    static void checkCommon(String frame, String text, JsonNode reply) {
        assertThat(reply.isObject()).as("an object: %s", text).isTrue();
        assertThat(reply.path("message").isTextual()).as("message of %s", text).isTrue();
        assertThat(reply.path("time").isIntegralNumber()).as("time of %s", text).isTrue();
        String message = reply.path("message").asText();
        for (String leak : LEAKS) {
            // A message may echo what the client sent; only what it did not send is a leak.
            if (message.contains(leak) && !frame.contains(leak) && !decoded(frame).contains(leak)) {
                fail("the reply %s to %s leaks '%s'", text, abbreviate(frame), leak);
            }
        }
    }

    /** The frame's string values with escapes undone, if it parses at all (best effort). */
    private static String decoded(String frame) {
        try {
            return WsClient.JSON.readTree(frame).toString();
        } catch (Exception e) {
            return frame;
        }
    }

    static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "...(" + s.length() + " chars)";
    }

    // ---- generators ----

    /** A JSON string literal, pure ASCII (escapes for the rest, lone surrogates included). */
    static String str(String s) {
        try {
            return ASCII.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static Arbitrary<String> actions() {
        return Arbitraries.frequencyOf(
                Tuple.of(12, Arbitraries.frequency(Tuple.of(1, "connect"), Tuple.of(1, "close"), Tuple.of(4, "lock"), Tuple.of(3, "unlock"),
                        Tuple.of(3, "mlock"), Tuple.of(2, "munlock"), Tuple.of(1, "cancel"))),
                Tuple.of(2, Arbitraries.of("LOCK", "Lock", "mLock", "Connect", "lock ", " lock", "lock\u0000", "", "probe", "query", "resume")),
                Tuple.of(1, Arbitraries.strings().ofMaxLength(80)));
    }

    /** Names: mostly from the shared pool; also empty, long, unicode, control characters and lone surrogates. */
    static Arbitrary<String> names() {
        return Arbitraries.frequencyOf(
                Tuple.of(12, Arbitraries.of(NAMES)),
                Tuple.of(2, Arbitraries.strings().alpha().numeric().withChars("-_.:/").ofMinLength(1).ofMaxLength(40)),
                Tuple.of(1, Arbitraries.of("", " ", "x".repeat(128), "x".repeat(129), "l".repeat(256), "l".repeat(257), "l".repeat(1000))),
                Tuple.of(2, Arbitraries.strings().all().ofMaxLength(30)), // any char, lone surrogates too
                Tuple.of(1, Arbitraries.strings().withCharRange('\u0000', '\u001f').withChars('\u007f', '\u0085', '\u2028', '\u2029', '\ufeff', '\uffff')
                        .ofMinLength(1).ofMaxLength(5).map(s -> "fz-" + s)),
                Tuple.of(1, Arbitraries.of("\ud800", "a\udc00b", "\udbff\udfff", "\ud83d\ude00", "\u00e9t\u00e9", "\u4e2d\u6587", "\u0000")));
    }

    /** Values of any JSON type, as JSON text: numbers of every size, nested objects, strings. */
    static Arbitrary<String> anyValue() {
        return Arbitraries.frequencyOf(
                Tuple.of(3, names().map(ProtocolFuzzTest::str)),
                Tuple.of(2, Arbitraries.longs().map(String::valueOf)),
                Tuple.of(1, Arbitraries.bigIntegers().between(BigInteger.TWO.pow(64).negate(), BigInteger.TEN.pow(40)).map(BigInteger::toString)),
                Tuple.of(1, Arbitraries.of("1.5", "-0", "0.0", "1e308", "1e999", "-1e-999", "123456789012345678901234567890.5", "9007199254740993",
                        "true", "false", "null", "[]", "{}", "[null]", "[[]]", "{\"a\":{\"b\":[1,{\"c\":null}]}}")),
                Tuple.of(1, Arbitraries.integers().between(1, 3000).map(depth -> "[".repeat(depth) + "]".repeat(depth))),
                Tuple.of(1, Arbitraries.integers().between(1, 1500).map(depth -> "{\"a\":".repeat(depth) + "1" + "}".repeat(depth))),
                Tuple.of(1, names().list().ofMaxSize(4).map(l -> l.stream().map(ProtocolFuzzTest::str).collect(Collectors.joining(",", "[", "]")))));
    }

    static Arbitrary<String> ids() {
        return Arbitraries.frequencyOf(
                Tuple.of(8, Arbitraries.integers().between(0, 1_000_000).map(String::valueOf)),
                Tuple.of(4, Arbitraries.strings().ofMaxLength(64).map(ProtocolFuzzTest::str)),
                Tuple.of(1, Arbitraries.strings().ofMinLength(65).ofMaxLength(70).map(ProtocolFuzzTest::str)),
                Tuple.of(1, Arbitraries.of("9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9007199254740993",
                        "1e3", "1.0", "\"" + "i".repeat(64) + "\"", "\"" + "i".repeat(65) + "\"")),
                Tuple.of(1, anyValue()));
    }

    static Arbitrary<String> nameList() {
        return Arbitraries.frequencyOf(
                Tuple.of(16, names().list().ofMinSize(1).ofMaxSize(3)),
                Tuple.of(2, names().list().ofMinSize(0).ofMaxSize(4)),
                Tuple.of(1, names().list().ofMinSize(60).ofMaxSize(70)),
                Tuple.of(1, Arbitraries.integers().between(60, 70).map(n -> Collections.nCopies(n, "fz-a")))) // duplicates
                .map(l -> l.stream().map(ProtocolFuzzTest::str).collect(Collectors.joining(",", "[", "]")));
    }

    /** A request object: random fields, each maybe missing, maybe of the wrong type, in any order, keys maybe twice. */
    @Provide
    Arbitrary<String> requests() {
        Arbitrary<String> action = Arbitraries.frequencyOf(Tuple.of(20, actions().map(ProtocolFuzzTest::str)), Tuple.of(1, anyValue()));
        Arbitrary<String> names = names();
        Arbitrary<String> paramsList = nameList();
        // How the names are given: 0 param, 1 params, 2 both agreeing, 3 both disagreeing, 4 none, 5 either of any type
        Arbitrary<Integer> shape = Arbitraries.frequency(Tuple.of(10, 0), Tuple.of(6, 1), Tuple.of(1, 2), Tuple.of(1, 3), Tuple.of(1, 4), Tuple.of(1, 5));
        Arbitrary<List<String>> fields = Combinators.combine(action, names, paramsList, shape, anyValue(), anyValue())
                .as((a, name, list, how, any1, any2) -> {
                    List<String> f = new ArrayList<>();
                    f.add("\"action\":" + a);
                    switch (how) {
                        case 0 -> f.add("\"param\":" + str(name));
                        case 1 -> f.add("\"params\":" + list);
                        case 2 -> {
                            f.add("\"param\":" + str(name));
                            f.add("\"params\":[" + str(name) + "]");
                        }
                        case 3 -> {
                            f.add("\"param\":" + str(name));
                            f.add("\"params\":" + list);
                        }
                        case 4 -> { }
                        default -> {
                            f.add("\"param\":" + any1);
                            f.add("\"params\":" + any2);
                        }
                    }
                    return f;
                });
        Arbitrary<String> times = Arbitraries.frequencyOf(
                Tuple.of(8, Arbitraries.longs().map(String::valueOf)),
                Tuple.of(1, anyValue()));
        Arbitrary<List<String>> extras = Combinators.combine(
                ids().optional(), times.optional(), anyValue().optional(0.2), Arbitraries.strings().ofMaxLength(10).optional(),
                versionTwoFields())
                .as((id, time, extra, key, v2) -> {
                    List<String> f = new ArrayList<>();
                    id.ifPresent(v -> f.add("\"id\":" + v));
                    time.ifPresent(v -> f.add("\"time\":" + v));
                    extra.ifPresent(v -> f.add(str(key.orElse("options")) + ":" + v));
                    f.addAll(v2);
                    return f;
                });
        return Combinators.combine(fields, extras, Arbitraries.integers().between(0, 20), Arbitraries.randoms())
                .as((f, e, dup, random) -> {
                    List<String> all = new ArrayList<>(f);
                    all.addAll(e);
                    if (dup == 0) {
                        all.add(all.get(random.nextInt(all.size()))); // a key given twice
                    }
                    if (dup <= 5) {
                        Collections.shuffle(all, random);
                    }
                    return "{" + String.join(",", all) + "}";
                });
    }

    /**
     * Fields of protocol version 2 (lock options, connect's version and options), none to three
     * of them, mostly with values that make sense (a short timeout, so that some run out while
     * the property runs), sometimes with any value.
     */
    static Arbitrary<List<String>> versionTwoFields() {
        Arbitrary<String> field = Combinators.combine(
                Arbitraries.of("mode", "wait", "timeout", "steal", "ask", "version", "grace", "info"),
                Arbitraries.frequencyOf(
                        Tuple.of(6, Arbitraries.of("\"shared\"", "\"exclusive\"", "true", "false", "true", "50", "1", "3600000", "2", "1")),
                        Tuple.of(1, Arbitraries.of("0", "3600001", "\"Shared\"", "\"true\"", "2.0", "-1", "3")),
                        Tuple.of(1, anyValue())))
                .as((key, value) -> str(key) + ":" + value);
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just(List.<String>of())),
                Tuple.of(2, field.list().ofMinSize(1).ofMaxSize(3)));
    }

    /** A valid-looking request after one to five random edits. */
    @Provide
    Arbitrary<String> mutated() {
        return Combinators.combine(requests(), Arbitraries.integers().between(1, 5), Arbitraries.randoms())
                .as((frame, edits, random) -> {
                    String s = frame;
                    for (int i = 0; i < edits; i++) {
                        s = mutate(s, random);
                    }
                    return s;
                });
    }

    static String mutate(String s, java.util.Random random) {
        int at = s.isEmpty() ? 0 : random.nextInt(s.length() + 1);
        switch (random.nextInt(7)) {
            case 0 -> { // flip a bit of a byte; a byte that is no longer UTF-8 decodes as U+FFFD
                byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
                if (bytes.length == 0) {
                    return s;
                }
                int i = random.nextInt(bytes.length);
                bytes[i] ^= (byte) (1 << random.nextInt(8));
                return new String(bytes, StandardCharsets.UTF_8);
            }
            case 1 -> { // truncate
                return s.substring(0, at);
            }
            case 2 -> { // duplicate a piece
                int end = Math.min(s.length(), at + random.nextInt(20));
                return s.substring(0, end) + s.substring(at, end) + s.substring(end);
            }
            case 3 -> { // insert a structural character
                String pick = "{}[]\":,\\ 0-eE.tn\u0000\u00ff\u2028";
                return s.substring(0, at) + pick.charAt(random.nextInt(pick.length())) + s.substring(at);
            }
            case 4 -> { // insert any character that is not half a surrogate pair
                char c = (char) random.nextInt(0xD800);
                return s.substring(0, at) + c + s.substring(at);
            }
            case 5 -> { // delete a piece
                int end = Math.min(s.length(), at + 1 + random.nextInt(5));
                return s.substring(0, at) + s.substring(end);
            }
            default -> { // replace one character
                if (at >= s.length()) {
                    return s;
                }
                String pick = "{}[]\":,\\0aZ";
                return s.substring(0, at) + pick.charAt(random.nextInt(pick.length())) + s.substring(at + 1);
            }
        }
    }

    /** Anything at all: JSON-ish punctuation soup, random text, JSON that is not an object, and the odd oversized frame. */
    @Provide
    Arbitrary<String> garbage() {
        return Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.strings().withChars("{}[]\":,\\ \t\n0123456789.-+eEtruefalsn").ofMaxLength(200)),
                Tuple.of(3, Arbitraries.strings().withCharRange('\u0000', '\ud7ff').withCharRange('\ue000', '\ufffd').ofMaxLength(200)),
                Tuple.of(2, anyValue()),
                Tuple.of(1, Arbitraries.of("", " ", "\u0000", "\ufeff{\"action\":\"connect\",\"param\":\"bom\"}", "{\"action\":\"lock\"}{\"action\":\"lock\"}",
                        "{'action':'lock'}", "{action:\"lock\"}", "/* c */{\"action\":\"close\"}", "{\"action\":\"close\",}", "NaN", "[", "{")),
                Tuple.of(1, Arbitraries.integers().between(MAX_FRAME - 2, MAX_FRAME + 2000)
                        .map(n -> "{\"action\":\"lock\",\"param\":\"fz-a\",\"pad\":\"" + "p".repeat(Math.max(0, n - 40)) + "\"}")),
                Tuple.of(1, Arbitraries.integers().between(2700, 2800) // three bytes a char: just under and over 8 KiB
                        .map(n -> "{\"action\":\"lock\",\"param\":\"" + "\u4e2d".repeat(n) + "\"}")));
    }

    @Provide
    Arbitrary<List<String>> pipelined() {
        return Arbitraries.oneOf(requests(), mutated(), garbage())
                .filter(f -> utf8Length(f) <= MAX_FRAME)
                .list().ofMinSize(1).ofMaxSize(25);
    }

    @Provide
    Arbitrary<List<String>> anyFrame() {
        return Arbitraries.oneOf(requests(), mutated(), garbage())
                .filter(f -> utf8Length(f) <= MAX_FRAME)
                .list().ofMinSize(1).ofMaxSize(30);
    }
}
