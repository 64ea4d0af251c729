import io.distlock.core.LockConfig;
import io.distlock.core.LockListener;
import io.distlock.core.LockOptions;
import io.distlock.core.LockService;
import io.distlock.core.LockSession;
import io.distlock.core.LockWatch;
import io.distlock.core.SessionOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a watcher of a lock with a long queue costs everybody else (docs/benchmarks.md, "A watched
 * lock with a long queue"). Node A holds "hot" and queues QUEUED sessions for it (each with a
 * 100-byte info); 4 sessions keep joining and leaving the queue's tail; a probe session does
 * lock+unlock pairs of another lock for 8 s after 3 s of warm-up. With "watch", node B watches
 * "hot" meanwhile. Prints the probe's latency, the churn's rate and the changes told per second.
 *
 *   java -cp <distlock-core and its dependencies> scripts/WatchLongQueue.java REDIS_URL QUEUED none|watch
 */
public class WatchLongQueue {

    public static void main(String[] args) throws Exception {
        String redis = args[0];
        int queued = Integer.parseInt(args[1]);
        boolean watch = args[2].equals("watch");
        LockService nodeA = LockService.connect(redis, LockConfig.builder().build());
        LockService nodeB = LockService.connect(redis, LockConfig.builder().build());
        SessionOptions withInfo = new SessionOptions(Duration.ZERO, "{\"user\":\"" + "x".repeat(100) + "\"}");
        nodeA.openSession("holder", LockListener.NONE, withInfo).lock("hot").toCompletableFuture().get();
        List<CompletableFuture<?>> places = new ArrayList<>();
        for (int i = 0; i < queued; i++) {
            LockSession waiter = nodeA.openSession("waiter-" + i, LockListener.NONE, withInfo);
            places.add(waiter.lock("hot", LockOptions.exclusive().queue()).toCompletableFuture());
        }
        CompletableFuture.allOf(places.toArray(CompletableFuture[]::new)).get();

        AtomicLong told = new AtomicLong();
        if (watch) {
            nodeB.watch((lock, state) -> told.incrementAndGet()).watch(List.of("hot")).toCompletableFuture().get();
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong churned = new AtomicLong();
        List<Thread> churn = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            LockSession s = nodeA.openSession("churn-" + c, LockListener.NONE, withInfo);
            Thread t = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        s.lock("hot", LockOptions.exclusive().queue()).toCompletableFuture().get();
                        s.cancel("hot").toCompletableFuture().get();
                        churned.incrementAndGet();
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            t.start();
            churn.add(t);
        }
        LockSession probe = nodeA.openSession("probe", LockListener.NONE);
        pairs(probe, 3_000, null);
        long churned0 = churned.get();
        long told0 = told.get();
        long[] took = new long[1_000_000];
        int n = pairs(probe, 8_000, took);
        double seconds = 8.0;
        long churnRate = Math.round((churned.get() - churned0) / seconds);
        long toldRate = Math.round((told.get() - told0) / seconds);
        stop.set(true);
        for (Thread t : churn) {
            t.join();
        }
        Arrays.sort(took, 0, n);
        System.out.printf("queued=%d %s: probe pairs/s=%d p50=%dus p99=%dus, churn joins+leaves/s=%d, changes told/s=%d%n",
                queued, watch ? "watched" : "not watched", Math.round(n / seconds), took[n / 2] / 1000, took[n * 99 / 100] / 1000,
                churnRate, toldRate);
        nodeA.close();
        nodeB.close();
    }

    /** lock+unlock pairs for {@code millis}; their durations (ns) into {@code took} if given. */
    private static int pairs(LockSession probe, long millis, long[] took) throws Exception {
        int n = 0;
        long end = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < end && (took == null || n < took.length)) {
            long start = System.nanoTime();
            probe.lock("probe").toCompletableFuture().get();
            probe.unlock("probe").toCompletableFuture().get();
            if (took != null) {
                took[n] = System.nanoTime() - start;
            }
            n++;
        }
        return n;
    }
}
