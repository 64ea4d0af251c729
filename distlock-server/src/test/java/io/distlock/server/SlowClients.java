package io.distlock.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The slow-head attack of issue 17, on loopback: raw TCP connections that start an HTTP request
 * (a WebSocket upgrade) and never finish it. Each is opened from a given local address
 * ({@code 127.0.0.2}, {@code 127.0.0.3}...: another client to the server), and either says
 * nothing, sends the request line and one header, or also trickles one more header line every
 * half second (a slowloris, which defeats a plain idle timeout). One thread watches them all and
 * notes when the server closes each, so hundreds cost one thread. Close to drop them all.
 */
final class SlowClients implements AutoCloseable {

    enum Kind { SILENT, PARTIAL_HEAD, TRICKLE }

    private static final long TRICKLE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    /** One connection; the times are {@link System#nanoTime()}. */
    static final class Client {
        final SocketChannel channel;
        final Kind kind;
        final long openedNanos;
        volatile long closedNanos; // 0 while open

        Client(SocketChannel channel, Kind kind, long openedNanos) {
            this.channel = channel;
            this.kind = kind;
            this.openedNanos = openedNanos;
        }

        boolean closed() {
            return closedNanos != 0;
        }

        /** From the connection's opening to the server's close; null while open. */
        Duration timeToClose() {
            return closed() ? Duration.ofNanos(closedNanos - openedNanos) : null;
        }
    }

    private final Selector selector;
    private final List<Client> clients;
    private final Thread driver;
    private volatile boolean stopped;

    private SlowClients(Selector selector, List<Client> clients) {
        this.selector = selector;
        this.clients = clients;
        this.driver = new Thread(this::drive, "slow-clients");
        driver.setDaemon(true);
        driver.start();
    }

    /** {@code count} connections of {@code kind} from each of {@code from}. */
    static SlowClients open(InetSocketAddress server, List<String> from, int count, Kind kind) {
        Selector selector = null;
        List<Client> clients = new ArrayList<>();
        try {
            selector = Selector.open();
            for (String local : from) {
                for (int i = 0; i < count; i++) {
                    clients.add(connect(selector, server, local, kind));
                }
            }
            return new SlowClients(selector, clients);
        } catch (IOException | RuntimeException e) {
            for (Client c : clients) {
                closeQuietly(c.channel);
            }
            closeQuietly(selector);
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    private static Client connect(Selector selector, InetSocketAddress server, String local, Kind kind) throws IOException {
        SocketChannel channel = SocketChannel.open();
        try {
            channel.bind(new InetSocketAddress(local, 0));
            long opened = System.nanoTime(); // before the server can have accepted it
            channel.connect(server); // blocking: on loopback the kernel completes it at once, accepted or not
            if (kind != Kind.SILENT) {
                write(channel, "GET /distlock/lock HTTP/1.1\r\nHost: " + server.getHostString() + ":" + server.getPort() + "\r\n");
            }
            channel.configureBlocking(false);
            Client client = new Client(channel, kind, opened);
            channel.register(selector, SelectionKey.OP_READ, client);
            return client;
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private void drive() {
        ByteBuffer buffer = ByteBuffer.allocate(4096);
        long nextTrickle = System.nanoTime() + TRICKLE_NANOS;
        int line = 0;
        while (!stopped) {
            try {
                selector.select(100);
                for (SelectionKey key : selector.selectedKeys()) {
                    Client client = (Client) key.attachment();
                    buffer.clear();
                    int read;
                    try {
                        read = client.channel.read(buffer);
                    } catch (IOException e) {
                        read = -1; // reset
                    }
                    if (read < 0) {
                        closed(client, key);
                    }
                }
                selector.selectedKeys().clear();
                if (System.nanoTime() - nextTrickle >= 0) {
                    nextTrickle += TRICKLE_NANOS;
                    line++;
                    for (Client client : clients) {
                        if (client.kind == Kind.TRICKLE && !client.closed()) {
                            try {
                                write(client.channel, "X-Slow-" + line + ": still coming\r\n");
                            } catch (IOException e) {
                                closed(client, client.channel.keyFor(selector));
                            }
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                if (!stopped) {
                    throw new IllegalStateException("the slow clients' thread failed", e);
                }
            }
        }
    }

    private static void closed(Client client, SelectionKey key) {
        if (client.closedNanos == 0) {
            client.closedNanos = System.nanoTime();
        }
        if (key != null) {
            key.cancel();
        }
        closeQuietly(client.channel);
    }

    private static void write(SocketChannel channel, String text) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
        while (bytes.hasRemaining()) {
            if (channel.write(bytes) == 0) {
                return; // the server does not read; what is left does not matter
            }
        }
    }

    List<Client> clients() {
        return List.copyOf(clients);
    }

    int size() {
        return clients.size();
    }

    long closedCount() {
        return clients.stream().filter(Client::closed).count();
    }

    /** The times to close of those the server closed, in ascending order. */
    List<Duration> timesToClose() {
        return clients.stream().filter(Client::closed).map(Client::timeToClose).sorted().toList();
    }

    /** Drops every connection still open (a FIN from the client's side). */
    @Override
    public void close() {
        stopped = true;
        selector.wakeup();
        try {
            driver.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Client client : clients) {
            closeQuietly(client.channel);
        }
        closeQuietly(selector);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception e) {
                // a test socket
            }
        }
    }
}
