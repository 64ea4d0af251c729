package io.distlock.testing;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** TcpProxy against an echo server on loopback; only lower bounds on time, never sleeps. */
class TcpProxyTest {

    private static final Duration PATIENCE = Duration.ofSeconds(10);
    /** How long a held connection must stay silent; a lower bound on the hold, not a speed claim. */
    private static final int SILENCE_MILLIS = 300;

    private final List<Socket> clients = new ArrayList<>();
    private EchoServer echo;
    private TcpProxy proxy;

    @BeforeEach
    void startEchoAndProxy() throws IOException {
        echo = new EchoServer();
        proxy = TcpProxy.start(echo.port());
    }

    @AfterEach
    void closeAllAndCheckNoThreadIsLeft() {
        clients.forEach(TcpProxyTest::closeQuietly);
        proxy.close();
        echo.close();
        await().atMost(PATIENCE).untilAsserted(() -> assertThat(proxyThreads(proxy)).isEmpty());
    }

    @Test
    void passesBytesBothWaysAndForwardsHalfClose() throws Exception {
        assertThat(proxy.port()).isPositive().isNotEqualTo(echo.port());
        assertThat(proxy.targetPort()).isEqualTo(echo.port());
        Socket client = connect();
        assertEchoes(client, "hello");

        // More than one chunk and more than the socket buffers, written while it is read back.
        byte[] payload = randomBytes(300_000);
        CompletableFuture<Void> writing = writeAsync(client, payload);
        assertThat(client.getInputStream().readNBytes(payload.length)).isEqualTo(payload);
        writing.get(10, TimeUnit.SECONDS);

        client.shutdownOutput(); // the echo server sees EOF, closes, and its EOF comes back
        assertThat(client.getInputStream().read()).isEqualTo(-1);
        await().atMost(PATIENCE).untilAsserted(() -> {
            assertThat(proxy.openConnections()).isZero();
            assertThat(echo.openConnections()).isZero();
        });
    }

    @Test
    void countsOpenConnections() throws Exception {
        assertThat(proxy.openConnections()).isZero();
        Socket first = connect();
        Socket second = connect();
        assertEchoes(first, "one");
        assertEchoes(second, "two");
        assertThat(proxy.openConnections()).isEqualTo(2);

        first.close();
        await().atMost(PATIENCE).untilAsserted(() -> assertThat(proxy.openConnections()).isEqualTo(1));
        assertEchoes(second, "still there");
    }

    @Test
    void cutResetsOpenConnectionsAndRefusesNewOnesUntilHeal() throws Exception {
        Socket client = connect();
        assertEchoes(client, "before");

        proxy.cut();

        assertThat(proxy.openConnections()).isZero();
        assertThat(isDead(client)).as("the open connection was reset").isTrue();
        await().atMost(PATIENCE).untilAsserted(() -> assertThat(echo.openConnections()).isZero());
        assertThat(newConnectionIsRefused()).as("a new connection while cut").isTrue();
        assertThat(newConnectionIsRefused()).as("another one").isTrue();
        assertThat(proxy.openConnections()).isZero();

        proxy.heal();

        assertEchoes(connect(), "after heal");
    }

    @Test
    void blackholeHoldsBytesAndHealDeliversExactlyThem() throws Exception {
        Socket client = connect();
        assertEchoes(client, "warm-up");

        proxy.blackhole();
        byte[] payload = randomBytes(20_000);
        client.getOutputStream().write(payload);
        assertSilent(client);
        // A connection opened now is accepted and held the same way.
        Socket late = connect();
        late.getOutputStream().write("late".getBytes(US_ASCII));
        assertSilent(late);
        await().atMost(PATIENCE).untilAsserted(() -> assertThat(proxy.openConnections()).isEqualTo(2));

        proxy.heal();

        assertThat(client.getInputStream().readNBytes(payload.length)).isEqualTo(payload);
        assertThat(late.getInputStream().readNBytes(4)).isEqualTo("late".getBytes(US_ASCII));
        assertEchoes(client, "and nothing else came before this");
    }

    @Test
    void delayHoldsEveryChunkInOrderAndHealReleasesIt() throws Exception {
        Socket client = connect();
        assertEchoes(client, "warm-up");

        proxy.delay(Duration.ofMillis(300));
        long start = System.nanoTime();
        OutputStream out = client.getOutputStream();
        for (String part : List.of("one ", "two ", "three")) {
            out.write(part.getBytes(US_ASCII)); // separate chunks, each delayed, order kept
        }
        assertThat(new String(client.getInputStream().readNBytes(13), US_ASCII)).isEqualTo("one two three");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("300 ms each way")
                .isGreaterThanOrEqualTo(Duration.ofMillis(550));

        // Connections opened later are delayed too.
        Socket late = connect();
        start = System.nanoTime();
        assertEchoes(late, "late");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(550));

        proxy.delay(Duration.ofMinutes(1));
        out.write("held".getBytes(US_ASCII));
        assertSilent(client);
        proxy.heal(); // releases the held chunk at once, not a minute later
        assertThat(client.getInputStream().readNBytes(4)).isEqualTo("held".getBytes(US_ASCII));
    }

    @Test
    void throttleLimitsTheRate() throws Exception {
        proxy.throttle(10_000);
        Socket client = connect();
        byte[] payload = randomBytes(30_000);

        long start = System.nanoTime();
        CompletableFuture<Void> writing = writeAsync(client, payload);
        assertThat(client.getInputStream().readNBytes(payload.length)).isEqualTo(payload);
        writing.get(10, TimeUnit.SECONDS);

        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("30 KB at 10 KB/s")
                .isGreaterThanOrEqualTo(Duration.ofSeconds(2));
        proxy.heal();
        assertEchoes(client, "unthrottled");
    }

    @Test
    void closeEndsConnectionsAndThreadsAndIsIdempotent() throws Exception {
        Socket open = connect();
        assertEchoes(open, "open");
        proxy.blackhole(); // so that some threads are parked on a condition when close() comes
        Socket held = connect();
        held.getOutputStream().write("held".getBytes(US_ASCII));
        await().atMost(PATIENCE).untilAsserted(() -> assertThat(proxy.openConnections()).isEqualTo(2));
        assertThat(proxyThreads(proxy)).as("the thread names this test looks for")
                .anySatisfy(name -> assertThat(name).endsWith(" accept"))
                .anySatisfy(name -> assertThat(name).endsWith("#1 s>c write"));

        proxy.close();
        proxy.close();

        assertThat(proxy.openConnections()).isZero();
        await().atMost(PATIENCE).untilAsserted(() -> assertThat(proxyThreads(proxy)).isEmpty());
        assertThat(isDead(open)).isTrue();
        assertThat(isDead(held)).isTrue();
        await().atMost(PATIENCE).untilAsserted(() -> assertThat(echo.openConnections()).isZero());
        assertThatThrownBy(() -> new Socket("127.0.0.1", proxy.port()).close()).isInstanceOf(IOException.class);
    }

    @Test
    void toStringShowsTheFaults() {
        String plain = "proxy 127.0.0.1:" + proxy.port() + " -> " + echo.port();
        assertThat(proxy).hasToString(plain);
        proxy.blackhole();
        assertThat(proxy).hasToString(plain + " (blackholed)");
        proxy.delay(Duration.ofMillis(250));
        proxy.throttle(1_000);
        assertThat(proxy).hasToString(plain + " (blackholed, delay 250 ms, throttle 1000 B/s)");
        proxy.heal();
        proxy.cut();
        assertThat(proxy).hasToString(plain + " (cut)");
        proxy.heal();
        assertThat(proxy).hasToString(plain);
        proxy.close();
        assertThat(proxy).hasToString(plain + " (closed)");
    }

    // --- helpers

    private Socket connect() throws IOException {
        Socket socket = new Socket();
        clients.add(socket);
        socket.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 10_000);
        socket.setSoTimeout(10_000);
        socket.setTcpNoDelay(true);
        return socket;
    }

    private static void assertEchoes(Socket socket, String text) throws IOException {
        byte[] bytes = text.getBytes(US_ASCII);
        socket.getOutputStream().write(bytes);
        assertThat(new String(socket.getInputStream().readNBytes(bytes.length), US_ASCII)).isEqualTo(text);
    }

    /** Nothing arrives for a while; the socket stays usable after the read timeout. */
    private static void assertSilent(Socket socket) throws IOException {
        socket.setSoTimeout(SILENCE_MILLIS);
        InputStream in = socket.getInputStream();
        assertThatThrownBy(in::read).isInstanceOf(SocketTimeoutException.class);
        socket.setSoTimeout(10_000);
    }

    /** True when the connection was reset or closed: a write or a read fails, or the read sees EOF. */
    private static boolean isDead(Socket socket) {
        try {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write('?');
            return socket.getInputStream().read() == -1;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private boolean newConnectionIsRefused() {
        Socket socket = new Socket();
        clients.add(socket);
        try {
            socket.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 10_000);
        } catch (IOException e) {
            return true;
        }
        return isDead(socket);
    }

    private static CompletableFuture<Void> writeAsync(Socket socket, byte[] bytes) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread writer = new Thread(() -> {
            try {
                socket.getOutputStream().write(bytes);
                done.complete(null);
            } catch (IOException e) {
                done.completeExceptionally(e);
            }
        }, "test-writer");
        writer.setDaemon(true);
        writer.start();
        return done;
    }

    private static byte[] randomBytes(int size) {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        return bytes;
    }

    private static List<String> proxyThreads(TcpProxy proxy) {
        String prefix = "tcp-proxy-" + proxy.port() + " ";
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .map(Thread::getName)
                .filter(name -> name.startsWith(prefix))
                .toList();
    }

    private static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception ignored) {
            // already closed or reset
        }
    }

    /** Echoes every connection until EOF, then half-closes and closes it. */
    private static final class EchoServer implements AutoCloseable {
        private final ServerSocket server;
        private final Set<Socket> open = ConcurrentHashMap.newKeySet();

        EchoServer() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            Thread acceptor = new Thread(this::acceptLoop, "echo-accept-" + server.getLocalPort());
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return server.getLocalPort();
        }

        int openConnections() {
            return open.size();
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket socket = server.accept();
                    open.add(socket);
                    Thread thread = new Thread(() -> echo(socket), "echo-" + socket.getPort());
                    thread.setDaemon(true);
                    thread.start();
                } catch (IOException e) {
                    return; // closed
                }
            }
        }

        private void echo(Socket socket) {
            try (socket) {
                socket.getInputStream().transferTo(socket.getOutputStream());
                socket.shutdownOutput();
            } catch (IOException e) {
                // reset by the proxy: what several tests do on purpose
            } finally {
                open.remove(socket);
            }
        }

        @Override
        public void close() {
            closeQuietly(server);
            open.forEach(TcpProxyTest::closeQuietly);
        }
    }
}
