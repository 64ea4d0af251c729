package io.distlock.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import io.distlock.testing.Await;
import io.distlock.testing.TestRedis;

/**
 * Many sessions on three nodes fight over a few hot names for a bounded time. Every grant
 * and release is recorded on one clock; afterwards no two holders' intervals may overlap on
 * a name, tokens may only grow, and a counter incremented under the lock loses nothing.
 */
class StressTest {

    private static final String[] HOT = {"hot-a", "hot-b", "hot-c"};
    private static final int SESSIONS_PER_NODE = 4;
    private static final Duration RUN = Duration.ofSeconds(6);

    /** Observed hold: from the LOCKED answer to the sending of the unlock (inside the real one). */
    private record Hold(String lock, String session, long token, long grantedNanos, long releasingNanos) { }

    private static final class Counter {
        int value; // deliberately unsynchronized: only the distributed lock protects it
    }

    @Test
    void noTwoSessionsEverHoldTheSameLockAndTokensOnlyGrow() throws Exception {
        String prefix = "stress-" + System.nanoTime(); // a fresh namespace, even on a shared Redis
        TestRedis.markInService(prefix); // the quarantine stays on: its check runs with every grant
        List<LockService> nodes = new ArrayList<>();
        ExecutorService clients = Executors.newFixedThreadPool(3 * SESSIONS_PER_NODE);
        try {
            for (int i = 0; i < 3; i++) {
                nodes.add(LockService.connect(TestRedis.url(), LockConfig.builder().keyPrefix(prefix).build()));
            }
            ConcurrentLinkedQueue<Hold> holds = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            Map<String, Counter> counters = new java.util.HashMap<>();
            for (String name : HOT) {
                counters.put(name, new Counter());
            }
            AtomicInteger waits = new AtomicInteger();
            long end = System.nanoTime() + RUN.toNanos();
            List<Future<?>> running = new ArrayList<>();
            for (int n = 0; n < nodes.size(); n++) {
                for (int s = 0; s < SESSIONS_PER_NODE; s++) {
                    LockService node = nodes.get(n);
                    String name = "node" + n + "-s" + s;
                    running.add(clients.submit(() -> client(node, name, end, holds, counters, waits, problems)));
                }
            }
            for (Future<?> f : running) {
                f.get(RUN.plusSeconds(60).toSeconds(), TimeUnit.SECONDS);
            }

            System.out.printf("stress: %d grants, %d waits%n", holds.size(), waits.get());
            assertThat(problems).as("errors and lost RETRYs").isEmpty();
            assertThat(holds).as("grants").hasSizeGreaterThan(100);
            assertThat(waits.get()).as("contention actually happened").isGreaterThan(10);
            for (String name : HOT) {
                List<Hold> ofName = holds.stream().filter(h -> h.lock().equals(name))
                        .sorted(Comparator.comparingLong(Hold::grantedNanos)).collect(Collectors.toList());
                for (int i = 1; i < ofName.size(); i++) {
                    Hold before = ofName.get(i - 1);
                    Hold after = ofName.get(i);
                    assertThat(after.grantedNanos()).as("%s granted while held: %s overlaps %s", name, after, before)
                            .isGreaterThanOrEqualTo(before.releasingNanos());
                    assertThat(after.token()).as("token order on %s", name).isGreaterThan(before.token());
                }
                assertThat(counters.get(name).value).as("increments under %s", name).isEqualTo(ofName.size());
            }
        } finally {
            clients.shutdownNow();
            nodes.forEach(LockService::close);
        }
    }

    private static void client(LockService node, String name, long end, ConcurrentLinkedQueue<Hold> holds,
                               Map<String, Counter> counters, AtomicInteger waits, ConcurrentLinkedQueue<String> problems) {
        Semaphore retried = new Semaphore(0);
        LockSession session = node.openSession(name, new LockListener() {
            @Override
            public void retry(String lock) {
                retried.release();
            }

            @Override
            public void lost(String lock) {
                problems.add(name + " lost " + lock);
            }
        });
        try {
            while (System.nanoTime() < end) {
                String lock = HOT[ThreadLocalRandom.current().nextInt(HOT.length)];
                LockResult result = Await.result(session.lock(lock));
                if (result instanceof LockResult.Locked locked) {
                    long granted = System.nanoTime();
                    Counter counter = counters.get(lock);
                    int seen;
                    synchronized (counter) { // the monitor gives visibility, not exclusion:
                        seen = counter.value;
                    }
                    Thread.yield(); // a second holder would interleave here and lose an update
                    synchronized (counter) {
                        counter.value = seen + 1;
                    }
                    long releasing = System.nanoTime();
                    UnlockResult unlocked = Await.result(session.unlock(lock));
                    if (unlocked != UnlockResult.UNLOCKED) {
                        problems.add(name + " could not unlock " + lock + ": " + unlocked);
                    }
                    holds.add(new Hold(lock, name, locked.token(), granted, releasing));
                } else if (result instanceof LockResult.Waiting) {
                    waits.incrementAndGet();
                    if (!retried.tryAcquire(10, TimeUnit.SECONDS)) {
                        problems.add(name + " never got RETRY for " + lock);
                        return;
                    }
                } else {
                    problems.add(name + " refused: " + result);
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | AssertionError e) {
            problems.add(name + " failed: " + e);
        } finally {
            session.close();
        }
    }
}
