package io.distlock.server;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.distlock.core.Ticker;

import org.glassfish.grizzly.Buffer;
import org.glassfish.grizzly.Connection;
import org.glassfish.grizzly.Grizzly;
import org.glassfish.grizzly.attributes.Attribute;
import org.glassfish.grizzly.filterchain.BaseFilter;
import org.glassfish.grizzly.filterchain.FilterChainContext;
import org.glassfish.grizzly.filterchain.NextAction;
import org.glassfish.grizzly.memory.Buffers;

/**
 * On the chain of upgraded connections ({@link UpgradedChain}), below Tyrus: reads each frame's
 * header and closes the connection at one that is wrong, before Tyrus reads the frame.
 *
 * <ul>
 * <li>1009 for a frame announcing more than the endpoint's frame limit. Tyrus reads a frame
 * whole, into a buffer that may grow to its incoming buffer size (4 MiB), before the endpoint's
 * limit ({@code setMaxTextMessageBufferSize}) is checked: a client that announced a large frame
 * and sent it slowly, or never finished it, held up to 4 MiB of heap per connection (40
 * connections: 854 MB), and got 1011 "Buffer overflow." at the end.
 * <li>1002 for a frame RFC 6455 (5.1, 5.2) says a server must not take: unmasked (Tyrus served
 * it as if masked), with a reserved bit set (no extension is negotiated), or with a reserved
 * opcode (Tyrus's close reason named its internals: "Unknown wrappedFrame type: 3").
 * <li>1008 for pings and pongs faster than {@link #CONTROL_FRAMES_PER_SECOND} a second (after a
 * burst of {@link #CONTROL_FRAME_BURST}), besides the pongs that answer the endpoint's pings.
 * Tyrus answers every ping with a pong, written straight into Grizzly's write queue, which has
 * no bound (the endpoint's own bound covers only its replies): a client that sent pings and
 * never read grew the heap by about 3.4 times what it sent (a probe: 286 MB of pings, 980 MB of
 * heap), until it disconnected.
 * </ul>
 *
 * <p>After a refusal the connection's further reads are dropped: a flooder that goes on sending
 * while its close frame is on the way reaches neither Tyrus nor this guard's counts again.
 *
 * <p>It reads only frame headers (2 to 14 bytes) and skips payloads without copying them; a
 * connection keeps state between reads only while it is inside a frame, and, once it sent a
 * ping or a pong, the time its allowance of them is full again. What the rest of a frame holds
 * (UTF-8, fragmentation, control frames) stays Tyrus's to check.
 */
final class FrameHeaderGuard extends BaseFilter {

    private static final int PROTOCOL_ERROR = 1002;
    private static final int POLICY_VIOLATION = 1008;
    private static final int TOO_BIG = 1009;
    private static final int MAX_HEADER = 14;
    private static final int PING = 9;
    private static final int PONG = 10;
    /**
     * Pings and pongs a client may send a second, besides a pong for each of the endpoint's
     * pings. Client libraries that ping to keep a connection alive do so every few seconds (a
     * browser never pings; version 2's {@code ping} action is a text frame): ten a second is far
     * above any of them, and each costs the node a pong of up to 131 bytes.
     */
    static final int CONTROL_FRAMES_PER_SECOND = 10;
    /** How many pings and pongs may come at once: a client that wakes up (a laptop's lid opened) and answers late. */
    static final int CONTROL_FRAME_BURST = 20;

    /** Where a connection is in its frames, between reads that end inside one. */
    private static final class Cursor {
        final byte[] header = new byte[MAX_HEADER];
        int headerBytes;
        long payloadLeft;
    }

    /**
     * Per connection, once it sent a ping or a pong: when its allowance is full again (the
     * theoretical arrival time of the generic cell rate algorithm, a token bucket in one number).
     * Reads of one connection are never handled at once (one selector thread), so it is a plain field.
     */
    static final class Pace {
        long fullAt;
    }

    private final Attribute<Cursor> cursors = Grizzly.DEFAULT_ATTRIBUTE_BUILDER.createAttribute("distlock.frame-cursor");
    private final Attribute<Pace> paces = Grizzly.DEFAULT_ATTRIBUTE_BUILDER.createAttribute("distlock.control-pace");
    /** Set once the guard refused a frame of the connection: what else it reads is dropped. */
    private final Attribute<Boolean> refused = Grizzly.DEFAULT_ATTRIBUTE_BUILDER.createAttribute("distlock.frame-refused");
    private final int maxFrameBytes;
    /** The clock of the pings' pace (the endpoint's, which also times its own pings). */
    private final Ticker ticker;
    /** What one ping or pong uses of the allowance, in nanoseconds: one over its rate. */
    private final long controlFrameNanos;
    private final byte[] tooBig;
    private final byte[] unmasked = closeFrame(PROTOCOL_ERROR, "a client's frame must be masked");
    private final byte[] reservedBits = closeFrame(PROTOCOL_ERROR, "reserved bits set: no extension was agreed");
    private final byte[] reservedOpcode = closeFrame(PROTOCOL_ERROR, "reserved opcode");
    private final byte[] controlFlood = closeFrame(POLICY_VIOLATION, "more than " + CONTROL_FRAMES_PER_SECOND
            + " pings and pongs a second");

    /**
     * @param pingInterval how often the endpoint pings each connection: a pong answering each is
     *        allowed on top of {@link #CONTROL_FRAMES_PER_SECOND}
     * @param ticker       the clock the pace is counted on
     */
    FrameHeaderGuard(int maxFrameBytes, Duration pingInterval, Ticker ticker) {
        this.maxFrameBytes = maxFrameBytes;
        this.ticker = ticker;
        this.tooBig = closeFrame(TOO_BIG, "frame larger than " + maxFrameBytes + " bytes");
        double perSecond = CONTROL_FRAMES_PER_SECOND + (double) TimeUnit.SECONDS.toNanos(1) / pingInterval.toNanos();
        this.controlFrameNanos = (long) (TimeUnit.SECONDS.toNanos(1) / perSecond);
    }

    /** A close frame, as a server sends it (unmasked), with {@code code} and a reason under 124 bytes. */
    private static byte[] closeFrame(int code, String why) {
        byte[] reason = why.getBytes(StandardCharsets.UTF_8);
        byte[] frame = new byte[4 + reason.length];
        frame[0] = (byte) 0x88; // FIN, close
        frame[1] = (byte) (2 + reason.length); // under 126: the length fits in this byte
        frame[2] = (byte) (code >> 8);
        frame[3] = (byte) code;
        System.arraycopy(reason, 0, frame, 4, reason.length);
        return frame;
    }

    @Override
    public NextAction handleRead(FilterChainContext ctx) {
        Connection<?> connection = ctx.getConnection();
        Buffer read = ctx.getMessage();
        if (refused.isSet(connection)) {
            read.tryDispose();
            return ctx.getStopAction();
        }
        Cursor cursor = cursors.get(connection);
        byte[] header = cursor != null ? cursor.header : new byte[MAX_HEADER];
        int headerBytes = cursor != null ? cursor.headerBytes : 0;
        long payloadLeft = cursor != null ? cursor.payloadLeft : 0;
        int at = read.position();
        int end = read.limit();
        while (at < end) {
            if (payloadLeft > 0) {
                int skipped = (int) Math.min(payloadLeft, end - at);
                at += skipped;
                payloadLeft -= skipped;
                continue;
            }
            header[headerBytes++] = read.get(at++);
            int needed = headerLength(header, headerBytes);
            if (headerBytes == needed) {
                long length = payloadLength(header);
                byte[] refusal = refusal(header, length);
                if (refusal == null && isPingOrPong(header) && !paced(connection)) {
                    refusal = controlFlood;
                }
                if (refusal != null) {
                    cursors.remove(connection);
                    refused.set(connection, Boolean.TRUE);
                    refuse(ctx, connection, refusal);
                    read.tryDispose();
                    return ctx.getStopAction();
                }
                payloadLeft = length;
                headerBytes = 0;
            }
        }
        if (headerBytes == 0 && payloadLeft == 0) {
            if (cursor != null) {
                cursors.remove(connection);
            }
        } else {
            if (cursor == null) {
                cursor = new Cursor();
                System.arraycopy(header, 0, cursor.header, 0, headerBytes);
                cursors.set(connection, cursor);
            }
            cursor.headerBytes = headerBytes;
            cursor.payloadLeft = payloadLeft;
        }
        return ctx.getInvokeAction();
    }

    private static boolean isPingOrPong(byte[] header) {
        int opcode = header[0] & 0x0f;
        return opcode == PING || opcode == PONG;
    }

    /** Counts a ping or pong of {@code connection}: whether it is within the allowance. */
    private boolean paced(Connection<?> connection) {
        Pace pace = paces.get(connection);
        if (pace == null) {
            pace = new Pace();
            paces.set(connection, pace);
        }
        return paced(pace, ticker.read());
    }

    /** Counts a ping or pong at {@code now} against {@code pace}: whether it is within the allowance. */
    boolean paced(Pace pace, long now) {
        long fullAt = pace.fullAt == 0 || pace.fullAt - now < 0 ? now : pace.fullAt;
        long next = fullAt + controlFrameNanos;
        if (next - now > CONTROL_FRAME_BURST * controlFrameNanos) {
            return false;
        }
        pace.fullAt = next;
        return true;
    }

    /** The close frame that refuses a frame with this complete {@code header}, or null if it may pass. */
    private byte[] refusal(byte[] header, long length) {
        if ((header[1] & 0x80) == 0) {
            return unmasked;
        }
        if ((header[0] & 0x70) != 0) {
            return reservedBits;
        }
        int opcode = header[0] & 0x0f;
        if (opcode > 2 && opcode != 8 && opcode != 9 && opcode != 10) {
            return reservedOpcode;
        }
        return length < 0 || length > maxFrameBytes ? tooBig : null;
    }

    /** The header's length once its first {@code have} bytes are known (2 until the second byte is). */
    private static int headerLength(byte[] header, int have) {
        if (have < 2) {
            return 2;
        }
        int length7 = header[1] & 0x7f;
        int extended = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
        int mask = (header[1] & 0x80) != 0 ? 4 : 0;
        return 2 + extended + mask;
    }

    /** The payload length a complete header announces; negative for a 64-bit length with its top bit set. */
    private static long payloadLength(byte[] header) {
        int length7 = header[1] & 0x7f;
        if (length7 < 126) {
            return length7;
        }
        int bytes = length7 == 126 ? 2 : 8;
        long length = 0;
        for (int i = 0; i < bytes; i++) {
            length = (length << 8) | (header[2 + i] & 0xff);
        }
        return length;
    }

    /** Sends {@code closeFrame}, then closes the connection. */
    private static void refuse(FilterChainContext ctx, Connection<?> connection, byte[] closeFrame) {
        ctx.write(Buffers.wrap(ctx.getMemoryManager(), closeFrame), RefusalFilter.thenClose(connection, null));
    }
}
