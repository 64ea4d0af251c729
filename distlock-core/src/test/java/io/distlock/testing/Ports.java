package io.distlock.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/** Free loopback ports for tests that must know a port before a process binds it. */
public final class Ports {

    private Ports() {
    }

    /**
     * A free port of 127.0.0.1 below the ephemeral range (Linux: 32768 and up), from which
     * outgoing connections take their local ports. A port from that range can be taken by any
     * client's connection before the process binds it (a node killed and started again on its
     * port could not, in {@code watch-node-kill-9}), can be the one an embedded Redis took, and a
     * connection to one nobody listens on can connect to itself (TCP simultaneous open).
     */
    public static int belowTheEphemeralRange() {
        for (int i = 0; i < 100; i++) {
            int candidate = 20_000 + ThreadLocalRandom.current().nextInt(12_000);
            try (ServerSocket socket = new ServerSocket()) {
                socket.bind(new InetSocketAddress("127.0.0.1", candidate));
                return candidate;
            } catch (IOException e) {
                // taken: try another
            }
        }
        throw new UncheckedIOException(new IOException("no free port between 20000 and 32000 in 100 tries"));
    }
}
