package io.distlock.server;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.distlock.testing.Await;

import org.awaitility.core.ConditionTimeoutException;

/**
 * A distlock server in a JVM process of its own, for tests that kill or signal a node. Its
 * console output goes to a temporary file, kept for assertions and failure messages. {@link #close()} kills the
 * process and everything it started (an embedded Redis) if it is still running; it touches
 * no other process.
 */
public final class NodeProcess implements AutoCloseable {

    private static final Pattern STARTED =
            Pattern.compile("distlock node (\\w+) listening on http://([^/]+):(\\d+)/ \\(WebSocket (ws://\\S+?)[,)]");
    /** What the server says when it cannot bind its port (WebServer's bind failure), before it exits with 1. */
    private static final Pattern PORT_IN_USE = Pattern.compile("distlock-server: port \\d+ is already in use on ");

    private final Process process;
    private final Path log;
    private final List<ProcessHandle> children = new ArrayList<>();
    private String nodeId;
    private int port;
    private URI webSocketUri;

    private NodeProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** {@code java -cp <this test's classpath> io.distlock.server.DistLockServer args}: the classes as Maven built them. */
    public static NodeProcess fromClasspath(String... args) {
        // Surefire may hide the real class path behind a manifest-only jar.
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(jvm());
        command.addAll(List.of("-cp", classpath, DistLockServer.class.getName()));
        command.addAll(List.of(args));
        return launch(command);
    }

    /** As {@link #fromClasspath}, with JVM options ({@code -Dname=value}) before the class name. */
    public static NodeProcess fromClasspathWithJvmOptions(List<String> jvmOptions, String... args) {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(jvm());
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", classpath, DistLockServer.class.getName()));
        command.addAll(List.of(args));
        return launch(command);
    }

    /**
     * As {@link #fromClasspath}, with the process's open-file limit set to {@code limit}
     * ({@code ulimit -n} in a shell that then becomes the JVM, so {@link #pid()} is the JVM's).
     * Needs {@code sh}: Linux or macOS.
     */
    public static NodeProcess fromClasspathWithFileLimit(int limit, String... args) {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of("sh", "-c", "ulimit -n " + limit + " && exec \"$@\"", "sh"));
        command.addAll(jvm());
        command.addAll(List.of("-cp", classpath, DistLockServer.class.getName()));
        command.addAll(List.of(args));
        return launch(command);
    }

    /** {@code java -jar jar args}: the shaded jar as users run it. */
    public static NodeProcess fromJar(Path jar, String... args) {
        List<String> command = new ArrayList<>(jvm());
        command.addAll(List.of("-jar", jar.toString()));
        command.addAll(List.of(args));
        return launch(command);
    }

    /** Runs to completion (for --help, --version, errors) and returns the output; fails the test after 60 s. */
    public static Result run(Path jar, String... args) {
        try (NodeProcess node = fromJar(jar, args)) {
            node.waitForExit(Await.seconds(60));
            return new Result(node.process.exitValue(), node.output());
        }
    }

    public record Result(int exitCode, String output) { }

    private static List<String> jvm() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // small and quick to start: these nodes serve a handful of connections
        return List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    }

    private static NodeProcess launch(List<String> command) {
        try {
            // Output goes to a file, not a pipe: the JDK closes a child's pipe when the child
            // exits, and a reader busy on it then loses the last lines (the shutdown messages).
            Path log = Files.createTempFile("distlock-node-", ".log");
            Process process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.PIPE)
                    .start();
            process.getOutputStream().close();
            return new NodeProcess(process, log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    /** Waits for the startup line; fails the test (and kills the process) if it does not come within 60 s. */
    public NodeProcess awaitStarted() {
        awaitStartupLineOrExit();
        if (!startupLineSeen()) {
            String seen = output();
            close();
            throw new AssertionError("the node did not start; its output:\n" + seen);
        }
        process.toHandle().descendants().forEach(children::add);
        return this;
    }

    /**
     * Waits (60 s at most) until the node has started or exited, and says whether it exited
     * because the port it was given is in use ("port N is already in use on host"): another
     * process bound the port a test had found free before the node could. A test that must know
     * the port before the node opens it, and so cannot pass {@code --port 0}, then starts a node
     * again on another port; otherwise {@link #awaitStarted()} reports what happened.
     */
    public boolean exitedBecausePortInUse() {
        awaitStartupLineOrExit();
        return !process.isAlive() && !startupLineSeen() && PORT_IN_USE.matcher(output()).find();
    }

    private void awaitStartupLineOrExit() {
        try {
            await().atMost(Await.seconds(60)).pollInterval(Duration.ofMillis(50))
                    .until(() -> startupLineSeen() || !process.isAlive());
        } catch (ConditionTimeoutException e) {
            // the caller reports it
        }
    }

    private boolean startupLineSeen() {
        Matcher m = STARTED.matcher(output());
        if (!m.find()) {
            return false;
        }
        port = Integer.parseInt(m.group(3));
        webSocketUri = URI.create(m.group(4));
        nodeId = m.group(1);
        return true;
    }

    public String nodeId() {
        return nodeId;
    }

    public int port() {
        return port;
    }

    public URI webSocketUri() {
        return webSocketUri;
    }

    /** The embedded Redis's URL from the startup line, or null if the node uses another Redis. */
    public String embeddedRedisUrl() {
        Matcher m = Pattern.compile("Redis (redis://\\S+) \\(embedded\\)").matcher(output());
        return m.find() ? m.group(1) : null;
    }

    public long pid() {
        return process.pid();
    }

    /** The processes this node started (its embedded redis-server), as seen once it had started. */
    public List<ProcessHandle> children() {
        return List.copyOf(children);
    }

    /** Everything the node printed so far, stdout and stderr. */
    public String output() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code kill -9}: the node dies at once, without releasing anything. */
    public void kill() {
        process.destroyForcibly();
        waitForExit(Await.seconds(10));
    }

    /** {@code kill -STOP}: the node freezes with its sockets open, as in a long GC pause. */
    public void pause() {
        signal("STOP");
    }

    /** {@code kill -CONT} after {@link #pause()}. */
    public void resume() {
        signal("CONT");
    }

    private void signal(String name) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid())).inheritIO().start();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new AssertionError("kill -" + name + " " + pid() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** {@code kill -TERM} and wait for the exit; returns the exit code. */
    public int terminate(Duration timeout) {
        sigterm();
        return awaitExit(timeout);
    }

    /** {@code kill -TERM}, without waiting for the exit ({@link #awaitExit}). */
    public void sigterm() {
        process.destroy();
    }

    /** Waits for the exit (AssertionError past {@code timeout}) and returns its code. */
    public int awaitExit(Duration timeout) {
        waitForExit(timeout);
        return process.exitValue();
    }

    private void waitForExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("node " + nodeId + " did not exit within " + timeout.toMillis() + " ms; output:\n" + output());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Kills the node if it still runs, and what it started; removes its log. */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // a node killed with -9 cannot stop its embedded Redis: do it for it
        for (ProcessHandle child : children) {
            if (child.isAlive()) {
                child.destroyForcibly();
            }
        }
        try {
            Files.deleteIfExists(log);
        } catch (IOException e) {
            // a temporary file left behind is harmless
        }
    }
}
