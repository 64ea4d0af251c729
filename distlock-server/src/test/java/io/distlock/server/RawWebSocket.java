package io.distlock.server;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Base64;

import io.distlock.testing.Await;

/**
 * WebSocket frames by hand on a plain socket, for tests that send what no client library sends
 * (oversized or reserved frames, floods) or that must not read what they are sent. Frames from
 * the client are masked with a zero key, so their payload goes as is.
 */
final class RawWebSocket {

    record Frame(int opcode, byte[] payload) { }

    private RawWebSocket() { }

    /**
     * A socket past its WebSocket handshake on {@code /distlock/lock} at 127.0.0.1:{@code port};
     * with a receive buffer of {@code receiveBuffer} bytes, or the system's default for 0.
     */
    static Socket upgraded(int port, int receiveBuffer) throws IOException {
        Socket socket = new Socket();
        if (receiveBuffer > 0) {
            socket.setReceiveBufferSize(receiveBuffer);
        }
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.setSoTimeout((int) Await.seconds(10).toMillis());
        String key = Base64.getEncoder().encodeToString(new byte[16]);
        socket.getOutputStream().write(("GET /distlock/lock HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n\r\n").getBytes(US_ASCII));
        StringBuilder head = new StringBuilder();
        InputStream in = socket.getInputStream();
        while (head.indexOf("\r\n\r\n") < 0) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed during the handshake: " + head);
            }
            head.append((char) b);
        }
        assertThat(head.toString()).startsWith("HTTP/1.1 101 ");
        return socket;
    }

    /** The header of a final, masked text frame announcing {@code length} bytes (any length, even a lie). */
    static byte[] textHeader(long length) {
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        header.write(0x81);
        if (length < 126 && length >= 0) {
            header.write(0x80 | (int) length);
        } else if (length < 65_536 && length >= 0) {
            header.write(0x80 | 126);
            header.write((int) (length >> 8));
            header.write((int) length);
        } else {
            header.write(0x80 | 127);
            for (int shift = 56; shift >= 0; shift -= 8) {
                header.write((int) (length >> shift));
            }
        }
        header.writeBytes(new byte[4]);
        return header.toByteArray();
    }

    /** A final, masked text frame of {@code text}. */
    static byte[] text(String text) {
        byte[] payload = text.getBytes(UTF_8);
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.writeBytes(textHeader(payload.length));
        frame.writeBytes(payload);
        return frame.toByteArray();
    }

    /** A whole frame of under 126 bytes: its first byte as given, masked or not. */
    static byte[] frame(int first, boolean masked, byte[] payload) {
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.write(first);
        frame.write((masked ? 0x80 : 0) | payload.length);
        if (masked) {
            frame.writeBytes(new byte[4]);
        }
        frame.writeBytes(payload);
        return frame.toByteArray();
    }

    /** The next frame from the server (unmasked). */
    static Frame readFrame(InputStream in) throws IOException {
        DataInputStream data = new DataInputStream(in);
        int first = data.readUnsignedByte();
        int second = data.readUnsignedByte();
        long length = second & 0x7f;
        if (length == 126) {
            length = data.readUnsignedShort();
        } else if (length == 127) {
            length = data.readLong();
        }
        byte[] payload = new byte[(int) length];
        data.readFully(payload);
        return new Frame(first & 0x0f, payload);
    }

    /** The next frame with {@code opcode}, skipping others (pongs, pushes). */
    static Frame readUntil(InputStream in, int opcode) throws IOException {
        while (true) {
            Frame frame = readFrame(in);
            if (frame.opcode() == opcode) {
                return frame;
            }
        }
    }
}
