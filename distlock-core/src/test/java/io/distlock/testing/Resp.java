package io.distlock.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/** Just enough RESP for {@link TcpProxy}'s capture: commands as arrays of bulk strings. */
final class Resp {

    private Resp() { }

    /** Splits one client's byte stream into commands, handing on those that began while capturing. */
    static final class Splitter {
        private byte[] pending = new byte[0];
        private boolean pendingCaptured;

        void feed(byte[] bytes, boolean capturing, Consumer<byte[]> captured) {
            if (pending.length == 0) {
                pendingCaptured = capturing;
            }
            byte[] all = Arrays.copyOf(pending, pending.length + bytes.length);
            System.arraycopy(bytes, 0, all, pending.length, bytes.length);
            int from = 0;
            for (int end = commandEnd(all, from); end > 0; end = commandEnd(all, from)) {
                if (pendingCaptured) {
                    captured.accept(Arrays.copyOfRange(all, from, end));
                }
                from = end;
                pendingCaptured = capturing; // the next command begins in these bytes
            }
            pending = Arrays.copyOfRange(all, from, all.length);
        }
    }

    /** The end (exclusive) of the command that starts at {@code from}, or -1 if it is not complete yet. */
    static int commandEnd(byte[] b, int from) {
        if (from >= b.length) {
            return -1;
        }
        int eol = crlf(b, from);
        if (eol < 0) {
            return -1;
        }
        if (b[from] != '*') {
            return eol + 2; // an inline command: one line
        }
        int n = Integer.parseInt(new String(b, from + 1, eol - from - 1, StandardCharsets.US_ASCII));
        int pos = eol + 2;
        for (int i = 0; i < n; i++) {
            int lineEnd = crlf(b, pos);
            if (lineEnd < 0) {
                return -1;
            }
            int length = Integer.parseInt(new String(b, pos + 1, lineEnd - pos - 1, StandardCharsets.US_ASCII));
            pos = lineEnd + 2 + length + 2;
            if (pos > b.length) {
                return -1;
            }
        }
        return pos;
    }

    /** The arguments of one command, or null if it is not an array of bulk strings. */
    static List<String> parse(byte[] command) {
        if (command.length == 0 || command[0] != '*') {
            return null;
        }
        int eol = crlf(command, 0);
        int n = Integer.parseInt(new String(command, 1, eol - 1, StandardCharsets.US_ASCII));
        List<String> args = new ArrayList<>(n);
        int pos = eol + 2;
        for (int i = 0; i < n; i++) {
            int lineEnd = crlf(command, pos);
            int length = Integer.parseInt(new String(command, pos + 1, lineEnd - pos - 1, StandardCharsets.US_ASCII));
            args.add(new String(command, lineEnd + 2, length, StandardCharsets.UTF_8));
            pos = lineEnd + 2 + length + 2;
        }
        return args;
    }

    static byte[] encode(List<String> args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(("*" + args.size() + "\r\n").getBytes(StandardCharsets.US_ASCII));
        for (String arg : args) {
            byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
            out.writeBytes(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(bytes);
            out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        return out.toByteArray();
    }

    private static int crlf(byte[] b, int from) {
        for (int i = from; i + 1 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n') {
                return i;
            }
        }
        return -1;
    }
}
