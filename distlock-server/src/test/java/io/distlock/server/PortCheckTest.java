package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import io.distlock.testing.Ports;

/**
 * The check at start that the port is free ({@link WebServer#checkPortFree}) never opens the
 * port: a client knocking while it runs is refused, as before the node starts, and not accepted
 * and then reset, as a probe that listened did (StartupOrderTest's first connection: "Connection
 * reset by peer" on a node that then started on that very port).
 */
class PortCheckTest {

    @Test
    void aClientKnockingWhileThePortIsCheckedIsNeverAccepted() throws Exception {
        int port = Ports.belowTheEphemeralRange();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger knocks = new AtomicInteger();
        AtomicInteger accepted = new AtomicInteger();
        Thread knocker = new Thread(() -> {
            while (!stop.get()) {
                knocks.incrementAndGet();
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
                    accepted.incrementAndGet();
                } catch (IOException refused) {
                    // what a knock on a port nobody listens on gets
                }
            }
        }, "knocker");
        knocker.start();
        // With a listening probe, about 1 knock in 10 was accepted (126 of 1,076), and the knocks were slow.
        int checks = 0;
        long start = System.nanoTime();
        try {
            while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2)
                    || knocks.get() < 1_000 && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(30)) {
                WebServer.checkPortFree("127.0.0.1", port);
                checks++;
            }
        } finally {
            stop.set(true);
            knocker.join(TimeUnit.SECONDS.toMillis(10));
        }

        assertThat(accepted.get()).as("knocks accepted during %d checks of a free port (of %d knocks)", checks, knocks.get())
                .isZero();
    }

    @Test
    void aPortSomeoneListensOnFailsTheCheck() throws IOException {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = taken.getLocalPort();

            assertThatThrownBy(() -> WebServer.checkPortFree("127.0.0.1", port))
                    .isInstanceOf(StartupException.class)
                    .hasMessageStartingWith("port " + port + " is already in use on 127.0.0.1");
        }
    }

    @Test
    void anAddressNotOfThisMachineIsSaidSoNotThatThePortIsInUse() {
        // 192.0.2.1 is TEST-NET-1 (RFC 5737), an address no machine has: binding fails locally, nothing is sent
        assertThatThrownBy(() -> WebServer.checkPortFree("192.0.2.1", 8080))
                .isInstanceOf(StartupException.class)
                .hasMessage("cannot listen on 192.0.2.1:8080: 192.0.2.1 is not an address of this machine "
                        + "(choose one of its addresses with --host, or 0.0.0.0 for all)");
    }

    @Test
    void connectionsInTimeWaitOnThePortDoNotFailTheCheck() throws IOException {
        int port;
        try (ServerSocket listener = new ServerSocket()) {
            listener.bind(new InetSocketAddress("127.0.0.1", 0));
            port = listener.getLocalPort();
            try (Socket client = new Socket()) {
                client.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
                try (Socket served = listener.accept()) {
                    // the server's side closes first: it is the one left in TIME_WAIT, on the port
                }
                InputStream in = client.getInputStream();
                assertThat(in.read()).as("the client sees the server's close").isEqualTo(-1);
            }
        }

        WebServer.checkPortFree("127.0.0.1", port); // as Grizzly binds, with SO_REUSEADDR: no StartupException
    }
}
