package io.distlock.server;

import java.nio.charset.StandardCharsets;

import org.glassfish.grizzly.Buffer;
import org.glassfish.grizzly.Connection;
import org.glassfish.grizzly.EmptyCompletionHandler;
import org.glassfish.grizzly.Grizzly;
import org.glassfish.grizzly.WriteResult;
import org.glassfish.grizzly.attributes.Attribute;
import org.glassfish.grizzly.filterchain.BaseFilter;
import org.glassfish.grizzly.filterchain.FilterChainContext;
import org.glassfish.grizzly.filterchain.NextAction;
import org.glassfish.grizzly.memory.Buffers;

/**
 * On the chain of upgraded connections ({@link UpgradedChain}), below Tyrus: closes a connection
 * with 1009 as soon as a frame's header says it is larger than the endpoint's frame limit.
 *
 * <p>Why: Tyrus reads a frame whole, into a buffer that may grow to its incoming buffer size
 * (4 MiB), before the endpoint's limit ({@code setMaxTextMessageBufferSize}) is checked. A client
 * that announced a large frame and sent it slowly, or never finished it, held up to 4 MiB of
 * heap per connection (40 connections: 840 MB) and got 1011 "Buffer overflow." at the end. Here
 * the header alone decides: nothing of such a frame reaches Tyrus.
 *
 * <p>It reads only frame headers (2 to 14 bytes) and skips payloads without copying them; a
 * connection keeps state between reads only while it is inside a frame.
 */
final class FrameSizeGuard extends BaseFilter {

    private static final int TOO_BIG = 1009;
    private static final int MAX_HEADER = 14;

    /** Where a connection is in its frames, between reads that end inside one. */
    private static final class Cursor {
        final byte[] header = new byte[MAX_HEADER];
        int headerBytes;
        long payloadLeft;
    }

    private final Attribute<Cursor> cursors = Grizzly.DEFAULT_ATTRIBUTE_BUILDER.createAttribute("distlock.frame-cursor");
    private final int maxFrameBytes;
    private final byte[] closeFrame;

    FrameSizeGuard(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
        byte[] reason = ("frame larger than " + maxFrameBytes + " bytes").getBytes(StandardCharsets.UTF_8);
        closeFrame = new byte[4 + reason.length];
        closeFrame[0] = (byte) 0x88; // FIN, close
        closeFrame[1] = (byte) (2 + reason.length); // under 126: one length byte, unmasked (from a server)
        closeFrame[2] = (byte) (TOO_BIG >> 8);
        closeFrame[3] = (byte) TOO_BIG;
        System.arraycopy(reason, 0, closeFrame, 4, reason.length);
    }

    @Override
    public NextAction handleRead(FilterChainContext ctx) {
        Connection<?> connection = ctx.getConnection();
        Buffer read = ctx.getMessage();
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
                if (length < 0 || length > maxFrameBytes) {
                    cursors.remove(connection);
                    refuse(ctx, connection);
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

    /** Sends the close frame with 1009, then closes the connection. */
    private void refuse(FilterChainContext ctx, Connection<?> connection) {
        ctx.write(Buffers.wrap(ctx.getMemoryManager(), closeFrame), new EmptyCompletionHandler<WriteResult>() {
            @Override
            public void completed(WriteResult result) {
                connection.closeSilently();
            }

            @Override
            public void failed(Throwable failure) {
                connection.closeSilently();
            }
        });
    }
}
