package io.distlock.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.distlock.core.Ticker;

import org.glassfish.grizzly.Buffer;
import org.glassfish.grizzly.Connection;
import org.glassfish.grizzly.filterchain.BaseFilter;
import org.glassfish.grizzly.filterchain.Filter;
import org.glassfish.grizzly.filterchain.FilterChain;
import org.glassfish.grizzly.filterchain.FilterChainBuilder;
import org.glassfish.grizzly.filterchain.FilterChainContext;
import org.glassfish.grizzly.filterchain.NextAction;
import org.glassfish.grizzly.http.HttpContent;
import org.glassfish.grizzly.http.HttpRequestPacket;
import org.glassfish.grizzly.http.HttpResponsePacket;
import org.glassfish.grizzly.http.HttpServerFilter;
import org.glassfish.grizzly.http.Method;
import org.glassfish.grizzly.http.Protocol;
import org.glassfish.grizzly.http.server.NetworkListener;
import org.glassfish.grizzly.utils.IdleTimeoutFilter;
import org.glassfish.tyrus.container.grizzly.server.GrizzlyServerFilter;

/**
 * Takes a connection off the HTTP filter chain once its WebSocket upgrade is answered, so that
 * it stops holding the upgrade's HTTP request (issue 16).
 *
 * <p>Why: Grizzly's HTTP codec treats everything after an upgrade as the body of the upgrade
 * request, which never ends; it keeps that request, its response, their header maps, about 37
 * header chunks ({@code DataChunk} with its {@code ByteChunk}, {@code CharChunk} and
 * {@code BufferChunk}) and the bytes of the request head, for the life of the connection, and
 * wraps every later read in an {@code HttpContent} of it for Tyrus. Measured: about 9 KB of
 * the ~21 KB of heap an idle session took. Neither Grizzly nor Tyrus has an option to let it go
 * (Tyrus's {@link GrizzlyServerFilter} reads only the content of what it is given once the
 * handshake is done).
 *
 * <p>How: when the {@code 101} goes out, the connection forgets the request (the codec's
 * per-connection attribute, {@link HttpServerFilter#HTTP_SERVER_REQUEST_ATTR_NAME}) and gets its
 * own processor ({@link Connection#setProcessor}, Grizzly's per-connection filter chain): the
 * filters below the HTTP codec (the transport, the guard's connection counting, TLS if any), the
 * guard's HTTP deadline (an {@link IdleTimeoutFilter} just above the codec, which keeps every
 * connection in a queue until it sees the close), the {@link FrameHeaderGuard}, then a filter
 * that hands each read buffer to Tyrus as content of one shared, empty request head, then
 * Tyrus's own filter. Frames no longer
 * pass through the HTTP codec and the filters above it; writes (Tyrus writes buffers, which the
 * codec let through anyway) and the close go through the kept filters as before, so the guard
 * still uncounts the connection and the deadline still forgets it.
 *
 * <p>{@link #install} after every other add-on that changes those filters
 * ({@link ConnectionGuard#install}): the chain of upgraded connections holds the same filter
 * instances as the listener's chain when the listener builds it.
 */
final class UpgradedChain {

    /**
     * What Tyrus's filter is given with each read after the upgrade: it looks only at the
     * content. Never changed; a request without an {@code Upgrade} header, so that a read that
     * reached Tyrus without its connection (none should) is passed on, not taken for a handshake.
     */
    private static final HttpRequestPacket NO_HEAD = HttpRequestPacket.builder()
            .method(Method.GET).uri("/").protocol(Protocol.HTTP_1_1).build();

    private UpgradedChain() { }

    /**
     * Registers the add-on that places the switch on {@code listener}'s chain; upgraded
     * connections are closed at a frame header that is wrong, or announces more than
     * {@code maxFrameBytes}, or that pings too often for the endpoint's {@code pingInterval}
     * ({@link FrameHeaderGuard}).
     */
    static void install(NetworkListener listener, int maxFrameBytes, Duration pingInterval, Ticker ticker) {
        FrameHeaderGuard frameHeaderGuard = new FrameHeaderGuard(maxFrameBytes, pingInterval, ticker);
        listener.registerAddOn((networkListener, chain) -> {
            int codec = chain.indexOfType(HttpServerFilter.class);
            int tyrus = chain.indexOfType(GrizzlyServerFilter.class);
            if (codec < 0 || tyrus < codec) {
                throw new IllegalStateException("unexpected Grizzly filter chain: HTTP codec " + codec + ", tyrus " + tyrus);
            }
            List<Filter> kept = new ArrayList<>();
            for (int i = 0; i < codec; i++) {
                kept.add(chain.get(i));
            }
            // The HTTP deadline sits above the codec (it must not see a half-read head), and holds
            // every connection in its queue until its handleClose sees the close: without it here,
            // each closed WebSocket would stay in that queue for ever. It never times out an
            // upgraded connection (the guard sets it to never on the 101).
            int deadline = chain.indexOfType(IdleTimeoutFilter.class);
            if (deadline > codec && deadline < tyrus) {
                kept.add(chain.get(deadline));
            }
            FilterChain upgraded = FilterChainBuilder.stateless()
                    .addAll(kept)
                    .add(frameHeaderGuard)
                    .add(new ReadsAsContent())
                    .add(chain.get(tyrus))
                    .build();
            chain.add(tyrus, new Switch(upgraded)); // just below Tyrus: sees the 101 as Tyrus writes it
        });
    }

    /** In the HTTP chain: when a {@code 101} is written, moves its connection to {@code upgraded}. */
    private static final class Switch extends BaseFilter {
        private final FilterChain upgraded;

        Switch(FilterChain upgraded) {
            this.upgraded = upgraded;
        }

        @Override
        public NextAction handleWrite(FilterChainContext ctx) {
            if (ctx.getMessage() instanceof HttpContent content
                    && content.getHttpHeader() instanceof HttpResponsePacket response
                    && response.getStatus() == 101) {
                Connection<?> connection = ctx.getConnection();
                // This write, and the read that carried the handshake, finish on the chain they
                // started on (each context keeps its chain); the codec does not look at this
                // attribute on the way out. The next read, write or close is the new chain's.
                connection.getAttributes().removeAttribute(HttpServerFilter.HTTP_SERVER_REQUEST_ATTR_NAME);
                connection.setProcessor(upgraded);
            }
            return ctx.getInvokeAction();
        }
    }

    /** In the upgraded chain: what the HTTP codec did for Tyrus, without the request. */
    private static final class ReadsAsContent extends BaseFilter {
        @Override
        public NextAction handleRead(FilterChainContext ctx) {
            Buffer read = ctx.getMessage();
            ctx.setMessage(HttpContent.create(NO_HEAD, false, read)); // Tyrus recycles it
            return ctx.getInvokeAction();
        }
    }
}
