package io.distlock.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.UnaryOperator;

/**
 * A loopback TCP proxy that can cut, blackhole, delay and throttle the link it stands on.
 *
 * <p>Blocking sockets. Each connection has four daemon threads, a reader and a writer per
 * direction, joined by a bounded queue of chunks stamped with the time they were read. Readers
 * stop reading while blackholed, so TCP back-pressure holds the sender; writers hold each chunk
 * until its delay has passed, pace it under a throttle and stop while blackholed. Only
 * {@link #cut()} and {@link #close()} lose bytes. Every thread is named
 * {@code "tcp-proxy-<port> ..."}.
 */
public final class TcpProxy implements AutoCloseable {

    private static final InetAddress LOOPBACK = loopback();
    private static final int CHUNK = 16 * 1024;
    /** Per direction; about a socket buffer, so a held or slow writer pushes back on the sender. */
    private static final int QUEUE_LIMIT = 256 * 1024;
    private static final int CONNECT_TIMEOUT_MILLIS = 5_000;
    private static final long CLOSE_JOIN_NANOS = TimeUnit.SECONDS.toNanos(5);

    /** Immutable, so a reader of {@link #mode} always sees one consistent set of faults. */
    private record Mode(boolean cut, boolean blackholed, Duration delay, long bytesPerSecond, boolean refusingNew) {
        static final Mode PASS = new Mode(false, false, Duration.ZERO, 0, false);
    }

    /** {@code bytes == null} stands for EOF, which waits its turn like any chunk. */
    private record Chunk(long readAtNanos, byte[] bytes) {
        int size() {
            return bytes == null ? 0 : bytes.length;
        }
    }

    @FunctionalInterface
    private interface Job {
        void run() throws IOException, InterruptedException;
    }

    private final ServerSocket server;
    private final int port;
    private final int targetPort;
    private final String name;
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile Mode mode = Mode.PASS;
    private volatile boolean capturing;
    private final List<byte[]> captured = new ArrayList<>(); // guarded by itself
    private volatile boolean closed;
    private int linkIds; // acceptor thread only

    /** Listens on 127.0.0.1:&lt;free port&gt; and forwards every connection to 127.0.0.1:targetPort. */
    public static TcpProxy start(int targetPort) {
        if (targetPort < 1 || targetPort > 65_535) {
            throw new IllegalArgumentException("not a port: " + targetPort);
        }
        try {
            return new TcpProxy(new ServerSocket(0, 50, LOOPBACK), targetPort);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on 127.0.0.1", e);
        }
    }

    private TcpProxy(ServerSocket server, int targetPort) {
        this.server = server;
        this.port = server.getLocalPort();
        this.targetPort = targetPort;
        this.name = "tcp-proxy-" + port;
        this.acceptor = spawn(name + " accept", this::acceptLoop); // last: every field is set
    }

    public int port() {
        return port;
    }

    public int targetPort() {
        return targetPort;
    }

    /** Resets (RST: SO_LINGER 0) every open connection on both sides and refuses new ones (accept then reset at once) until heal(). */
    public synchronized void cut() {
        change(m -> new Mode(true, m.blackholed(), m.delay(), m.bytesPerSecond(), m.refusingNew()));
        for (Link link : links) {
            link.close(true);
        }
    }

    /** Stops moving bytes in both directions while keeping every connection open; new connections are accepted and held the same way. Nothing is dropped: buffered bytes flow again after heal(). */
    public void blackhole() {
        change(m -> new Mode(m.cut(), true, m.delay(), m.bytesPerSecond(), m.refusingNew()));
    }

    /** Forwards every chunk no earlier than {@code delay} after it was read, order kept per direction; Duration.ZERO means none. Affects connections open now and later. */
    public void delay(Duration delay) {
        Objects.requireNonNull(delay, "delay");
        if (delay.isNegative()) {
            throw new IllegalArgumentException("negative delay: " + delay);
        }
        delay.toNanos(); // an absurd delay fails here rather than in a pump thread
        change(m -> new Mode(m.cut(), m.blackholed(), delay, m.bytesPerSecond(), m.refusingNew()));
    }

    /** Limits each direction of each connection to about bytesPerSecond; 0 means unlimited. */
    public void throttle(long bytesPerSecond) {
        if (bytesPerSecond < 0) {
            throw new IllegalArgumentException("negative rate: " + bytesPerSecond);
        }
        change(m -> new Mode(m.cut(), m.blackholed(), m.delay(), bytesPerSecond, m.refusingNew()));
    }

    /** Resets new connections (accept then reset at once) while the open ones go on as they are; {@code false} accepts them again. */
    public void refuseNew(boolean refuse) {
        change(m -> new Mode(m.cut(), m.blackholed(), m.delay(), m.bytesPerSecond(), refuse));
    }

    /**
     * While on, keeps a copy of every RESP command a client sends that begins while it is on
     * (commands are told apart by parsing the client's stream), for {@link #replayCaptured}.
     */
    public void capture(boolean on) {
        capturing = on;
    }

    /** The commands captured and not yet replayed, in order, each as its arguments (a command that does not parse as a RESP array of bulk strings is left out). */
    public List<List<String>> captured() {
        synchronized (captured) {
            return captured.stream().map(Resp::parse).filter(Objects::nonNull).toList();
        }
    }

    /**
     * Sends the captured commands again, in order, on a new connection to the target, waits
     * until Redis has run them all (an ECHO after them comes back) and forgets the replies: what
     * a client that resends its commands after a timeout does. {@code rewrite} may replace a command (a RESP array of
     * bulk strings) or drop it (null). Returns the number sent.
     */
    public int replayCaptured(UnaryOperator<List<String>> rewrite) {
        List<byte[]> commands;
        synchronized (captured) {
            commands = List.copyOf(captured);
            captured.clear();
        }
        int sent = 0;
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(LOOPBACK, targetPort), CONNECT_TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            for (byte[] command : commands) {
                List<String> args = Resp.parse(command);
                List<String> replaced = args == null ? null : rewrite.apply(args);
                if (args == null || replaced == null) {
                    continue;
                }
                out.write(Resp.encode(replaced));
                sent++;
            }
            // Last, an ECHO of a marker: once its reply is read, Redis has run every command before it.
            String marker = "replayed-" + System.nanoTime();
            out.write(Resp.encode(List.of("ECHO", marker)));
            out.flush();
            socket.setSoTimeout(CONNECT_TIMEOUT_MILLIS);
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[CHUNK];
            String tail = "";
            for (int n; !tail.contains(marker) && (n = in.read(buffer)) >= 0; ) {
                tail = tail.substring(Math.max(0, tail.length() - marker.length()))
                        + new String(buffer, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1);
            }
            if (!tail.contains(marker)) {
                throw new IllegalStateException("the replay connection closed before Redis ran every command");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot replay to 127.0.0.1:" + targetPort, e);
        }
        return sent;
    }

    /** Back to plain pass-through: no cut, blackhole, delay, throttle or refusal. */
    public void heal() {
        change(m -> Mode.PASS);
    }

    /** Connections currently open through the proxy (held ones included). */
    public int openConnections() {
        return links.size();
    }

    /** Closes the listener and every connection, and waits (a few seconds at most) for every proxy thread to end. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            server.close(); // ends the accept loop
        } catch (IOException ignored) {
            // nothing more to do for a listener that will not close
        }
        long deadline = System.nanoTime() + CLOSE_JOIN_NANOS;
        join(acceptor, deadline); // from here on no link appears
        for (Link link : links) {
            link.close(false);
        }
        for (Thread thread : threads) {
            join(thread, deadline);
        }
    }

    @Override
    public String toString() {
        Mode m = mode;
        List<String> states = new ArrayList<>();
        if (closed) {
            states.add("closed");
        }
        if (m.cut()) {
            states.add("cut");
        }
        if (m.blackholed()) {
            states.add("blackholed");
        }
        if (!m.delay().isZero()) {
            states.add("delay " + m.delay().toMillis() + " ms");
        }
        if (m.bytesPerSecond() > 0) {
            states.add("throttle " + m.bytesPerSecond() + " B/s");
        }
        if (m.refusingNew()) {
            states.add("refusing new connections");
        }
        return "proxy 127.0.0.1:" + port + " -> " + targetPort
                + (states.isEmpty() ? "" : " (" + String.join(", ", states) + ")");
    }

    /** Mode changes may come from any thread; every waiting pump re-reads the mode on the signal. */
    private synchronized void change(UnaryOperator<Mode> update) {
        mode = update.apply(mode);
        for (Link link : links) {
            link.signal();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                continue; // the listener closed (the loop ends) or one accept failed
            }
            if (mode.cut() || mode.refusingNew()) {
                reset(socket, true); // the kernel already completed the handshake, so refuse by reset
                continue;
            }
            Link link = new Link(++linkIds, socket);
            links.add(link);
            if (mode.cut()) {
                link.close(true); // cut() ran between the check and the add, and did not see this link
            } else {
                link.start();
            }
        }
    }

    private Thread spawn(String threadName, Runnable body) {
        Thread thread = new Thread(() -> {
            try {
                body.run();
            } finally {
                threads.remove(Thread.currentThread());
            }
        }, threadName);
        thread.setDaemon(true);
        threads.add(thread);
        thread.start();
        return thread;
    }

    private static void join(Thread thread, long deadlineNanos) {
        if (thread == Thread.currentThread()) {
            return;
        }
        try {
            thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Closes quietly; with {@code rst}, SO_LINGER 0 makes the peer see a reset instead of EOF. */
    private static void reset(Socket socket, boolean rst) {
        if (socket == null) {
            return;
        }
        try {
            if (rst) {
                socket.setSoLinger(true, 0);
            }
        } catch (IOException ignored) {
            // already closed
        }
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    private static InetAddress loopback() {
        try {
            return InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1});
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** One proxied connection: the accepted client socket and, once connected, the target socket. */
    private final class Link {
        private final String name;
        private final Socket client;
        private final Pipe up = new Pipe(); // client -> target
        private final Resp.Splitter commands = new Resp.Splitter();
        private final Pipe down = new Pipe(); // target -> client
        private final AtomicInteger directionsDone = new AtomicInteger();
        private volatile Socket target; // null until connected
        private volatile boolean closed;

        Link(int id, Socket client) {
            this.name = TcpProxy.this.name + " #" + id;
            this.client = client;
        }

        void start() {
            spawn("c>s read", this::connectAndRead);
        }

        private void connectAndRead() throws IOException, InterruptedException {
            // A connection opened during a blackhole is held before the target ever sees it.
            if (!up.awaitFlowing()) {
                return;
            }
            client.setTcpNoDelay(true);
            Socket socket = new Socket();
            try {
                socket.setTcpNoDelay(true);
                socket.connect(new InetSocketAddress(LOOPBACK, targetPort), CONNECT_TIMEOUT_MILLIS);
            } catch (IOException e) {
                reset(socket, true);
                throw e; // the client is reset, as if the target refused it
            }
            synchronized (this) {
                if (closed) { // cut or closed while connecting
                    reset(socket, true);
                    return;
                }
                target = socket;
                spawn("s>c read", () -> down.read(socket.getInputStream()));
                spawn("c>s write", () -> finish(up.write(socket)));
                spawn("s>c write", () -> finish(down.write(client)));
            }
            up.read(client.getInputStream());
        }

        private void spawn(String role, Job job) {
            TcpProxy.this.spawn(name + " " + role, () -> {
                try {
                    job.run();
                } catch (IOException | InterruptedException e) {
                    // An error in either direction ends both; a closed link's own sockets land here too.
                    close(true);
                }
            });
        }

        /** A writer forwarded EOF: the link ends once both directions have (half-close otherwise). */
        private void finish(boolean eofForwarded) {
            if (eofForwarded && directionsDone.incrementAndGet() == 2) {
                close(false);
            }
        }

        void signal() {
            up.signal();
            down.signal();
        }

        void close(boolean rst) {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
            }
            links.remove(this);
            reset(client, rst);
            reset(target, rst);
            signal();
        }

        /** One direction. Every wait re-checks {@link #closed} and {@link #mode} under the lock, so no signal is lost. */
        private final class Pipe {
            private final ReentrantLock lock = new ReentrantLock();
            private final Condition changed = lock.newCondition();
            private final ArrayDeque<Chunk> queue = new ArrayDeque<>();
            private int queuedBytes;
            private long nextWriteNanos = System.nanoTime(); // throttle pacing; nanoTime may be negative

            void signal() {
                lock.lock();
                try {
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }

            /** Waits out a blackhole; false once the link is closed. */
            boolean awaitFlowing() throws InterruptedException {
                lock.lock();
                try {
                    while (!closed && mode.blackholed()) {
                        changed.await();
                    }
                    return !closed;
                } finally {
                    lock.unlock();
                }
            }

            void read(InputStream in) throws IOException, InterruptedException {
                byte[] buffer = new byte[CHUNK];
                // Not reading while blackholed leaves the bytes with TCP, which holds the sender.
                while (awaitFlowing()) {
                    int n = in.read(buffer);
                    Chunk chunk = new Chunk(System.nanoTime(), n < 0 ? null : Arrays.copyOf(buffer, n));
                    if (this == up && n > 0) {
                        commands.feed(chunk.bytes(), capturing, command -> {
                            synchronized (captured) {
                                captured.add(command);
                            }
                        });
                    }
                    if (!offer(chunk) || n < 0) {
                        return;
                    }
                }
            }

            private boolean offer(Chunk chunk) throws InterruptedException {
                lock.lock();
                try {
                    while (!closed && queuedBytes >= QUEUE_LIMIT) {
                        changed.await();
                    }
                    if (closed) {
                        return false;
                    }
                    queue.add(chunk);
                    queuedBytes += chunk.size();
                    changed.signalAll();
                    return true;
                } finally {
                    lock.unlock();
                }
            }

            /** Forwards chunks until EOF (true, after shutdownOutput) or until the link closes (false). */
            boolean write(Socket out) throws IOException, InterruptedException {
                OutputStream stream = out.getOutputStream();
                for (Chunk chunk = takeDue(); chunk != null; chunk = takeDue()) {
                    if (chunk.bytes() == null) {
                        out.shutdownOutput(); // half-close: the other direction goes on
                        return true;
                    }
                    for (int off = 0, n; off < chunk.bytes().length; off += n) {
                        n = permit(chunk.bytes().length - off);
                        if (n == 0) {
                            return false;
                        }
                        stream.write(chunk.bytes(), off, n);
                    }
                }
                return false;
            }

            /** The head chunk once its delay has passed and nothing is blackholed; null once closed. */
            private Chunk takeDue() throws InterruptedException {
                lock.lock();
                try {
                    while (!closed) {
                        Mode m = mode;
                        Chunk head = queue.peek();
                        if (head == null || m.blackholed()) {
                            changed.await();
                            continue;
                        }
                        // The delay is read now, not when the chunk was read, so heal() releases it at once.
                        long wait = head.readAtNanos() + m.delay().toNanos() - System.nanoTime();
                        if (wait > 0) {
                            changed.awaitNanos(wait);
                            continue;
                        }
                        queue.remove();
                        queuedBytes -= head.size();
                        changed.signalAll(); // room for the reader
                        return head;
                    }
                    return null;
                } finally {
                    lock.unlock();
                }
            }

            /** How many of {@code wanted} bytes may be written now, after any blackhole or throttle pause; 0 once closed. */
            private int permit(int wanted) throws InterruptedException {
                lock.lock();
                try {
                    while (!closed) {
                        Mode m = mode;
                        if (m.blackholed()) {
                            changed.await();
                            continue;
                        }
                        if (m.bytesPerSecond() == 0) {
                            return wanted;
                        }
                        long now = System.nanoTime();
                        if (now - nextWriteNanos < 0) {
                            changed.awaitNanos(nextWriteNanos - now);
                            continue;
                        }
                        // About 20 slices a second: a smooth rate rather than one burst per second.
                        int n = (int) Math.min(wanted, Math.max(1, m.bytesPerSecond() / 20));
                        nextWriteNanos = now + n * 1_000_000_000L / m.bytesPerSecond();
                        return n;
                    }
                    return 0;
                } finally {
                    lock.unlock();
                }
            }
        }
    }
}
