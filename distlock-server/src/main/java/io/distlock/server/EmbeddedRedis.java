package io.distlock.server;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import redis.embedded.core.ExecutableProvider;

/**
 * A {@code redis-server} process of the server's own, from the binary shipped in the
 * embedded-redis jar: on a free loopback port, nothing persisted, stopped by {@link #close()}.
 *
 * <p>It listens on 127.0.0.1 only, without a password: other nodes on the same machine can
 * join it; nodes on other machines need a real Redis. Where {@code setsid} exists the process
 * runs in a session of its own, so that a Ctrl-C in the terminal reaches only the Java
 * process, which then releases its locks before it stops Redis (Redis would otherwise get the
 * same SIGINT and die first).
 *
 * <p>Redis dies with the JVM, even one killed with {@code kill -9}: where there is a POSIX
 * shell (Linux, macOS; tested on Linux) Redis runs under a small {@link #WATCHDOG} script that
 * reads its standard input, a pipe from this JVM. The kernel closes that pipe when the JVM
 * ends, however it ends; the script then stops Redis at once. {@link #close()} stops it the
 * same way, by closing the pipe. Elsewhere (Windows) Redis is started directly and a JVM that
 * is killed leaves it running.
 */
final class EmbeddedRedis implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(EmbeddedRedis.class.getName());
    private static final long START_TIMEOUT_MILLIS = 15_000;
    private static final int ATTEMPTS = 3;

    /**
     * Runs its arguments (redis-server and its options) and stops them when standard input
     * (the JVM's pipe) reaches its end. Redis is this shell's child, reaped only by the
     * {@code wait} below, so the pid the watchdog signals is still Redis's (the watchdog is
     * stopped right after that {@code wait}, and reaped, before the shell exits with Redis's
     * status). Redis reads {@code /dev/null}, not the pipe; only the watchdog holds it.
     */
    static final String WATCHDOG = String.join("\n",
            "exec 3<&0 </dev/null",
            "\"$@\" 3<&- &",
            "redis=$!",
            "{ read -r line <&3; kill -TERM \"$redis\" 2>/dev/null; } &",
            "watchdog=$!",
            "exec 3<&-",
            "wait \"$redis\"",
            "status=$?",
            "kill \"$watchdog\" 2>/dev/null",
            "wait \"$watchdog\" 2>/dev/null",
            "exit \"$status\"");
    private static final String PID_FILE = "redis.pid";

    private final int port;
    private final Path dir;
    /** What this JVM started: the watchdog shell, or redis-server itself without one. */
    private final Process process;
    private final ProcessHandle redis;

    private EmbeddedRedis(int port, Path dir, Process process, ProcessHandle redis) {
        this.port = port;
        this.dir = dir;
        this.process = process;
        this.redis = redis;
    }

    /**
     * Starts a Redis on a free port and waits until it answers PING.
     *
     * @throws StartupException if there is no binary for this platform or it does not start
     */
    static EmbeddedRedis start() {
        File binary;
        try {
            binary = ExecutableProvider.newJarResourceProvider().get();
            if (!binary.canExecute() && !binary.setExecutable(true)) {
                throw new IOException("cannot make " + binary + " executable");
            }
        } catch (IOException | RuntimeException e) {
            throw new StartupException("no embedded redis-server for this platform (" + System.getProperty("os.name") + " "
                    + System.getProperty("os.arch") + "): " + e.getMessage() + "; start Redis yourself and use --redis", e);
        }
        StartupException last = null;
        // A free port can be taken between finding it and Redis binding it; then try another.
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            try {
                EmbeddedRedis started = launch(binary, freeLoopbackPort());
                forget(binary);
                return started;
            } catch (StartupException e) {
                last = e;
                if (!String.valueOf(e.getMessage()).contains("in use")) {
                    break;
                }
            }
        }
        throw last;
    }

    int port() {
        return port;
    }

    /** {@code redis://127.0.0.1:<port>} */
    String url() {
        return "redis://127.0.0.1:" + port;
    }

    /** The redis-server's process id (not the watchdog's). */
    long pid() {
        return redis.pid();
    }

    boolean isAlive() {
        return redis.isAlive();
    }

    /** Stops Redis (SIGTERM, then SIGKILL after 5 s) and removes its working directory. Idempotent. */
    @Override
    public void close() {
        stop(process, redis.pid() != process.pid());
        deleteDirectory(dir);
    }

    private static EmbeddedRedis launch(File binary, int port) {
        Path dir;
        try {
            dir = Files.createTempDirectory("distlock-redis-" + port + "-");
        } catch (IOException e) {
            throw new StartupException("cannot create a directory for the embedded Redis: " + e.getMessage(), e);
        }
        List<String> command = new ArrayList<>();
        setsid().ifPresent(command::add);
        Optional<String> shell = shell();
        shell.ifPresent(sh -> command.addAll(List.of(sh, "-c", WATCHDOG, "distlock-redis-watchdog")));
        command.addAll(List.of(binary.getAbsolutePath(),
                "--port", Integer.toString(port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--dir", dir.toString(),
                "--pidfile", dir.resolve(PID_FILE).toString(),
                "--loglevel", "warning",
                // No password on 127.0.0.1: any local user reaches it. Without these, one could load a
                // module or point the dump file anywhere and run code or write files as this user.
                "--rename-command", "CONFIG", "",
                "--rename-command", "MODULE", "",
                "--rename-command", "DEBUG", ""));
        Path log = dir.resolve("redis.log");
        Process process;
        try {
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
        } catch (IOException e) {
            deleteDirectory(dir);
            throw new StartupException("cannot start the embedded redis-server: " + e.getMessage(), e);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_TIMEOUT_MILLIS);
        while (true) {
            if (answersPing(port)) {
                // Redis writes its pid file before it serves, so it is there once PING is answered.
                Optional<ProcessHandle> redis = shell.isPresent() ? redisProcess(dir.resolve(PID_FILE), process)
                        : Optional.of(process.toHandle());
                if (redis.isEmpty()) {
                    stop(process, true);
                    deleteDirectory(dir);
                    throw new StartupException("the embedded redis-server started but did not write its pid file");
                }
                LOG.log(Level.DEBUG, "Embedded redis-server {0} is up on port {1}",
                        Long.toString(redis.get().pid()), Integer.toString(port));
                return new EmbeddedRedis(port, dir, process, redis.get());
            }
            boolean died = !process.isAlive();
            if (died || System.nanoTime() > deadline) {
                stop(process, shell.isPresent());
                String lastLine = lastLine(log);
                deleteDirectory(dir);
                if (lastLine.contains("Address already in use")) {
                    throw new StartupException("port " + port + " for the embedded Redis is in use");
                }
                throw new StartupException("the embedded redis-server did not start"
                        + (died ? " (exit code " + process.exitValue() + ")" : " within " + START_TIMEOUT_MILLIS / 1000 + " s")
                        + (lastLine.isEmpty() ? "" : ": " + lastLine));
            }
            try {
                process.waitFor(25, TimeUnit.MILLISECONDS); // returns early only if it died
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop(process, shell.isPresent());
                deleteDirectory(dir);
                throw new StartupException("interrupted while starting the embedded Redis", e);
            }
        }
    }

    /** One PING over a fresh connection; true on {@code +PONG}. */
    private static boolean answersPing(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
            socket.setSoTimeout(1_000);
            OutputStream out = socket.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] reply = new byte[7];
            int read = 0;
            while (read < reply.length) {
                int n = in.read(reply, read, reply.length - read);
                if (n < 0) {
                    break;
                }
                read += n;
            }
            return new String(reply, 0, read, StandardCharsets.US_ASCII).startsWith("+PONG");
        } catch (IOException e) {
            return false;
        }
    }

    /** The redis-server that the watchdog {@code shell} started, named by Redis's pid file. */
    private static Optional<ProcessHandle> redisProcess(Path pidFile, Process shell) {
        try {
            long pid = Long.parseLong(Files.readString(pidFile, StandardCharsets.US_ASCII).trim());
            return shell.toHandle().children().filter(child -> child.pid() == pid).findFirst();
        } catch (IOException | UncheckedIOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * Stops what {@link #launch} started: a watchdog by the end of its input (it stops Redis,
     * waits for it and exits), redis-server itself by SIGTERM; SIGKILL to it and everything it
     * started after 5 s.
     */
    private static void stop(Process process, boolean watched) {
        if (!process.isAlive()) {
            return;
        }
        try {
            if (watched) {
                process.getOutputStream().close();
            } else {
                process.destroy();
            }
        } catch (IOException e) {
            process.destroy();
        }
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                LOG.log(Level.WARNING, "Embedded redis-server did not stop within 5 s; killing it");
                kill(process);
            }
        } catch (InterruptedException e) {
            kill(process);
            Thread.currentThread().interrupt();
        }
    }

    private static void kill(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly); // redis-server under a watchdog
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A POSIX shell for the watchdog, or empty where there is none (Windows). */
    private static Optional<String> shell() {
        if (System.getProperty("os.name", "").startsWith("Windows")) {
            return Optional.empty();
        }
        return new File("/bin/sh").canExecute() ? Optional.of("/bin/sh") : Optional.empty();
    }

    private static Optional<String> setsid() {
        for (String candidate : List.of("/usr/bin/setsid", "/bin/setsid")) {
            if (new File(candidate).canExecute()) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    private static String lastLine(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (!lines.get(i).isBlank()) {
                    return lines.get(i).trim();
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // no log: nothing to add
        }
        return "";
    }

    private static int freeLoopbackPort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new StartupException("cannot find a free port for the embedded Redis: " + e.getMessage(), e);
        }
    }

    /**
     * Deletes the binary the jar's provider copied out (10 MB, a new copy per start) as soon as
     * Redis runs from it: where a running program's file can be unlinked (Linux, macOS) nothing is
     * left behind even if this JVM is killed, when the provider's delete-on-exit never runs.
     * Elsewhere the delete fails and delete-on-exit stays.
     */
    private static void forget(File binary) {
        if (binary.delete()) {
            File dir = binary.getParentFile();
            if (dir != null) {
                dir.delete(); // the provider's own directory, if nothing else is in it
            }
        }
    }

    private static void deleteDirectory(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // a temporary directory left behind is harmless
        }
    }
}
