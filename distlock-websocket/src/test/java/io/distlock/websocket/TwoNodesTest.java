package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.testing.RedisProcess;

/**
 * Two server nodes on one Redis, each a lock service of its own behind a container of its
 * own (one Tyrus, one Jetty): waiters are told on whichever node they are, whatever freed
 * the lock.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TwoNodesTest {

    static final String PATH = "/distlock/lock";

    private RedisProcess redis;
    private LockService serviceA;
    private LockService serviceB;
    private DistLockEndpoints endpointA;
    private DistLockEndpoints endpointB;
    private TestServer nodeA;
    private TestServer nodeB;
    private final List<AutoCloseable> opened = new ArrayList<>();

    @BeforeAll
    void start() {
        redis = RedisProcess.start();
        LockConfig config = LockConfig.builder().lease(Duration.ofSeconds(2)).build();
        serviceA = LockService.connect(redis.url(), config);
        serviceB = LockService.connect(redis.url(), config);
        endpointA = DistLockEndpoints.create(serviceA, EndpointOptions.defaults());
        endpointB = DistLockEndpoints.create(serviceB, EndpointOptions.defaults());
        nodeA = TestServer.tyrus(List.of(endpointA.config()));
        nodeB = TestServer.jetty(List.of(endpointB.config()));
    }

    @AfterAll
    void stop() {
        for (DistLockEndpoints endpoint : new DistLockEndpoints[] {endpointA, endpointB}) {
            if (endpoint != null) {
                endpoint.close();
            }
        }
        for (AutoCloseable c : new AutoCloseable[] {nodeA, nodeB, serviceA, serviceB, redis}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                // best effort
            }
        }
    }

    @AfterEach
    void closeClients() throws Exception {
        for (AutoCloseable c : opened) {
            c.close();
        }
        opened.clear();
    }

    private WsClient on(TestServer node, String session) {
        WsClient c = WsClient.open(node.uri(PATH));
        opened.add(c);
        c.request("OK", "action", "connect", "param", session);
        return c;
    }

    @Test
    void unlockOnOneNodeRetriesTheWaiterOnTheOther() {
        WsClient holder = on(nodeA, "holder");
        WsClient waiter = on(nodeB, "waiter");
        long first = holder.request("LOCKED", "action", "lock", "param", "x-unlock").path("token").asLong();
        assertThat(waiter.request("WAIT", "action", "lock", "param", "x-unlock").path("holder").asText()).isEqualTo("holder");
        holder.request("OK", "action", "unlock", "param", "x-unlock");
        assertThat(waiter.expectNext("RETRY").path("lock").asText()).isEqualTo("x-unlock");
        long second = waiter.request("LOCKED", "action", "lock", "param", "x-unlock").path("token").asLong();
        assertThat(second).as("fencing tokens grow across nodes").isGreaterThan(first);

        // and the other way round
        holder.request("WAIT", "action", "lock", "param", "x-unlock");
        waiter.request("OK", "action", "unlock", "param", "x-unlock");
        holder.expectNext("RETRY");
    }

    @Test
    void closeOnOneNodeRetriesTheWaiterOnTheOther() {
        WsClient holder = on(nodeB, "holder");
        WsClient waiter = on(nodeA, "waiter");
        holder.request("LOCKED", "action", "mlock", "params", List.of("x-close-1", "x-close-2"));
        waiter.request("WAIT", "action", "mlock", "params", List.of("x-close-1", "x-close-2"));
        holder.request("OK", "action", "close");
        List<String> retried = List.of(waiter.expectNext("RETRY").path("lock").asText(),
                waiter.expectNext("RETRY").path("lock").asText());
        assertThat(retried).containsExactlyInAnyOrder("x-close-1", "x-close-2");
        waiter.request("LOCKED", "action", "mlock", "params", List.of("x-close-1", "x-close-2"));
    }

    @Test
    void anAbruptTcpDropOfTheHolderRetriesTheWaiterOnTheOtherNode() {
        for (TestServer holderNode : List.of(nodeA, nodeB)) {
            TestServer waiterNode = holderNode == nodeA ? nodeB : nodeA;
            String lock = "x-drop-" + holderNode.port();
            WsClient waiter = on(waiterNode, "waiter");
            try (RawWebSocket holder = RawWebSocket.open(holderNode.uri(PATH))) {
                holder.sendText(WsClient.json("action", "connect", "param", "holder"));
                assertThat(holder.readText(WsClient.TIMEOUT)).contains("Open session");
                holder.sendText(WsClient.json("action", "lock", "param", lock));
                assertThat(holder.readText(WsClient.TIMEOUT)).contains("LOCKED");
                waiter.request("WAIT", "action", "lock", "param", lock);
                holder.drop(); // TCP reset: no close frame
            }
            JsonNode retry = waiter.expectNext("RETRY");
            assertThat(retry.path("lock").asText()).isEqualTo(lock);
            waiter.request("LOCKED", "action", "lock", "param", lock);
        }
    }

    @Test
    void anAbortedJdkClientIsReleasedToo() {
        WsClient holder = on(nodeB, "holder");
        WsClient waiter = on(nodeA, "waiter");
        holder.request("LOCKED", "action", "lock", "param", "x-abort");
        waiter.request("WAIT", "action", "lock", "param", "x-abort");
        holder.abort();
        waiter.expectNext("RETRY");
    }

    @Test
    void closeAllClosesEveryConnectionWith1001AndReleasesItsLocks() {
        WsClient waiter = on(nodeB, "waiter");
        WsClient holder1 = on(nodeA, "holder-1");
        WsClient holder2 = on(nodeA, "holder-2");
        holder1.request("LOCKED", "action", "lock", "param", "x-all-1");
        holder2.request("LOCKED", "action", "lock", "param", "x-all-2");
        waiter.request("WAIT", "action", "mlock", "params", List.of("x-all-1", "x-all-2"));
        assertThat(endpointA.openConnections()).isEqualTo(2);

        endpointA.closeAll();

        assertThat(holder1.expectClosed().code()).isEqualTo(1001);
        assertThat(holder2.expectClosed().code()).isEqualTo(1001);
        List<String> retried = List.of(waiter.expectNext("RETRY").path("lock").asText(),
                waiter.expectNext("RETRY").path("lock").asText());
        assertThat(retried).containsExactlyInAnyOrder("x-all-1", "x-all-2");
        assertThat(endpointA.openConnections()).isZero();
        assertThat(serviceA.sessionCount()).isZero();
        // The node still serves new connections.
        on(nodeA, "later").request("LOCKED", "action", "lock", "param", "x-all-1");
        assertThat(endpointA.openConnections()).isEqualTo(1);
        assertThat(endpointB.openConnections()).as("the other node is untouched").isEqualTo(1);
    }

    @Test
    void closeAllTellsEveryClientOfTheNodeBeforeReleasingAnyLock() {
        tellsEveryClientBeforeReleasingAnyLock(nodeA, endpointA, serviceA, nodeB, "tyrus");
    }

    @Test
    void closeAllOnJettyTellsEveryClientOfTheNodeBeforeReleasingAnyLock() {
        tellsEveryClientBeforeReleasingAnyLock(nodeB, endpointB, serviceB, nodeA, "jetty");
    }

    /**
     * Pairs on the closing node: a holder, and a waiter the holder's release would send a RETRY
     * (then a grant) if it were freed while the waiter's connection still served. Fails with the
     * order closeAll had before: each connection closed and released in turn.
     */
    private void tellsEveryClientBeforeReleasingAnyLock(TestServer closing, DistLockEndpoints endpoint, LockService service,
                                                        TestServer other, String prefix) {
        int pairs = 16;
        List<WsClient> waiters = new ArrayList<>();
        for (int i = 0; i < pairs; i++) {
            on(closing, "holder-" + i).request("LOCKED", "action", "lock", "param", prefix + "-told-" + i);
            WsClient waiter = on(closing, "waiter-" + i);
            waiter.request("WAIT", "action", "lock", "param", prefix + "-told-" + i);
            waiters.add(waiter);
        }
        WsClient elsewhere = on(other, "elsewhere");
        elsewhere.request("WAIT", "action", "lock", "param", prefix + "-told-0");

        endpoint.closeAll();

        for (WsClient waiter : waiters) {
            assertThat(waiter.expectCloseNext().code()).isEqualTo(1001);
        }
        assertThat(elsewhere.expectNext("RETRY").path("lock").asText()).as("released after").isEqualTo(prefix + "-told-0");
        assertThat(service.sessionCount()).isZero();
    }
}
