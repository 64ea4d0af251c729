package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import jakarta.websocket.server.ServerEndpointConfig;

/**
 * Frames no well-behaved client sends, written byte by byte on a raw socket, in the spirit
 * of Autobahn|Testsuite sections 1 to 7 and 9: reserved opcodes and RSV bits, unmasked
 * frames, broken fragmentation, control frames too long or fragmented, invalid UTF-8,
 * lying length headers, bad close codes. Each misbehaving connection first opens a session
 * and takes a lock; the server must then answer nothing, end the connection within seconds
 * (a close frame or a plain drop: containers differ, see the table), release that session,
 * and stay up, with a bystander session's lock unchanged throughout.
 *
 * <p>What each container does (close code the client receives; "drop" = TCP closed without
 * a close frame), as measured with Tyrus 2.2.2 (Grizzly) and Jetty 12.1.14 (ee10):
 *
 * <pre>
 * case                                      Tyrus 2.2.2             Jetty 12.1.14
 * reserved data opcode 3..7                 1002                    1002
 * reserved control opcode 0xB..0xF          1002                    1002
 * RSV1 / RSV2 / RSV3 on a text frame        1002                    1002
 * RSV1 on a ping                            1002                    1002
 * unmasked text frame                       served as if masked (!) 1002
 * fragmented ping                           1002                    1002
 * ping / close with 126 bytes               1002                    1002
 * continuation with nothing to continue     1002                    1002
 * new text frame inside a fragmented one    1002                    1002
 * invalid UTF-8 (4 kinds), also split       1007                    1007
 * fragmented text over 8 KiB in total       1009                    1009
 * length 1 MiB, payload streamed            1009 (after ~1 MiB)     1009 (at the header)
 * length 2^63-1, payload streamed           1011 (after its 4 MiB   1009 (at the header)
 *                                           buffer overflows)
 * length 2^63-1, then silence               1001 by our ping timeout 1009 (at the header)
 * length 2^63 (top bit set)                 1002                    1009
 * close code 0, 999, 1004-1006, 1015, 1016,
 *   1100, 2999, 5000, 65535                 1002                    1002
 * close frame with a 1-byte payload         1002                    1002
 * close reason not UTF-8                    1007                    1007
 * close 1000/1001/3000/4999                 echoed                  echoed
 * close with no payload                     answered 1000           echoed empty (1005)
 * ping, 0/10/125 bytes                      pong, same payload      pong, same payload
 * </pre>
 *
 * (Kept honest by {@link #record}: every run prints a {@code RAW-FRAMES} line per case to the
 * test output, e.g. {@code target/surefire-reports/*RawFramesTest-output.txt}.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class RawFramesTest {

    static final String MAIN = "/distlock/lock";
    static final String PINGED = "/pinged";
    /** How long a misbehaving connection may stay open after its bad frame. */
    static final Duration CLOSE_WITHIN = Duration.ofSeconds(5);
    private static final AtomicInteger CASES = new AtomicInteger();

    private GuardedNode node;
    private TestServer server;
    private final List<String> table = new ArrayList<>();

    abstract TestServer startServer(List<ServerEndpointConfig> configs);

    @BeforeAll
    void start() {
        node = GuardedNode.start("raw-bystander-" + getClass().getSimpleName(), List.of(
                EndpointOptions.defaults(),
                EndpointOptions.builder().path(PINGED).pingInterval(Duration.ofMillis(250)).build()), this::startServer);
        server = node.server;
    }

    @AfterAll
    void stop() {
        System.out.println("RAW-FRAMES " + server + "\n" + String.join("\n", table));
        if (node != null) {
            node.close();
        }
    }

    // ---- what a misbehaving connection must come to ----

    /** How a raw connection ended: the close code, -1 for a drop without a close frame, 1005 for a close frame with no code. */
    record Ending(int code, List<String> texts, long millis) { }

    /**
     * Opens a raw connection with a session holding a lock, lets {@code misbehave} write to
     * it, and checks that the server then answers nothing, ends the connection within
     * {@link #CLOSE_WITHIN} with one of {@code allowed} (or a drop, if {@code dropAllowed}),
     * releases the session's lock, and that the node and the bystander are unaffected.
     */
    Ending expectClosed(String caseName, Set<Integer> allowed, Consumer<RawWebSocket> misbehave) {
        return expectClosed(MAIN, caseName, allowed, misbehave);
    }

    Ending expectClosed(String path, String caseName, Set<Integer> allowed, Consumer<RawWebSocket> misbehave) {
        String name = "raw-" + CASES.incrementAndGet();
        Ending ending;
        try (RawWebSocket ws = RawWebSocket.open(server.uri(path))) {
            ws.sendText(WsClient.json("action", "connect", "param", name));
            assertThat(ws.readText(WsClient.TIMEOUT)).contains("Open session");
            ws.sendText(WsClient.json("action", "lock", "param", name + "-lock"));
            assertThat(ws.readText(WsClient.TIMEOUT)).contains("LOCKED");
            misbehave.accept(ws);
            ending = awaitEnd(ws);
        }
        record(caseName, ending);
        assertThat(ending.texts()).as("%s: no reply to a broken frame", caseName).isEmpty();
        assertThat(ending.code() == -1 || allowed.contains(ending.code()))
                .as("%s: ended with %s, expected one of %s or a drop", caseName, ending.code(), allowed).isTrue();
        assertThat(ending.millis()).as("%s: closed in time", caseName).isLessThan(CLOSE_WITHIN.toMillis());
        assertReleasedAndUnharmed(name + "-lock");
        return ending;
    }

    /** Reads until the server's close frame or the end of the stream, within {@link #CLOSE_WITHIN}. */
    static Ending awaitEnd(RawWebSocket ws) {
        long start = System.nanoTime();
        long deadline = start + CLOSE_WITHIN.toNanos();
        List<String> texts = new ArrayList<>();
        while (true) {
            long left = deadline - System.nanoTime();
            RawWebSocket.Frame frame = left <= 0 ? null : ws.readFrame(Duration.ofNanos(left));
            long millis = (System.nanoTime() - start) / 1_000_000;
            if (frame == null) {
                return new Ending(0, texts, millis); // still open: fails the time check
            }
            switch (frame.opcode()) {
                case -1:
                    return new Ending(-1, texts, millis);
                case 0x8:
                    byte[] p = frame.payload();
                    return new Ending(p.length >= 2 ? (p[0] & 0xff) << 8 | (p[1] & 0xff) : 1005, texts, millis);
                case 0x1:
                    texts.add(frame.text());
                    break;
                default:
                    break; // pings, pongs
            }
        }
    }

    /**
     * The misbehaving session's lock is free (another session gets it, after a RETRY if the
     * release is still under way), the bystander still holds its lock with the same token,
     * and a third session is told to WAIT for it.
     */
    void assertReleasedAndUnharmed(String releasedLock) {
        try (WsClient fresh = WsClient.open(server.uri(MAIN))) {
            fresh.request("OK", "action", "connect", "param", "checker");
            fresh.send("action", "lock", "param", releasedLock);
            JsonNode first = fresh.next();
            if (first.path("status").asText().equals("WAIT")) {
                fresh.expectNext("RETRY");
                fresh.request("LOCKED", "action", "lock", "param", releasedLock);
            } else {
                assertThat(first.path("status").asText()).as("%s", first).isEqualTo("LOCKED");
            }
            fresh.request("OK", "action", "close");
        }
        node.assertBystanderUnharmed();
    }

    private synchronized void record(String caseName, Ending ending) {
        record(String.format("  %-45s %s in %d ms", caseName, ending.code() == -1 ? "drop" : String.valueOf(ending.code()), ending.millis()));
    }

    private synchronized void record(String line) {
        table.add(line);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    static final Set<Integer> PROTOCOL_ERROR = Set.of(1002);
    static final Set<Integer> BAD_DATA = Set.of(1007, 1002);

    // ---- Autobahn 4: reserved opcodes ----

    @Test
    void reservedDataOpcodes() {
        for (int opcode = 3; opcode <= 7; opcode++) {
            int op = opcode;
            expectClosed("reserved data opcode " + op, PROTOCOL_ERROR, ws -> ws.sendFrame(op, utf8("{}")));
        }
    }

    @Test
    void reservedControlOpcodes() {
        for (int opcode = 0xB; opcode <= 0xF; opcode++) {
            int op = opcode;
            expectClosed("reserved control opcode 0x" + Integer.toHexString(op), PROTOCOL_ERROR, ws -> ws.sendFrame(op, utf8("x")));
        }
    }

    // ---- Autobahn 3: reserved bits ----

    @Test
    void reservedBitsOnATextFrame() {
        for (int rsv : new int[] {4, 2, 1, 7}) {
            expectClosed("RSV bits " + Integer.toBinaryString(rsv) + " on a text frame", PROTOCOL_ERROR,
                    ws -> ws.sendFrame(true, rsv, 0x1, true, utf8(WsClient.json("action", "lock", "param", "rsv"))));
        }
    }

    @Test
    void reservedBitOnAPing() {
        expectClosed("RSV1 on a ping", PROTOCOL_ERROR, ws -> ws.sendFrame(true, 4, 0x9, true, utf8("p")));
    }

    // ---- RFC 6455 5.1: a client masks every frame ----

    /**
     * Whether the container serves an unmasked client frame like a masked one. RFC 6455 5.1
     * says a server must close; Tyrus 2.2 does not check (harmless for this endpoint: masking
     * protects intermediaries from a browser's crafted bytes, and browsers always mask).
     */
    boolean servesUnmaskedFrames() {
        return false;
    }

    @Test
    void unmaskedTextFrame() {
        if (!servesUnmaskedFrames()) {
            expectClosed("unmasked text frame", PROTOCOL_ERROR,
                    ws -> ws.sendFrame(true, 0, 0x1, false, utf8(WsClient.json("action", "lock", "param", "unmasked"))));
            return;
        }
        String lock = "raw-unmasked-" + CASES.incrementAndGet();
        try (RawWebSocket ws = RawWebSocket.open(server.uri(MAIN))) {
            ws.sendText(WsClient.json("action", "connect", "param", "unmasked"));
            assertThat(ws.readText(WsClient.TIMEOUT)).contains("Open session");
            ws.sendFrame(true, 0, 0x1, false, utf8(WsClient.json("action", "lock", "param", lock)));
            assertThat(parse(ws.readText(WsClient.TIMEOUT)).path("status").asText()).isEqualTo("LOCKED");
            record("  unmasked text frame                           served as if masked");
        }
        assertReleasedAndUnharmed(lock);
    }

    // ---- Autobahn 2: control frames ----

    @Test
    void fragmentedPing() {
        expectClosed("fragmented ping", PROTOCOL_ERROR, ws -> {
            ws.sendFrame(false, 0, 0x9, true, utf8("part-1"));
            ws.sendFrame(true, 0, 0x0, true, utf8("part-2"));
        });
    }

    @Test
    void pingLongerThan125Bytes() {
        expectClosed("ping with 126 bytes", PROTOCOL_ERROR, ws -> ws.sendFrame(0x9, new byte[126]));
    }

    @Test
    void closeLongerThan125Bytes() {
        byte[] payload = new byte[126];
        Arrays.fill(payload, (byte) 'r');
        payload[0] = 0x03;
        payload[1] = (byte) 0xe8; // 1000
        expectClosed("close with 126 bytes", PROTOCOL_ERROR, ws -> ws.sendFrame(0x8, payload));
    }

    @Test
    void pingIsAnsweredWithTheSamePayload() {
        for (byte[] payload : List.of(utf8("hello-ping"), new byte[0], binary125())) {
            try (RawWebSocket ws = RawWebSocket.open(server.uri(MAIN))) {
                ws.sendFrame(0x9, payload);
                assertThat(nextPong(ws)).isEqualTo(payload);
                // an unsolicited pong is ignored (Autobahn 2.8)
                ws.sendFrame(0xA, utf8("unsolicited"));
                ws.sendText(WsClient.json("action", "connect", "param", "pinger"));
                assertThat(ws.readText(WsClient.TIMEOUT)).contains("Open session");
            }
        }
        assertReleasedAndUnharmed("raw-ping-" + CASES.incrementAndGet());
    }

    private static byte[] binary125() {
        byte[] payload = new byte[125];
        for (int i = 0; i < payload.length; i++) {
            payload[i] = (byte) (i * 7);
        }
        return payload;
    }

    /** The payload of the next pong, skipping the server's own pings; fails on anything else. */
    private static byte[] nextPong(RawWebSocket ws) {
        long deadline = System.nanoTime() + WsClient.TIMEOUT.toNanos();
        while (true) {
            RawWebSocket.Frame frame = ws.readFrame(Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime())));
            assertThat(frame).as("a pong in time").isNotNull();
            if (frame.opcode() == 0xA) {
                return frame.payload();
            }
            assertThat(frame.opcode()).as("only pings before the pong").isEqualTo(0x9);
        }
    }

    // ---- Autobahn 5: fragmentation ----

    @Test
    void continuationWithNothingToContinue() {
        expectClosed("continuation with nothing to continue", PROTOCOL_ERROR,
                ws -> ws.sendFrame(true, 0, 0x0, true, utf8(WsClient.json("action", "lock", "param", "cont"))));
    }

    @Test
    void newTextFrameInsideAFragmentedMessage() {
        expectClosed("new text frame inside a fragmented one", PROTOCOL_ERROR, ws -> {
            ws.sendFrame(false, 0, 0x1, true, utf8("{\"action\":"));
            ws.sendFrame(true, 0, 0x1, true, utf8("\"lock\",\"param\":\"x\"}"));
        });
    }

    @Test
    void fragmentedTextIsOneRequestEvenWithAPingBetween() {
        String lock = "raw-fragmented-" + CASES.incrementAndGet();
        try (RawWebSocket ws = RawWebSocket.open(server.uri(MAIN))) {
            ws.sendText(WsClient.json("action", "connect", "param", "fragments"));
            assertThat(ws.readText(WsClient.TIMEOUT)).contains("Open session");
            // "ü" split between its two bytes, across fragments
            byte[] whole = utf8("{\"action\":\"lock\",\"param\":\"" + lock + "-\u00fc\",\"id\":\"frag\"}");
            int split = indexOf(whole, (byte) 0xc3) + 1;
            ws.sendFrame(false, 0, 0x1, true, Arrays.copyOfRange(whole, 0, 10));
            ws.sendFrame(false, 0, 0x0, true, Arrays.copyOfRange(whole, 10, split));
            ws.sendFrame(0x9, utf8("between"));
            ws.sendFrame(false, 0, 0x0, true, new byte[0]);
            ws.sendFrame(true, 0, 0x0, true, Arrays.copyOfRange(whole, split, whole.length));
            assertThat(nextPong(ws)).isEqualTo(utf8("between"));
            JsonNode reply = parse(ws.readText(WsClient.TIMEOUT));
            assertThat(reply.path("status").asText()).isEqualTo("LOCKED");
            assertThat(reply.path("id").asText()).isEqualTo("frag");
            assertThat(reply.path("lock").asText()).isEqualTo(lock + "-\u00fc");
            ws.sendText(WsClient.json("action", "lock", "param", "after-fragments", "id", 2));
            assertThat(parse(ws.readText(WsClient.TIMEOUT)).path("id").asInt()).as("one reply, then the next").isEqualTo(2);
        }
        assertReleasedAndUnharmed(lock + "-\u00fc");
    }

    @Test
    void aFragmentedMessageOverTheLimitIsClosedWith1009() {
        byte[] chunk = new byte[4000];
        Arrays.fill(chunk, (byte) ' ');
        expectClosed("fragmented text over 8 KiB in total", Set.of(1009), ws -> {
            ws.sendFrame(false, 0, 0x1, true, chunk);
            ws.sendFrame(false, 0, 0x0, true, chunk);
            ws.sendFrame(true, 0, 0x0, true, chunk);
        });
    }

    // ---- Autobahn 6: UTF-8 handling ----

    @Test
    void invalidUtf8InATextFrame() {
        byte[][] invalid = {
            {'{', (byte) 0xff, '}'},                         // never valid in UTF-8
            {'"', (byte) 0xc0, (byte) 0x80, '"'},            // overlong NUL
            {'"', (byte) 0xed, (byte) 0xa0, (byte) 0x80, '"'}, // an encoded surrogate
            {'"', (byte) 0xce, '"'},                         // truncated sequence
        };
        for (byte[] bytes : invalid) {
            expectClosed("invalid UTF-8 " + hex(bytes), BAD_DATA, ws -> ws.sendFrame(0x1, bytes));
        }
    }

    @Test
    void invalidUtf8AcrossFragments() {
        expectClosed("invalid UTF-8 across fragments", BAD_DATA, ws -> {
            ws.sendFrame(false, 0, 0x1, true, new byte[] {'"', (byte) 0xce});
            ws.sendFrame(true, 0, 0x0, true, new byte[] {'"'});
        });
    }

    // ---- Autobahn 9 / RFC 6455 5.2: payload lengths ----

    /**
     * A header declaring 2^63-1 bytes, then payload streamed in 4 KiB chunks until the server
     * closes (at most {@link #STREAM_CAP}): a server that allocated the declared length would
     * die at once; one that buffers the payload must stop at its limit.
     */
    @Test
    void a2To63Minus1LengthIsRefusedWithoutAllocatingIt() {
        Runtime runtime = Runtime.getRuntime();
        System.gc();
        long usedBefore = runtime.totalMemory() - runtime.freeMemory();
        long[] sent = new long[1];
        expectClosed("length 2^63-1, payload streamed", Set.of(1009, 1002, 1011), ws -> {
            ws.sendHeaderOnly(true, 0x1, Long.MAX_VALUE, utf8("{\"action\":\"lock\",\"pad\":\""));
            sent[0] = streamUntilClosed(ws);
        });
        System.gc(); // what is still held, not what was allocated meanwhile (Tyrus buffers up to its 4 MiB)
        long usedAfter = runtime.totalMemory() - runtime.freeMemory();
        record("    (payload bytes written before the close was seen: " + sent[0] + ")");
        // A server that believed the header would fail at once (OutOfMemoryError): the node
        // staying up is the real check (expectClosed). This bound only catches a server that
        // kept buffering; it is loose because System.gc() is a hint and a loaded machine
        // collects late (80 MB of garbage was seen at 64 MB).
        assertThat(usedAfter - usedBefore).as("heap growth, bytes").isLessThan(256L << 20);
    }

    @Test
    void aLengthWithTheTopBitSetIsRefused() {
        expectClosed("length 2^63 (top bit set)", Set.of(1002, 1009), ws -> {
            ws.sendHeaderOnly(true, 0x1, Long.MIN_VALUE, utf8("{}"));
            streamUntilClosed(ws);
        });
    }

    @Test
    void aLengthOverTheFrameLimitIsRefusedByItsPayload() {
        long[] sent = new long[1];
        expectClosed("length 1 MiB, payload streamed", Set.of(1009), ws -> {
            ws.sendHeaderOnly(true, 0x1, 1 << 20, utf8("{\"action\":\"lock\",\"pad\":\""));
            sent[0] = streamUntilClosed(ws);
        });
        record("    (payload bytes written before the close was seen: " + sent[0] + ")");
    }

    /** A lying header and then silence: no pong can come inside a frame, so the ping timeout ends it. */
    @Test
    void aStalledLyingHeaderIsEndedByThePingTimeout() {
        expectClosed(PINGED, "length 2^63-1, then silence (pinged)", Set.of(1001, 1002, 1009),
                ws -> ws.sendHeaderOnly(true, 0x1, Long.MAX_VALUE, utf8("{")));
    }

    /** At most this much payload is streamed after a lying header. */
    static final int STREAM_CAP = 16 << 20;

    /** Streams spaces until the server's close frame (or end) shows up or {@link #STREAM_CAP}; returns the bytes sent. */
    private static long streamUntilClosed(RawWebSocket ws) {
        byte[] chunk = new byte[4096];
        Arrays.fill(chunk, (byte) ' ');
        long sent = 0;
        while (sent < STREAM_CAP && !ws.inputReady()) {
            if (!ws.trySendBytes(chunk)) {
                break;
            }
            sent += chunk.length;
        }
        return sent;
    }

    // ---- Autobahn 7: closing ----

    @Test
    void badCloseCodes() {
        for (int code : new int[] {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2999, 5000, 65535}) {
            expectClosed("close code " + code, PROTOCOL_ERROR, ws -> ws.sendClose(code, utf8("bye")));
        }
    }

    @Test
    void aOneByteClosePayload() {
        expectClosed("close frame with a 1-byte payload", PROTOCOL_ERROR, ws -> ws.sendFrame(0x8, new byte[] {0x03}));
    }

    @Test
    void aCloseReasonThatIsNotUtf8() {
        expectClosed("close reason not UTF-8", BAD_DATA, ws -> ws.sendClose(1000, new byte[] {'a', (byte) 0xff, 'b'}));
    }

    @Test
    void validClosesAreEchoedAndRelease() {
        for (int code : new int[] {1000, 1001, 3000, 4999}) {
            expectClosed("valid close " + code + " (echoed)", new java.util.HashSet<>(List.of(code, 1000)), ws -> ws.sendClose(code, utf8("bye")));
        }
        expectClosed("close with no payload (echoed)", Set.of(1000, 1005), ws -> ws.sendFrame(0x8, new byte[0]));
    }

    @Test
    void framesAfterACloseAreIgnored() {
        expectClosed("text frame after close", Set.of(1000), ws -> {
            ws.sendClose(1000, new byte[0]);
            ws.sendText(WsClient.json("action", "lock", "param", "after-close"));
        });
    }

    // ---- the protocol's own answers to frames that are valid WebSocket ----

    @Test
    void binaryAndEmptyFramesAreBadRequests() {
        try (RawWebSocket ws = RawWebSocket.open(server.uri(MAIN))) {
            ws.sendFrame(0x2, new byte[] {0, 1, 2});
            assertThat(parse(ws.readText(WsClient.TIMEOUT)).path("code").asText()).isEqualTo("BAD_REQUEST");
            ws.sendFrame(0x1, new byte[0]);
            assertThat(parse(ws.readText(WsClient.TIMEOUT)).path("code").asText()).isEqualTo("BAD_REQUEST");
            ws.sendFrame(false, 0, 0x2, true, new byte[] {1});
            ws.sendFrame(true, 0, 0x0, true, new byte[] {2});
            assertThat(parse(ws.readText(WsClient.TIMEOUT)).path("code").asText()).as("fragmented binary").isEqualTo("BAD_REQUEST");
        }
    }

    // ---- helpers ----

    private static JsonNode parse(String text) {
        try {
            return WsClient.JSON.readTree(text);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    private static int indexOf(byte[] bytes, byte b) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == b) {
                return i;
            }
        }
        throw new IllegalArgumentException("not found");
    }

    private static String hex(byte[] bytes) {
        StringBuilder s = new StringBuilder();
        for (byte b : bytes) {
            s.append(String.format("%02x", b & 0xff));
        }
        return s.toString();
    }
}
