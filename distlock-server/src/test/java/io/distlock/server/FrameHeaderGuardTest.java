package io.distlock.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link FrameHeaderGuard}: a frame announcing more than the frame limit (8192 bytes) closes its
 * connection with 1009 at its header, before any of its payload is sent (found by a probe,
 * 2026-12-04: Tyrus buffered up to 4 MiB of such a frame per connection, and closed with 1011 at
 * the end); an unmasked frame, a reserved bit or opcode with 1002 (Tyrus served the first, and
 * named its internals in its reason for the last); frames within the limit pass however their
 * bytes are split across reads. Raw sockets, to send what a WebSocket client library would not.
 */
class FrameHeaderGuardTest {

    private static final int LIMIT = 8192;
    private static RedisProcess redis;
    private static DistLockServer server;

    @BeforeAll
    static void start() {
        redis = RedisProcess.start();
        server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url())
                .lease(Duration.ofSeconds(2)).build());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    @Test
    void aFrameAnnouncingMoreThanTheLimitIsRefusedAtItsHeaderWith1009() throws IOException {
        long[] announced = {LIMIT + 1, 100_000_000L, Long.MIN_VALUE /* top bit set: no valid length */};
        for (long length : announced) {
            try (Socket socket = upgraded()) {
                connect(socket, "big-" + length);
                socket.getOutputStream().write(RawWebSocket.textHeader(length));
                socket.getOutputStream().flush(); // and not one byte of the payload
                Close close = readClose(socket.getInputStream());
                assertThat(close.code()).as("announced %d", length).isEqualTo(1009);
                assertThat(close.reason()).isEqualTo("frame larger than 8192 bytes");
                assertThat(socket.getInputStream().read()).as("then closed").isEqualTo(-1);
            }
        }
    }

    @Test
    void anUnmaskedFrameAReservedBitOrAReservedOpcodeIsRefusedWith1002() throws IOException {
        byte[] lock = "{\"action\":\"lock\",\"param\":\"x\"}".getBytes(UTF_8);
        byte[][] wrong = {
            RawWebSocket.frame(0x81, false, lock), // unmasked: RFC 6455 5.1 says the server closes
            RawWebSocket.frame(0x81 | 0x40, true, lock), // RSV1 with no extension agreed
            RawWebSocket.frame(0x83, true, lock), // reserved data opcode
            RawWebSocket.frame(0x8B, true, new byte[0]), // reserved control opcode
        };
        String[] reasons = {"a client's frame must be masked", "reserved bits set: no extension was agreed", "reserved opcode",
            "reserved opcode"};
        for (int i = 0; i < wrong.length; i++) {
            try (Socket socket = upgraded()) {
                connect(socket, "wrong-" + i);
                socket.getOutputStream().write(wrong[i]);
                socket.getOutputStream().flush();
                Close close = readClose(socket.getInputStream());
                assertThat(close).as("case %d", i).isEqualTo(new Close(1002, reasons[i]));
                assertThat(socket.getInputStream().read()).as("then closed").isEqualTo(-1);
            }
        }
    }

    @Test
    void manyConnectionsEachInsideAnAnnouncedLargeFrameAreAllClosed() throws IOException {
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 40; i++) {
                Socket socket = upgraded();
                sockets.add(socket);
                // Before the guard, each such connection held its frame's bytes, up to 4 MiB (40 held 854 MB).
                ByteArrayOutputStream start = new ByteArrayOutputStream();
                start.writeBytes(RawWebSocket.textHeader(4_000_000));
                start.writeBytes(new byte[1000]);
                socket.getOutputStream().write(start.toByteArray()); // one write: the node reads it at once
                socket.getOutputStream().flush();
            }
            for (Socket socket : sockets) {
                assertThat(readClose(socket.getInputStream()).code()).isEqualTo(1009);
            }
        } finally {
            for (Socket socket : sockets) {
                socket.close();
            }
        }
    }

    @Test
    void framesWithinTheLimitPassWhateverTheReadsSplitThemInto() throws IOException {
        try (Socket socket = upgraded()) {
            // A connect padded to exactly the limit, sent a byte at a time for its header and in
            // small pieces for its payload; then two small frames in one write.
            String padding = " ".repeat(LIMIT - "{\"action\":\"connect\",\"param\":\"split\"}".length());
            byte[] connect = ("{\"action\":\"connect\",\"param\":\"split\"}" + padding).getBytes(UTF_8);
            assertThat(connect).hasSize(LIMIT);
            OutputStream out = socket.getOutputStream();
            for (byte b : RawWebSocket.textHeader(connect.length)) {
                out.write(b);
                out.flush();
            }
            for (int at = 0; at < connect.length; at += 700) {
                out.write(connect, at, Math.min(700, connect.length - at));
                out.flush();
            }
            assertThat(readText(socket.getInputStream())).contains("\"status\":\"OK\"").contains("\"action\":\"connect\"");
            ByteArrayOutputStream two = new ByteArrayOutputStream();
            for (String lock : new String[] {"a", "b"}) {
                byte[] frame = ("{\"action\":\"lock\",\"param\":\"" + lock + "\"}").getBytes(UTF_8);
                two.write(RawWebSocket.textHeader(frame.length));
                two.write(frame);
            }
            out.write(two.toByteArray());
            out.flush();
            assertThat(readText(socket.getInputStream())).contains("\"status\":\"LOCKED\"").contains("\"lock\":\"a\"");
            assertThat(readText(socket.getInputStream())).contains("\"status\":\"LOCKED\"").contains("\"lock\":\"b\"");
        }
    }

    /** The pings' pace on the guard's clock, at its boundaries: a burst, then one per share of a second. */
    @Test
    void pingsAndPongsArePacedOnTheInjectedClock() {
        // 10 a second, and one more a second for the endpoint's pings (every 1 s here): 11/s
        FrameHeaderGuard guard = new FrameHeaderGuard(LIMIT, Duration.ofSeconds(1), () -> 0);
        long each = 1_000_000_000L / 11;
        FrameHeaderGuard.Pace pace = new FrameHeaderGuard.Pace();
        long t0 = 5_000_000_000L;
        for (int i = 0; i < 20; i++) {
            assertThat(guard.paced(pace, t0)).as("frame %d of the burst", i + 1).isTrue();
        }
        assertThat(guard.paced(pace, t0)).as("past the burst").isFalse();
        assertThat(guard.paced(pace, t0 + each - 1)).as("a nanosecond before one comes back").isFalse();
        assertThat(guard.paced(pace, t0 + each)).as("exactly when one comes back").isTrue();
        assertThat(guard.paced(pace, t0 + each)).isFalse();
    }

    private record Close(int code, String reason) { }

    private static Socket upgraded() throws IOException {
        return RawWebSocket.upgraded(server.pageUri().getPort(), 0);
    }

    private static void connect(Socket socket, String name) throws IOException {
        socket.getOutputStream().write(RawWebSocket.text("{\"action\":\"connect\",\"param\":\"" + name + "\"}"));
        assertThat(readText(socket.getInputStream())).contains("\"status\":\"OK\"");
    }

    /** The next text frame's payload (unmasked, from the server). */
    private static String readText(InputStream in) throws IOException {
        RawWebSocket.Frame frame = RawWebSocket.readFrame(in);
        assertThat(frame.opcode()).as("a text frame").isEqualTo(1);
        return new String(frame.payload(), UTF_8);
    }

    /** The next close frame, skipping text frames (pushes) before it. */
    private static Close readClose(InputStream in) throws IOException {
        RawWebSocket.Frame frame = RawWebSocket.readUntil(in, 8);
        int code = ((frame.payload()[0] & 0xff) << 8) | (frame.payload()[1] & 0xff);
        return new Close(code, new String(frame.payload(), 2, frame.payload().length - 2, UTF_8));
    }
}
