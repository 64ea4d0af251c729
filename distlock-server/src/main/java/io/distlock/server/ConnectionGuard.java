package io.distlock.server;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedByInterruptException;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

import io.distlock.websocket.ClientAddress;

import org.glassfish.grizzly.Connection;
import org.glassfish.grizzly.Context;
import org.glassfish.grizzly.Grizzly;
import org.glassfish.grizzly.IOEvent;
import org.glassfish.grizzly.IOEventLifeCycleListener;
import org.glassfish.grizzly.Transport;
import org.glassfish.grizzly.attributes.Attribute;
import org.glassfish.grizzly.filterchain.BaseFilter;
import org.glassfish.grizzly.filterchain.FilterChainBuilder;
import org.glassfish.grizzly.filterchain.FilterChainContext;
import org.glassfish.grizzly.filterchain.NextAction;
import org.glassfish.grizzly.filterchain.TransportFilter;
import org.glassfish.grizzly.http.HttpContent;
import org.glassfish.grizzly.http.HttpResponsePacket;
import org.glassfish.grizzly.http.server.NetworkListener;
import org.glassfish.grizzly.nio.NIOConnection;
import org.glassfish.grizzly.strategies.AbstractIOStrategy;
import org.glassfish.grizzly.strategies.SameThreadIOStrategy;
import org.glassfish.grizzly.threadpool.ThreadPoolConfig;
import org.glassfish.grizzly.utils.DelayedExecutor;
import org.glassfish.grizzly.utils.IdleTimeoutFilter;
import org.glassfish.tyrus.container.grizzly.server.GrizzlyServerFilter;

/**
 * What the runnable server does about clients that hold connections without using them, below
 * the WebSocket endpoint, which sees only handshakes that were completed (issue 17):
 *
 * <ul>
 * <li><b>The HTTP deadline.</b> A connection must complete an HTTP request head (the WebSocket
 *     upgrade, a page, {@code /metrics}) within {@code httpTimeout} of opening, and the next one
 *     within {@code httpTimeout} of the previous response; otherwise it is closed. This is
 *     Grizzly's own {@link IdleTimeoutFilter}, which {@code HttpServer} places above the HTTP
 *     codec: bytes of an unfinished head never reach it (the codec stops the chain until the
 *     head is whole), so a client that trickles a header line now and then does not restart
 *     the clock, as it would a plain idle timeout. The filter is swapped for one with a timeout
 *     in milliseconds that counts what it closes. An upgraded WebSocket is exempt from the 101
 *     on: the endpoint's pings watch it.</li>
 * <li><b>Clients that do not read.</b> A request that comes (pipelined) while earlier answers
 *     still wait to be sent closes its connection: a client that asked without reading held a
 *     worker thread in a handler's write, and eight of them stalled every HTTP request, {@code
 *     /health} with them. A write that waits anyway (one answer larger than Grizzly's queue)
 *     waits at most {@code httpTimeout}. Connections the deadline closes are closed at once,
 *     not after their unsent answers, which a client that does not read never takes.</li>
 * <li><b>Connections per client address</b>, counted at accept, before a byte is read: past
 *     {@code maxPerAddress} a connection is closed at once. Trusted proxies are exempt (they
 *     carry many clients; the endpoint counts those by {@code X-Forwarded-For}). The key is the
 *     endpoint's ({@link ClientAddress#key}): IPv6 counts per /64.</li>
 * <li><b>Out of file descriptors.</b> When the process has no descriptor left for an accepted
 *     connection, Grizzly's selector would retry the accept in a busy loop (measured: 0.56 to
 *     0.92 cores on the 2-core test machine) while the connection waits in the listen backlog.
 *     The server stops accepting instead, tries again after 10 ms, doubling up to 1 s, and
 *     serves its established connections meanwhile.</li>
 * </ul>
 *
 * {@link #install} puts the pieces on a listener before it starts; {@link #close()} stops the
 * guard's two threads (the deadline's clock and the accept retry). Thread-safe.
 */
final class ConnectionGuard implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ConnectionGuard.class.getName());
    private static final java.util.logging.Logger GRIZZLY_LOG = Grizzly.logger(ConnectionGuard.class);
    /** How often the deadline's clock looks at the connections: the deadline's precision. */
    private static final long CHECK_MILLIS = 250;
    private static final long FIRST_RETRY_MILLIS = 10;
    private static final long MAX_RETRY_MILLIS = 1000;

    /** The key a connection counts under for the per-address cap; absent when not counted (trusted proxy). */
    private static final Attribute<String> CLIENT = Grizzly.DEFAULT_ATTRIBUTE_BUILDER.createAttribute("distlock.client");
    /** Set while a connection counts as open. */
    private static final Attribute<Boolean> OPEN = Grizzly.DEFAULT_ATTRIBUTE_BUILDER.createAttribute("distlock.open");

    private final long httpTimeoutMillis;
    private final int maxPerAddress;
    private final Predicate<InetAddress> trustedProxy;
    private final ConcurrentMap<String, Integer> perAddress = new ConcurrentHashMap<>();
    private final AtomicInteger open = new AtomicInteger();
    private final LongAdder refusedByAddress = new LongAdder();
    private final LongAdder timedOut = new LongAdder();
    private final LongAdder unread = new LongAdder();
    private final LongAdder acceptFailures = new LongAdder();
    private final ExecutorService clockThread = Executors.newSingleThreadExecutor(daemon("distlock-http-deadline"));
    private final DelayedExecutor clock = new DelayedExecutor(clockThread, CHECK_MILLIS, TimeUnit.MILLISECONDS);
    private final ScheduledThreadPoolExecutor retries = new ScheduledThreadPoolExecutor(1, daemon("distlock-accept-retry"));
    /** The current wait before accepting again, 0 while accepting works; guarded by this. */
    private long retryMillis;
    /** When accepting first failed in the current run of failures, for the log; 0 if none. */
    private final AtomicLong failingSince = new AtomicLong();

    ConnectionGuard(Duration httpTimeout, int maxPerAddress, Predicate<InetAddress> trustedProxy) {
        this.httpTimeoutMillis = httpTimeout.toMillis();
        this.maxPerAddress = maxPerAddress;
        this.trustedProxy = trustedProxy;
        retries.setRemoveOnCancelPolicy(true);
        clock.start();
    }

    /**
     * Puts the guard on {@code listener}: its I/O strategy (frames are still handled on the
     * selector threads, {@link SameThreadIOStrategy}; HTTP requests on the transport's worker
     * pool, which must be configured first), and its filters, once the HTTP server builds the
     * chain. Register after Tyrus's {@code WebSocketAddOn}.
     */
    void install(NetworkListener listener) {
        if (listener.getTransport().getWorkerThreadPoolConfig() == null) {
            throw new IllegalStateException("configure the transport's worker pool (HTTP requests run there) before the guard");
        }
        listener.getTransport().setIOStrategy(new Strategy());
        // A handler's write waits while the connection has more unsent than Grizzly allows
        // (4 send buffers): at most this long, like the request head.
        listener.getTransport().setWriteTimeout(httpTimeoutMillis, TimeUnit.MILLISECONDS);
        listener.registerAddOn((networkListener, chain) -> {
            int transport = chain.indexOfType(TransportFilter.class);
            int idle = chain.indexOfType(IdleTimeoutFilter.class);
            int tyrus = chain.indexOfType(GrizzlyServerFilter.class);
            if (transport < 0 || idle < 0 || tyrus < idle) {
                throw new IllegalStateException("unexpected Grizzly filter chain: transport " + transport + ", idle " + idle
                        + ", tyrus " + tyrus);
            }
            chain.set(idle, new IdleTimeoutFilter(clock, httpTimeoutMillis, TimeUnit.MILLISECONDS, connection -> {
                timedOut.increment();
                // Not Grizzly's graceful close, which waits for unsent answers to a client that may never read them.
                connection.terminateSilently();
            }));
            chain.add(tyrus, new RequestFilter()); // between Tyrus and the deadline: sees the 101 first
            chain.add(transport + 1, new AcceptFilter());
        });
    }

    /** Open TCP connections: WebSockets, HTTP requests, and connections that sent nothing yet. */
    int openConnections() {
        return open.get();
    }

    /** Connections closed at accept because their address had {@code maxPerAddress} open. */
    long refusedByAddress() {
        return refusedByAddress.sum();
    }

    /** Connections closed for not completing an HTTP request head within the deadline. */
    long timedOut() {
        return timedOut.sum();
    }

    /** Connections closed for sending a request while earlier answers lay unsent: their client does not read. */
    long unread() {
        return unread.sum();
    }

    /** Accepts that failed (the process had no file descriptor left, usually). */
    long acceptFailures() {
        return acceptFailures.sum();
    }

    @Override
    public void close() {
        clock.destroy();
        clockThread.shutdownNow();
        retries.shutdownNow();
    }

    /** The first filter after the transport: counts connections, and closes one over its address's cap. */
    private final class AcceptFilter extends BaseFilter {
        @Override
        public NextAction handleAccept(FilterChainContext ctx) throws IOException {
            acceptWorked();
            Connection<?> connection = ctx.getConnection();
            InetAddress peer = connection.getPeerAddress() instanceof InetSocketAddress socket ? socket.getAddress() : null;
            if (peer != null && !trustedProxy.test(peer)) {
                String key = ClientAddress.key(peer);
                if (perAddress.merge(key, 1, Integer::sum) > maxPerAddress) {
                    uncount(key);
                    refusedByAddress.increment();
                    connection.closeSilently();
                    return ctx.getStopAction();
                }
                CLIENT.set(connection, key);
            }
            OPEN.set(connection, Boolean.TRUE);
            open.incrementAndGet();
            return ctx.getInvokeAction();
        }

        @Override
        public NextAction handleClose(FilterChainContext ctx) throws IOException {
            Connection<?> connection = ctx.getConnection();
            String key = CLIENT.remove(connection);
            if (key != null) {
                uncount(key);
            }
            if (OPEN.remove(connection) != null) {
                open.decrementAndGet();
            }
            return ctx.getInvokeAction();
        }

        private void uncount(String key) {
            perAddress.computeIfPresent(key, (k, n) -> n > 1 ? n - 1 : null);
        }
    }

    /**
     * Closes a connection that sends a request (pipelined) while earlier answers still wait to
     * be sent, and takes an upgraded WebSocket off the HTTP deadline when its 101 goes out.
     */
    private final class RequestFilter extends BaseFilter {
        @Override
        public NextAction handleRead(FilterChainContext ctx) {
            // A browser asks again only once it has read the last answer, which was then sent
            // whole. A client that pipelines and reads nothing would otherwise hold a worker
            // thread in each handler's write, until the pool (8) was stalled: /health too.
            if (ctx.getConnection() instanceof NIOConnection connection && connection.getAsyncWriteQueue().spaceInBytes() > 0) {
                unread.increment();
                connection.terminateSilently();
                return ctx.getStopAction();
            }
            return ctx.getInvokeAction();
        }

        @Override
        public NextAction handleWrite(FilterChainContext ctx) {
            if (ctx.getMessage() instanceof HttpContent content
                    && content.getHttpHeader() instanceof HttpResponsePacket response
                    && response.getStatus() == 101) {
                IdleTimeoutFilter.setCustomTimeout(ctx.getConnection(), -1, TimeUnit.MILLISECONDS); // never
            }
            return ctx.getInvokeAction();
        }
    }

    /**
     * {@link SameThreadIOStrategy}, except that a failed accept is seen: Grizzly reports it
     * only to the event's life-cycle listener, which the selector does not give, and keeps the
     * server socket's accept interest, so the selector wakes at once and fails again.
     */
    private final class Strategy extends AbstractIOStrategy {
        private final IOEventLifeCycleListener acceptFailed = new IOEventLifeCycleListener.Adapter() {
            @Override
            public void onError(Context context, Object error) {
                if (!(error instanceof ClosedByInterruptException)) { // Grizzly rebinds then
                    acceptFailed(context.getConnection(), error);
                }
            }
        };

        @Override
        public boolean executeIoEvent(Connection connection, IOEvent ioEvent, boolean isIoEventEnabled) throws IOException {
            if (ioEvent == IOEvent.SERVER_ACCEPT) {
                fireIOEvent(connection, ioEvent, acceptFailed, GRIZZLY_LOG);
                return true;
            }
            return SameThreadIOStrategy.getInstance().executeIoEvent(connection, ioEvent, isIoEventEnabled);
        }

        @Override
        public Executor getThreadPoolFor(Connection connection, IOEvent ioEvent) {
            return null;
        }

        /**
         * The pool configured already: for a null answer Grizzly drops the transport's worker pool,
         * and HTTP handlers then ran on the selector threads, where one request body that never
         * came froze every connection of that selector (found by review, 2026-12-04).
         */
        @Override
        public ThreadPoolConfig createDefaultWorkerPoolConfig(Transport transport) {
            return transport.getWorkerThreadPoolConfig();
        }
    }

    /** On the selector thread: stop accepting on {@code server} for a while. */
    private void acceptFailed(Connection<?> server, Object error) {
        acceptFailures.increment();
        long wait;
        synchronized (this) {
            retryMillis = retryMillis == 0 ? FIRST_RETRY_MILLIS : Math.min(MAX_RETRY_MILLIS, 2 * retryMillis);
            wait = retryMillis;
        }
        if (failingSince.compareAndSet(0, System.nanoTime())) {
            // Only the limit: counting the open files needs a file descriptor, and there is none.
            long limit = FileLimit.currentLimit();
            LOG.log(Level.WARNING, "Cannot accept connections: {0} (open-file limit {1}); established connections are"
                    + " still served, and new ones are accepted again as others close",
                    String.valueOf(error instanceof Throwable t ? t.getMessage() : error), limit < 0 ? "unknown" : Long.toString(limit));
        }
        try {
            server.disableIOEvent(IOEvent.SERVER_ACCEPT);
            retries.schedule(() -> resumeAccepting(server), wait, TimeUnit.MILLISECONDS);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "Could not pause accepting connections: " + e);
        } catch (RejectedExecutionException e) {
            // closing: the listener stops too
        }
    }

    private static void resumeAccepting(Connection<?> server) {
        try {
            if (server.isOpen()) {
                server.enableIOEvent(IOEvent.SERVER_ACCEPT);
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "Could not resume accepting connections: " + e);
        }
    }

    private void acceptWorked() {
        long since = failingSince.get();
        if (since != 0 && failingSince.compareAndSet(since, 0)) {
            synchronized (this) {
                retryMillis = 0;
            }
            LOG.log(Level.WARNING, "Accepting connections again, after {0} ms", Long.toString(
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since)));
        }
    }

    private static ThreadFactory daemon(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }
}
