package io.distlock.websocket;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;

import jakarta.websocket.CloseReason;
import jakarta.websocket.Endpoint;
import jakarta.websocket.EndpointConfig;
import jakarta.websocket.PongMessage;
import jakarta.websocket.Session;

/**
 * The distlock WebSocket endpoint: one instance per connection, created by the
 * configurator of {@link DistLockEndpoints#config()}. It only wires the container's callbacks
 * to the connection; it works unchanged in any JSR-356 (Jakarta WebSocket 2.1) container.
 */
public final class DistLockEndpoint extends Endpoint {

    private static final System.Logger LOG = System.getLogger(DistLockEndpoint.class.getName());

    private final Node node;
    private volatile Connection connection;

    DistLockEndpoint(Node node) {
        this.node = node;
    }

    @Override
    public void onOpen(Session ws, EndpointConfig config) {
        if (EndpointConfigurator.refused(ws, config)) {
            // The client was answered 403, 429 or 503 already (Tyrus opens such connections too).
            try {
                ws.close(new CloseReason(CloseReason.CloseCodes.VIOLATED_POLICY, "handshake refused"));
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.DEBUG, "Could not close a refused WebSocket: {0}", e.toString());
            }
            return;
        }
        EndpointOptions options = node.options;
        ws.setMaxTextMessageBufferSize(options.maxFrameBytes());
        ws.setMaxBinaryMessageBufferSize(options.maxFrameBytes());
        // Our pings decide when a connection is dead; a container idle timeout (Jetty's is 30 s)
        // must not fire first. Only ever raised: none (0, Tyrus's default) stays none, and
        // Tyrus can close a session whose timeout is changed from 0 while it opens.
        long idle = ws.getMaxIdleTimeout();
        long wanted = 3 * options.pingInterval().toMillis();
        if (idle > 0 && idle < wanted) {
            ws.setMaxIdleTimeout(wanted);
        }
        Connection c = new Connection(node, ws, EndpointConfigurator.principal(ws, config),
                EndpointConfigurator.client(ws, config));
        connection = c;
        ws.addMessageHandler(String.class, c::onText);
        ws.addMessageHandler(ByteBuffer.class, c::onBinary);
        ws.addMessageHandler(PongMessage.class, pong -> c.heard());
        c.start();
    }

    @Override
    public void onClose(Session ws, CloseReason reason) {
        Connection c = connection;
        if (c != null) {
            c.release();
        }
    }

    @Override
    public void onError(Session ws, Throwable error) {
        LOG.log(Level.DEBUG, "WebSocket error: {0}", String.valueOf(error));
        Connection c = connection;
        if (c != null) {
            // Containers report broken connections here, not always followed by onClose.
            c.failed();
        }
    }
}
