package io.distlock.websocket;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;

/**
 * A WebSocket client written by hand on a plain socket, for what well-behaved clients never
 * do: ignore pings, or vanish without a close frame.
 */
final class RawWebSocket implements AutoCloseable {

    /** A frame from the server. */
    record Frame(int opcode, byte[] payload) {
        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    private RawWebSocket(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    static RawWebSocket open(URI uri) {
        return open(uri, 0);
    }

    /**
     * Opens with a receive buffer of {@code receiveBufferBytes} (0: the system's): a small one,
     * set before connecting, stops Linux from growing it, so a client that does not read
     * backs up the server's sends after a few hundred kilobytes instead of tens of megabytes.
     */
    static RawWebSocket open(URI uri, int receiveBufferBytes) {
        return open(uri, null, receiveBufferBytes, Map.of());
    }

    /**
     * Opens from the local address {@code from} (null: the system's choice; {@code 127.0.0.2}
     * makes another client on loopback), with extra handshake {@code headers}.
     */
    static RawWebSocket open(URI uri, String from, Map<String, String> headers) {
        return open(uri, from, 0, headers);
    }

    private static RawWebSocket open(URI uri, String from, int receiveBufferBytes, Map<String, String> headers) {
        Socket socket = null;
        try {
            socket = new Socket();
            if (receiveBufferBytes > 0) {
                socket.setReceiveBufferSize(receiveBufferBytes);
            }
            connect(socket, uri, from);
            socket.setSoTimeout(10_000);
            RawWebSocket ws = new RawWebSocket(socket);
            ws.handshake(uri, headers);
            return ws;
        } catch (IOException e) {
            closeQuietly(socket);
            throw new UncheckedIOException(e);
        }
    }

    private static void connect(Socket socket, URI uri, String from) throws IOException {
        if (from != null) {
            socket.bind(new InetSocketAddress(from, 0));
        }
        socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5_000);
    }

    private static void closeQuietly(Socket socket) {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException e) {
                // a test socket
            }
        }
    }

    /**
     * The HTTP status a server answers to a WebSocket handshake with these extra headers (a
     * {@code Host} among them replaces the URI's), read from the status line alone: a refusal
     * need not come with a length or a close (Tyrus sends neither), which is fine for browsers
     * but not for clients that read on.
     */
    static int handshakeStatus(URI uri, Map<String, String> headers) {
        return handshakeStatus(uri, null, headers);
    }

    /** As {@link #handshakeStatus(URI, Map)}, from the local address {@code from} (null: any). */
    static int handshakeStatus(URI uri, String from, Map<String, String> headers) {
        try (Socket socket = new Socket()) {
            connect(socket, uri, from);
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(handshakeRequest(uri, headers).getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            InputStream in = socket.getInputStream();
            int b;
            while ((b = in.read()) >= 0 && b != '\n') {
                line.write(b);
            }
            String[] parts = line.toString(StandardCharsets.US_ASCII).split(" ");
            return Integer.parseInt(parts[1]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String handshakeRequest(URI uri, Map<String, String> headers) {
        byte[] key = new byte[16];
        RANDOM.nextBytes(key);
        // A Host among the headers replaces the URI's (a browser that reached the server by another name).
        boolean ownHost = headers.keySet().stream().anyMatch("Host"::equalsIgnoreCase);
        StringBuilder request = new StringBuilder("GET " + uri.getRawPath()
                + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery()) + " HTTP/1.1\r\n"
                + (ownHost ? "" : "Host: " + uri.getHost() + ":" + uri.getPort() + "\r\n")
                + "Upgrade: websocket\r\n"
                + "Connection: Upgrade\r\n"
                + "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(key) + "\r\n"
                + "Sec-WebSocket-Version: 13\r\n");
        headers.forEach((name, value) -> {
            if (value != null) { // a null Host: none at all
                request.append(name).append(": ").append(value).append("\r\n");
            }
        });
        return request.append("\r\n").toString();
    }

    private void handshake(URI uri, Map<String, String> headers) throws IOException {
        out.write(handshakeRequest(uri, headers).getBytes(StandardCharsets.US_ASCII));
        out.flush();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        byte[] end = {'\r', '\n', '\r', '\n'};
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed during the handshake: " + head);
            }
            head.write(b);
            matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String status = head.toString(StandardCharsets.US_ASCII).lines().findFirst().orElse("");
        if (!status.contains(" 101 ")) {
            throw new IOException("handshake refused: " + status);
        }
    }

    void sendText(String text) {
        byte[] payload = text.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.write(0x81);
        if (payload.length < 126) {
            frame.write(0x80 | payload.length);
        } else {
            frame.write(0x80 | 126);
            frame.write(payload.length >>> 8);
            frame.write(payload.length & 0xff);
        }
        byte[] mask = new byte[4];
        RANDOM.nextBytes(mask);
        frame.writeBytes(mask);
        for (int i = 0; i < payload.length; i++) {
            frame.write(payload[i] ^ mask[i % 4]);
        }
        try {
            out.write(frame.toByteArray());
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- a frame writer, for frames no well-behaved client sends ----

    /**
     * Writes one frame exactly as described: FIN, the three RSV bits ({@code rsv} 0 to 7, RSV1
     * is 4), any opcode, masked (with a random key) or not, the shortest length encoding.
     * A write failure (the server closed first) is ignored: what the server did is read next.
     */
    void sendFrame(boolean fin, int rsv, int opcode, boolean masked, byte[] payload) {
        sendBytes(encode(fin, rsv, opcode, masked, payload));
    }

    /** The bytes of one frame as {@link #sendFrame(boolean, int, int, boolean, byte[])} writes it. */
    static byte[] encode(boolean fin, int rsv, int opcode, boolean masked, byte[] payload) {
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        writeHeader(frame, fin, rsv, opcode, masked, payload.length);
        byte[] mask = new byte[4];
        if (masked) {
            RANDOM.nextBytes(mask);
            frame.writeBytes(mask);
        }
        for (int i = 0; i < payload.length; i++) {
            frame.write(payload[i] ^ mask[i % 4]);
        }
        return frame.toByteArray();
    }

    /** A masked, final frame of {@code opcode}. */
    void sendFrame(int opcode, byte[] payload) {
        sendFrame(true, 0, opcode, true, payload);
    }

    /**
     * Writes a frame header that declares {@code declaredLength} payload bytes (up to 2^64-1,
     * read as unsigned), followed by only {@code payload}: a lie about the length. Masked with
     * the all-zero key, so that more payload can follow as plain bytes ({@link #sendBytes}).
     */
    void sendHeaderOnly(boolean fin, int opcode, long declaredLength, byte[] payload) {
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.write((fin ? 0x80 : 0) | (opcode & 0x0f));
        frame.write(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8) {
            frame.write((int) (declaredLength >>> shift) & 0xff);
        }
        frame.writeBytes(new byte[4]); // the mask key: zero, XOR changes nothing
        frame.writeBytes(payload);
        sendBytes(frame.toByteArray());
    }

    /** A close frame with {@code code} and a reason of raw bytes (which need not be UTF-8). */
    void sendClose(int code, byte[] reason) {
        byte[] payload = new byte[2 + reason.length];
        payload[0] = (byte) (code >>> 8);
        payload[1] = (byte) code;
        System.arraycopy(reason, 0, payload, 2, reason.length);
        sendFrame(0x8, payload);
    }

    /** Raw bytes on the socket; a failure (the server closed first) is ignored. */
    void sendBytes(byte[] bytes) {
        trySendBytes(bytes);
    }

    /** Raw bytes on the socket; false if the write failed (the server closed first). */
    boolean trySendBytes(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether the server has sent something (or closed) that is not read yet, without blocking. */
    boolean inputReady() {
        try {
            return in.available() > 0 || socket.isInputShutdown();
        } catch (IOException e) {
            return true;
        }
    }

    private static void writeHeader(ByteArrayOutputStream frame, boolean fin, int rsv, int opcode, boolean masked, int length) {
        frame.write((fin ? 0x80 : 0) | (rsv & 0x07) << 4 | (opcode & 0x0f));
        int maskBit = masked ? 0x80 : 0;
        if (length < 126) {
            frame.write(maskBit | length);
        } else if (length < 65536) {
            frame.write(maskBit | 126);
            frame.write(length >>> 8);
            frame.write(length & 0xff);
        } else {
            frame.write(maskBit | 127);
            for (int shift = 56; shift >= 0; shift -= 8) {
                frame.write((int) ((long) length >>> shift) & 0xff);
            }
        }
    }

    /** The next frame of any kind (pings are not answered), or null on timeout. */
    Frame readFrame(Duration timeout) {
        try {
            socket.setSoTimeout((int) Math.max(1, timeout.toMillis()));
            int b0 = in.read();
            if (b0 < 0) {
                return new Frame(-1, new byte[0]); // end of stream
            }
            int b1 = in.readUnsignedByte();
            long length = b1 & 0x7f;
            if (length == 126) {
                length = in.readUnsignedShort();
            } else if (length == 127) {
                length = in.readLong();
            }
            byte[] payload = new byte[(int) length];
            in.readFully(payload);
            return new Frame(b0 & 0x0f, payload);
        } catch (SocketTimeoutException e) {
            return null;
        } catch (IOException e) {
            return new Frame(-1, new byte[0]); // reset counts as the end
        }
    }

    /** The next text frame, skipping pings; fails on timeout or end of stream. */
    String readText(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Frame frame = readFrame(Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime())));
            if (frame == null || frame.opcode() == -1 || frame.opcode() == 8) {
                throw new AssertionError("no text frame: " + frame);
            }
            if (frame.opcode() == 1) {
                return frame.text();
            }
        }
    }

    /** Drops the connection with a TCP reset: no close frame, no FIN. */
    void drop() {
        try {
            socket.setSoLinger(true, 0);
            socket.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // a test socket
        }
    }
}
