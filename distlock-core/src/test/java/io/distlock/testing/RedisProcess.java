package io.distlock.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import redis.embedded.core.ExecutableProvider;

/**
 * A real {@code redis-server} process on a free loopback port, for tests: start, kill
 * ({@code SIGKILL}), pause ({@code SIGSTOP}) and resume, restart on the same port, close.
 *
 * <p>The binary is, in order: the file named by the system property {@code distlock.redis.binary},
 * a {@code redis-server} on the PATH, or the one shipped in the embedded-redis jar. Nothing
 * is persisted: a restart starts empty, as a Redis without persistence does. Every process
 * is also killed by a shutdown hook, so a failing test leaves none behind.
 *
 * <p>A primary started here is {@linkplain #markInService(String) marked as in service} for the
 * default key prefix {@code distlock}: it looks like a Redis that has served locks before without
 * losing data, so the first lock of a test is granted at once instead of waiting out the core's
 * quarantine after a possible data loss (which a brand-new Redis cannot be told apart from). A
 * {@link #restart()} is a data loss, as in production: the Redis comes back empty, unmarked.
 *
 * <p>A Redis with a password or ACL users is started with {@link #startWithLogin}: the login is
 * what this class's own connections send first ({@code AUTH}), for its readiness check and raw
 * commands. {@link #startWithTls} adds a TLS port to the plain one, which stays for this
 * class's own connections; clients under test are given {@link #tlsPort()} only.
 */
public final class RedisProcess implements AutoCloseable {

    private static final Set<RedisProcess> RUNNING = ConcurrentHashMap.newKeySet();
    private static final String DEFAULT_KEY_PREFIX = "distlock";
    private static volatile File binary;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(RedisProcess::kill), "redis-process-cleanup"));
    }

    private int port;
    private int tlsPort;
    private final List<String> login;
    private final List<String> extraArgs;
    private final Path dir;
    private Process process;

    private RedisProcess(int port, List<String> login, List<String> extraArgs) {
        this.port = port;
        this.login = List.copyOf(login);
        this.extraArgs = List.copyOf(extraArgs);
        try {
            this.dir = Files.createTempDirectory("distlock-redis-" + port + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts a Redis on a free port; extra arguments are passed as {@code redis-server} options. */
    public static RedisProcess start(String... extraArgs) {
        return start(new RedisProcess(freePort(), List.of(), List.of(extraArgs)));
    }

    /**
     * As {@link #start}, for a Redis that wants a login: {@code login} is what {@code AUTH} gets on
     * this class's own connections ({@code "password"} for {@code --requirepass password}, or
     * {@code "user", "password"} for an ACL user that may run INFO and SET).
     */
    public static RedisProcess startWithLogin(List<String> login, String... extraArgs) {
        return start(new RedisProcess(freePort(), login, List.of(extraArgs)));
    }

    /**
     * As {@link #start}, with a TLS port too ({@code --tls-port}, these certificate files, clients not
     * asked for certificates); the plain port stays for this class's own connections.
     */
    public static RedisProcess startWithTls(Path certFile, Path keyFile, Path caCertFile, String... extraArgs) {
        return startWithTls(List.of(), certFile, keyFile, caCertFile, extraArgs);
    }

    /** {@link #startWithTls} and {@link #startWithLogin} together. */
    public static RedisProcess startWithTls(List<String> login, Path certFile, Path keyFile, Path caCertFile, String... extraArgs) {
        List<String> args = new ArrayList<>(List.of("--tls-cert-file", certFile.toString(), "--tls-key-file", keyFile.toString(),
                "--tls-ca-cert-file", caCertFile.toString(), "--tls-auth-clients", "no"));
        args.addAll(List.of(extraArgs));
        RedisProcess redis = new RedisProcess(freePort(), login, args);
        redis.tlsPort = freePort();
        return start(redis);
    }

    private static RedisProcess start(RedisProcess redis) {
        // Another JVM may have been handed the same free port and started its Redis there
        // first: then ours cannot bind and we must not mistake theirs for ours.
        for (int attempt = 1; ; attempt++) {
            try {
                redis.launch();
                redis.markInService(DEFAULT_KEY_PREFIX);
                return redis;
            } catch (PortTakenException e) {
                if (attempt == 5) {
                    throw new IllegalStateException("Could not find a free port for Redis", e);
                }
                redis.port = freePort();
                if (redis.tlsPort != 0) {
                    redis.tlsPort = freePort();
                }
            }
        }
    }

    private static final class PortTakenException extends RuntimeException {
        PortTakenException(String message) {
            super(message);
        }
    }

    public int port() {
        return port;
    }

    /** {@code redis://127.0.0.1:<port>} */
    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    /** The TLS port of a Redis from {@link #startWithTls}; 0 for others. */
    public int tlsPort() {
        return tlsPort;
    }

    public long pid() {
        return process.pid();
    }

    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** A new connection for raw commands (INFO, DEBUG SLEEP, CLIENT KILL...). */
    public RespConnection connect() {
        RespConnection c = new RespConnection("127.0.0.1", port);
        if (!login.isEmpty()) {
            List<String> auth = new ArrayList<>(List.of("AUTH"));
            auth.addAll(login);
            try {
                c.command(auth.toArray(String[]::new));
            } catch (RuntimeException e) {
                c.close();
                throw e;
            }
        }
        return c;
    }

    /** Sends one command on a fresh connection and returns the reply. */
    public Object command(String... args) {
        try (RespConnection c = connect()) {
            return c.command(args);
        }
    }

    /**
     * Writes what the core's grants keep in Redis for {@code keyPrefix} to tell a data loss: the
     * marker {@code <prefix>:epoch} naming this process as the primary that granted last, with no
     * quarantine running (the format is in the core's {@code RedisLockStore.QUARANTINE}). The
     * next grant then goes through at once, as on a Redis that has served locks before. Does
     * nothing on a replica, a Cluster node, or a primary that refuses writes until its replicas
     * attach ({@code min-replicas-to-write}): there the first grant waits out a quarantine.
     */
    public RedisProcess markInService(String keyPrefix) {
        markInService(this::command, keyPrefix);
        return this;
    }

    static void markInService(Function<String[], Object> command, String keyPrefix) {
        String replication = String.valueOf(command.apply(new String[] {"INFO", "replication"}));
        String cluster = String.valueOf(command.apply(new String[] {"INFO", "cluster"}));
        if (!replication.contains("role:master\r\n") || cluster.contains("cluster_enabled:1")) {
            return;
        }
        String runId = infoField(String.valueOf(command.apply(new String[] {"INFO", "server"})), "run_id");
        String replId = infoField(replication, "master_replid");
        try {
            command.apply(new String[] {"SET", keyPrefix + ":epoch", runId + ":" + replId + ":0"});
        } catch (IllegalStateException e) {
            if (!String.valueOf(e.getMessage()).contains("NOREPLICAS")) {
                throw e;
            }
        }
    }

    /** The value of {@code field} in an INFO reply. */
    static String infoField(String info, String field) {
        for (String line : info.split("\r\n")) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1);
            }
        }
        throw new IllegalStateException("INFO has no " + field + ": " + info);
    }

    /** SIGKILL: the process dies at once, with all its data. */
    public synchronized void kill() {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        RUNNING.remove(this);
    }

    /** SIGSTOP: the process stops answering but keeps its sockets open. */
    public void pause() {
        signal("STOP");
    }

    /** SIGCONT after {@link #pause()}. */
    public void resume() {
        signal("CONT");
    }

    /** Kills the process and starts an empty one on the same port. */
    public synchronized void restart() {
        kill();
        launch();
    }

    /** After {@link #kill()}: starts an empty one on the same port (as {@link #restart()}, with an outage of the test's length between). */
    public synchronized void startAgain() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(this + " still runs");
        }
        launch();
    }

    @Override
    public synchronized void close() {
        kill();
        try (var files = Files.walk(dir)) {
            files.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temp directory left behind is harmless
        }
    }

    @Override
    public String toString() {
        return "redis-server on port " + port;
    }

    private synchronized void launch() {
        List<String> cmd = new ArrayList<>(List.of(binaryFile().getAbsolutePath(),
                "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", dir.toString(), "--protected-mode", "no", "--loglevel", "warning"));
        if (tlsPort != 0) {
            cmd.addAll(List.of("--tls-port", Integer.toString(tlsPort)));
        }
        cmd.addAll(extraArgs);
        try {
            process = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("redis.log").toFile())
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start " + cmd, e);
        }
        RUNNING.add(this);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            try (RespConnection c = connect()) {
                String info = String.valueOf(c.command("INFO", "server"));
                if (info.contains("process_id:" + process.pid() + "\r\n")) {
                    return;
                }
                kill();
                throw new PortTakenException("port " + port + " is served by another Redis");
            } catch (PortTakenException e) {
                throw e;
            } catch (RuntimeException e) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    String log = readLog();
                    kill();
                    if (tlsPort != 0 && log.contains("Failed listening on port " + tlsPort + " (TLS)")) {
                        throw new PortTakenException("TLS port " + tlsPort + " is taken");
                    }
                    throw new IllegalStateException("redis-server did not start on port " + port + ": " + log, e);
                }
            }
            Thread.onSpinWait();
            try {
                process.waitFor(20, TimeUnit.MILLISECONDS); // returns early only if it died
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting Redis", e);
            }
        }
    }

    private String readLog() {
        try {
            return Files.readString(dir.resolve("redis.log"));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private void signal(String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid())).inheritIO().start();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + signal + " " + pid() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The {@code redis-server} executable these processes run, for tests that start other
     * kinds of Redis processes themselves (a Sentinel: {@code redis-server <conf> --sentinel}).
     */
    public static Path binary() {
        return binaryFile().toPath().toAbsolutePath();
    }

    private static File binaryFile() {
        if (binary == null) {
            synchronized (RedisProcess.class) {
                if (binary == null) {
                    binary = findBinary();
                }
            }
        }
        return binary;
    }

    private static File findBinary() {
        String configured = System.getProperty("distlock.redis.binary");
        if (configured != null && !configured.isBlank()) {
            return new File(configured);
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            File candidate = new File(dir, "redis-server");
            if (candidate.canExecute()) {
                return candidate;
            }
        }
        try {
            File shipped = ExecutableProvider.newJarResourceProvider().get();
            shipped.setExecutable(true);
            return shipped;
        } catch (IOException e) {
            throw new UncheckedIOException("No redis-server: set -Ddistlock.redis.binary or put one on the PATH", e);
        }
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
