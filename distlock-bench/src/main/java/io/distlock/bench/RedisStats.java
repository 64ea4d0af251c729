package io.distlock.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code --redis-stats}: what Redis executed, from {@code INFO commandstats} and
 * {@code INFO cpu}, read over a plain socket in RESP (no client library, so that reading the
 * numbers adds nothing but the {@code INFO} calls themselves, which are left out).
 */
final class RedisStats {

    /** Calls per command, and Redis's CPU seconds (user + system). */
    record Snapshot(Map<String, Long> calls, double cpuSeconds) {

        /** Calls per command between {@code before} and this, without the {@code INFO} and {@code AUTH} calls. */
        Map<String, Long> since(Snapshot before) {
            Map<String, Long> delta = new TreeMap<>();
            calls.forEach((command, n) -> {
                long d = n - before.calls.getOrDefault(command, 0L);
                if (d > 0 && !command.equals("info") && !command.equals("auth") && !command.equals("hello")) {
                    delta.put(command, d);
                }
            });
            return delta;
        }
    }

    /**
     * Which share of each command's calls clients sent (the rest ran inside Lua scripts), from
     * a short {@code MONITOR} sample: {@code INFO commandstats} counts both alike, and a
     * command that runs in a script costs no round trip.
     */
    record Origins(Map<String, long[]> byCommand) {

        /** Calls that clients sent, of {@code calls}: each command weighted by its share in the sample. */
        double sentByClients(Map<String, Long> calls) {
            double sent = 0;
            for (Map.Entry<String, Long> e : calls.entrySet()) {
                long[] seen = byCommand.get(e.getKey());
                // never seen in the sample: assume a client sent it (the upper bound)
                sent += seen == null || seen[0] + seen[1] == 0 ? e.getValue() : e.getValue() * (double) seen[0] / (seen[0] + seen[1]);
            }
            return sent;
        }
    }

    private final String host;
    private final int port;
    private final String user;
    private final String password;

    RedisStats(String redisUrl) {
        URI uri = URI.create(redisUrl);
        if (!"redis".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("--redis-stats takes redis://[user:password@]host:port, was " + redisUrl);
        }
        this.host = uri.getHost();
        this.port = uri.getPort() < 0 ? 6379 : uri.getPort();
        String info = uri.getRawUserInfo();
        if (info == null) {
            user = null;
            password = null;
        } else {
            int colon = info.indexOf(':');
            String u = colon < 0 ? "" : URLDecoder.decode(info.substring(0, colon), StandardCharsets.UTF_8);
            user = u.isEmpty() ? null : u;
            password = URLDecoder.decode(colon < 0 ? info : info.substring(colon + 1), StandardCharsets.UTF_8);
        }
    }

    Snapshot snapshot() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 5000);
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            InputStream in = new BufferedInputStream(socket.getInputStream());
            if (password != null) {
                String reply = user == null ? command(out, in, "AUTH", password) : command(out, in, "AUTH", user, password);
                if (!reply.startsWith("OK")) {
                    throw new IOException("AUTH failed: " + reply);
                }
            }
            return parse(command(out, in, "INFO", "commandstats"), command(out, in, "INFO", "cpu"));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read INFO from Redis at " + host + ":" + port + ": " + e.getMessage(), e);
        }
    }

    /**
     * Watches {@code MONITOR} for {@code millis}: per command, how many calls came from
     * clients and how many from scripts ({@code [0 lua]}). MONITOR slows Redis down, so this
     * runs after the measured time.
     */
    Origins origins(long millis) {
        Map<String, long[]> seen = new TreeMap<>();
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 5000);
            socket.setSoTimeout(200);
            OutputStream out = socket.getOutputStream();
            InputStream in = new BufferedInputStream(socket.getInputStream());
            if (password != null) {
                if (user == null) {
                    command(out, in, "AUTH", password);
                } else {
                    command(out, in, "AUTH", user, password);
                }
            }
            out.write("*1\r\n$7\r\nMONITOR\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            long end = System.nanoTime() + millis * 1_000_000;
            while (System.nanoTime() < end) {
                String line;
                try {
                    line = line(in);
                } catch (java.net.SocketTimeoutException e) {
                    continue;
                }
                countMonitorLine(line, seen);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot MONITOR Redis at " + host + ":" + port + ": " + e.getMessage(), e);
        }
        return new Origins(seen);
    }

    /** {@code +1700000000.123456 [0 127.0.0.1:5555] "EVALSHA" ...} or {@code [0 lua] "HMGET" ...}. */
    static void countMonitorLine(String line, Map<String, long[]> seen) {
        int open = line.indexOf('[');
        int close = line.indexOf(']', open + 1);
        int quote = line.indexOf('"', close + 1);
        if (open < 0 || close < 0 || quote < 0) {
            return;
        }
        int end = line.indexOf('"', quote + 1);
        if (end < 0) {
            return;
        }
        String command = line.substring(quote + 1, end).toLowerCase(java.util.Locale.ROOT);
        boolean lua = line.substring(open + 1, close).endsWith(" lua");
        seen.computeIfAbsent(command, c -> new long[2])[lua ? 1 : 0]++;
    }

    static Snapshot parse(String commandStats, String cpu) {
        Map<String, Long> calls = new TreeMap<>();
        for (String line : commandStats.split("\r?\n")) {
            // cmdstat_evalsha:calls=12,usec=34,usec_per_call=2.83,rejected_calls=0,failed_calls=0
            if (line.startsWith("cmdstat_")) {
                int colon = line.indexOf(':');
                int from = line.indexOf("calls=", colon) + "calls=".length();
                int to = line.indexOf(',', from);
                calls.put(line.substring("cmdstat_".length(), colon).toLowerCase(java.util.Locale.ROOT),
                        Long.parseLong(line.substring(from, to < 0 ? line.length() : to).trim()));
            }
        }
        double seconds = 0;
        for (String line : cpu.split("\r?\n")) {
            if (line.startsWith("used_cpu_user:") || line.startsWith("used_cpu_sys:")) {
                seconds += Double.parseDouble(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        return new Snapshot(calls, seconds);
    }

    private static String command(OutputStream out, InputStream in, String... args) throws IOException {
        StringBuilder req = new StringBuilder().append('*').append(args.length).append("\r\n");
        for (String a : args) {
            byte[] b = a.getBytes(StandardCharsets.UTF_8);
            req.append('$').append(b.length).append("\r\n").append(a).append("\r\n");
        }
        out.write(req.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
        String head = line(in);
        switch (head.charAt(0)) {
            case '+':
                return head.substring(1);
            case '-':
                throw new IOException(head.substring(1));
            case '$': {
                int n = Integer.parseInt(head.substring(1));
                byte[] body = in.readNBytes(n + 2);
                return new String(body, 0, n, StandardCharsets.UTF_8);
            }
            default:
                throw new IOException("unexpected reply " + head);
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder s = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\r') {
                in.read();
                return s.toString();
            }
            s.append((char) c);
        }
        throw new IOException("Redis closed the connection");
    }
}
