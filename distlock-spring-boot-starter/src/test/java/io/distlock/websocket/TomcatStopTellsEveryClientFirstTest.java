package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.distlock.core.LockConfig;
import io.distlock.core.LockListener;
import io.distlock.core.LockResult;
import io.distlock.core.LockService;
import io.distlock.core.LockSession;
import io.distlock.spring.boot.DistLockHandshakeFilter;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

/**
 * A web application on Tomcat that stops without closing the endpoint first (an undeploy, a
 * reload, the documented listener's {@code contextDestroyed}, which Tomcat calls after its own
 * WebSocket listener closed every connection one by one): the {@link DistLockHandshakeFilter}
 * in front of the endpoint, destroyed before any listener, tells every client of the endpoint
 * (1001) before any of their locks is released. Found by review (2026-12-07): without it, a lock
 * freed by one close was offered ({@code RETRY}) to a waiter of the same node whose connection
 * was still served.
 */
class TomcatStopTellsEveryClientFirstTest {

    private static final String PATH = "/distlock/lock";

    private RedisProcess redis;
    private final List<WsClient> clients = new ArrayList<>();

    @BeforeEach
    void startRedis() {
        redis = RedisProcess.start();
    }

    @AfterEach
    void stop() {
        clients.forEach(WsClient::close);
        redis.close();
    }

    @Test
    void stoppingTheWebApplicationTellsEveryClientBeforeReleasingAnyLock() throws Exception {
        // Enough pairs that Tomcat's close loop outlasts a release's round trip: with the filter's
        // destroy emptied, a waiter got RETRY before its close with 120 pairs (not with 16).
        int pairs = 120;
        try (LockService service = LockService.connect(redis.url(), LockConfig.defaults());
             LockService elsewhere = LockService.connect(redis.url(), LockConfig.defaults());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.defaults())) {
            TomcatTestServer tomcat = TomcatTestServer.startFiltered(List.of(endpoint));
            List<WsClient> waiters = new ArrayList<>();
            try {
                for (int i = 0; i < pairs; i++) {
                    on(tomcat, "holder-" + i).request("LOCKED", "action", "lock", "param", "told-" + i);
                    WsClient waiter = on(tomcat, "waiter-" + i);
                    waiter.request("WAIT", "action", "lock", "param", "told-" + i);
                    waiters.add(waiter);
                }
            } finally {
                tomcat.close(); // stops the context: no endpoint.close() or closeAll() before it
            }

            for (WsClient waiter : waiters) {
                assertThat(waiter.expectCloseNext().code()).as("the waiter's next frame: its close, no RETRY first").isEqualTo(1001);
            }
            await().atMost(Await.seconds(10)).until(() -> service.sessionCount() == 0);
            LockSession after = elsewhere.openSession("after", LockListener.NONE);
            for (int i = 0; i < pairs; i++) {
                assertThat(after.lock("told-" + i).toCompletableFuture().get()).as("released after").isInstanceOf(LockResult.Locked.class);
            }
        }
    }

    private WsClient on(TomcatTestServer tomcat, String session) {
        WsClient c = WsClient.open(tomcat.uri(PATH));
        clients.add(c);
        c.request("OK", "action", "connect", "param", session);
        return c;
    }
}
