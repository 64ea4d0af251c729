package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

import io.distlock.testing.Await;

/** The embedded {@code redis-server} lives no longer than the node that started it, even one killed with {@code kill -9}. */
class EmbeddedRedisLifetimeTest {

    @Test
    @EnabledOnOs(OS.LINUX) // the watchdog needs a POSIX shell; documented as Linux-tested
    void killingTheNodeWithSigkillStopsItsEmbeddedRedis() {
        try (NodeProcess node = NodeProcess.fromClasspath("--host", "127.0.0.1", "--port", "0").awaitStarted()) {
            String url = node.embeddedRedisUrl();
            assertThat(url).as("the startup line names the embedded Redis").isNotNull();
            long redisPid = redisProcessId(URI.create(url));
            assertThat(ProcessHandle.of(redisPid)).as("redis-server %d runs", redisPid).hasValueSatisfying(p -> assertThat(p.isAlive()).isTrue());
            // The 10 MB binary it runs from, copied out of the jar, is already deleted: a killed node leaves it nowhere.
            String executable = executableOf(redisPid);
            assertThat(executable).endsWith(" (deleted)");
            assertThat(Path.of(executable.substring(0, executable.length() - " (deleted)".length()))).doesNotExist();

            node.kill(); // SIGKILL: no shutdown hook runs

            // close() would kill the node's children itself: this must happen without it
            await().atMost(Await.seconds(15)).pollInterval(Duration.ofMillis(100))
                    .until(() -> gone(redisPid));
        }
    }

    /** The pid of the Redis at {@code uri}, as it reports it ({@code INFO server}). */
    private static long redisProcessId(URI uri) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5_000);
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write("INFO server\r\nQUIT\r\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            in.transferTo(reply); // until QUIT closes the connection
            Matcher m = Pattern.compile("process_id:(\\d+)").matcher(reply.toString(StandardCharsets.US_ASCII));
            assertThat(m.find()).as("INFO server names the process").isTrue();
            return Long.parseLong(m.group(1));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String executableOf(long pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "exe")).toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** No such process, or a zombie (it has exited; nobody has reaped it yet). */
    private static boolean gone(long pid) {
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            try {
                String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
                return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
            } catch (IOException | RuntimeException e) {
                return true; // gone between the two looks
            }
        }
        return true;
    }
}
