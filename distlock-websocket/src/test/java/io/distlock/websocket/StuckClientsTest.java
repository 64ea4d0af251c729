package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.distlock.testing.Await;

/**
 * Clients that stop reading but keep their TCP connection up must not delay anyone else's
 * liveness checks. On Jetty 12 a ping is a blocking call ({@code sendPing} waits for the frame
 * to be written), so a ping to a client whose socket is full never returns: it must not run on
 * a thread that other connections' pings and silence checks need.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StuckClientsTest {

    static final Duration PING = Duration.ofMillis(250);
    /** Server-to-client bytes a stuck client provokes at most: far more than the socket buffers between them hold. */
    static final long FLOOD_BYTES = 12L << 20;

    private GuardedNode node;
    private final ExecutorService clients = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "stuck-client");
        t.setDaemon(true);
        return t;
    });
    /** Paces each stuck client's pongs, one thread per client: a pong into a full socket blocks. */
    private final ScheduledExecutorService pongs = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "stuck-client-pongs");
        t.setDaemon(true);
        return t;
    });
    private final List<RawWebSocket> sockets = new ArrayList<>();

    @BeforeAll
    void start() {
        EndpointOptions options = EndpointOptions.builder().pingInterval(PING).build();
        node = GuardedNode.start("stuck-bystander", List.of(options), TestServer::jetty);
    }

    @AfterAll
    void stop() {
        sockets.forEach(RawWebSocket::close); // also ends the writes of stuck clients' threads
        clients.shutdownNow();
        pongs.shutdownNow();
        if (node != null) {
            node.close();
        }
    }

    @Test
    void twoClientsThatStopReadingDoNotDelayTheSilenceRuleForOthers() {
        AtomicLong[] provoked = {new AtomicLong(), new AtomicLong()};
        for (int i = 0; i < 2; i++) {
            RawWebSocket stuck = RawWebSocket.open(node.server.uri(GuardedNode.MAIN), 4096);
            sockets.add(stuck);
            stuck.sendText(WsClient.json("action", "connect", "param", "stuck-" + i));
            AtomicLong count = provoked[i];
            clients.execute(() -> floodWithoutReading(stuck, count, pongs));
        }
        // Both stuck clients have made the server write more than their sockets hold: the
        // server's writes to them are blocked. Jetty then stops reading from them too, so
        // their own writes stall; that (or the whole flood getting through) is the sign.
        Stall[] stalls = {new Stall(provoked[0]), new Stall(provoked[1])};
        await().atMost(Await.seconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> stalls[0].stuck() & stalls[1].stuck());

        RawWebSocket silent = RawWebSocket.open(node.server.uri(GuardedNode.MAIN));
        sockets.add(silent);
        silent.sendText(WsClient.json("action", "connect", "param", "blackholed"));
        assertThat(silent.readText(WsClient.TIMEOUT)).contains("Open session");
        long quietSince = System.nanoTime();
        // From now on it sends nothing, pongs included: closed after two ping intervals
        // (plus one for the tick's phase); the bound is generous for a loaded machine.
        RawWebSocket.Frame close = await().atMost(Await.seconds(5)).pollInterval(Duration.ofMillis(10))
                .until(() -> nextNonPing(silent), frame -> frame != null);
        long millis = (System.nanoTime() - quietSince) / 1_000_000;
        assertThat(close.opcode()).as("a close frame, after %d ms", millis).isEqualTo(8);
        assertThat(ByteBuffer.wrap(close.payload()).getShort() & 0xffff).isEqualTo(1001);
        assertThat(millis).as("closed after ms").isGreaterThanOrEqualTo(2 * PING.toMillis() - 50);
        System.out.println("the blackholed client was closed " + millis + " ms after its last frame");

        // The stuck clients, which Jetty stopped reading, went silent too: closed as well,
        // though their pings never went out. Only the bystander's session is left.
        await().atMost(Await.seconds(5)).pollInterval(Duration.ofMillis(20))
                .until(() -> node.service.sessionCount() == 1 && node.openConnections() == 1);

        node.assertBystanderUnharmed();
    }

    /** Whether a flood got through, or made no progress for a second. */
    private static final class Stall {
        private final AtomicLong progress;
        private long seen = -1;
        private long since;

        Stall(AtomicLong progress) {
            this.progress = progress;
        }

        boolean stuck() {
            long now = System.nanoTime();
            long current = progress.get();
            if (current != seen) {
                seen = current;
                since = now;
            }
            return current >= FLOOD_BYTES || current > 0 && now - since >= 1_000_000_000L;
        }
    }

    /** The next frame that is not a ping, or null if none came within a moment. */
    private static RawWebSocket.Frame nextNonPing(RawWebSocket ws) {
        RawWebSocket.Frame frame = ws.readFrame(Duration.ofMillis(20));
        while (frame != null && frame.opcode() == 0x9) {
            frame = ws.readFrame(Duration.ofMillis(20));
        }
        return frame;
    }

    /**
     * Never reads. Sends pings, which the container answers with pongs of the same size, until
     * it has provoked {@link #FLOOD_BYTES} of them; each batch ends with an unsolicited pong,
     * which the endpoint counts as the client being alive. Then one pong every 50 ms, until a
     * write fails. Pings,
     * not requests: a request's reply would keep the endpoint's own send in flight, and it
     * does not ping a connection with a send in flight.
     */
    private static void floodWithoutReading(RawWebSocket ws, AtomicLong provoked, ScheduledExecutorService pongs) {
        byte[] payload = new byte[125];
        byte[] pong = RawWebSocket.encode(true, 0, 0xA, true, new byte[] {'a'});
        ByteArrayOutputStream batch = new ByteArrayOutputStream();
        int pings = 64;
        for (int i = 0; i < pings; i++) {
            batch.writeBytes(RawWebSocket.encode(true, 0, 0x9, true, payload));
        }
        batch.writeBytes(pong);
        byte[] bytes = batch.toByteArray();
        while (provoked.get() < FLOOD_BYTES) {
            if (!ws.trySendBytes(bytes)) {
                return;
            }
            provoked.addAndGet(pings * (2L + payload.length));
        }
        Future<?>[] pacing = new Future<?>[1];
        synchronized (pacing) {
            pacing[0] = pongs.scheduleWithFixedDelay(() -> {
                if (!ws.trySendBytes(pong)) {
                    synchronized (pacing) {
                        pacing[0].cancel(false); // the server closed: this client is done
                    }
                }
            }, 0, 50, TimeUnit.MILLISECONDS);
        }
    }
}
