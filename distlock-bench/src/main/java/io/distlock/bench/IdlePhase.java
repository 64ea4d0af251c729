package io.distlock.bench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The idle scenario: N sessions connect, take one lock each and sit, and the servers' heap
 * is read before and after from their {@code /metrics}. With {@code --server-pid}, each
 * server JVM collects its garbage ({@code jcmd <pid> GC.run}) right before each reading, so
 * the difference is the live heap the sessions hold; without it the readings include garbage.
 */
final class IdlePhase {

    private static final int OPENING_AT_ONCE = 64;

    /** What the idle scenario measured. */
    record Result(int sessions, long connected, long locked, long errors, double openSeconds,
                  List<ServerProbe.Reading> before, List<ServerProbe.Reading> after, boolean gcForced, int[] perNode) {

        /** Heap per held session, averaged over the nodes, in bytes; NaN if the nodes have no /metrics. */
        double heapPerSession() {
            double sum = 0;
            long sessions = 0;
            for (int i = 0; i < before.size(); i++) {
                sum += after.get(i).heapBytes() - before.get(i).heapBytes();
                sessions += perNode[i];
            }
            return sessions == 0 ? Double.NaN : sum / sessions;
        }

        ObjectNode toJson() {
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            o.put("target", "websocket");
            o.put("scenario", "idle");
            o.put("sessions", sessions);
            o.put("nodes", before.size());
            o.put("connected", connected);
            o.put("locked", locked);
            o.put("open_s", PhaseResult.round(openSeconds, 3));
            o.putNull("pairs_per_s"); // no pairs, and no exclusion checked: null, not a measured 0
            o.putNull("pair_p50_us");
            o.putNull("pair_p99_us");
            o.put("errors", errors);
            o.putNull("violations");
            o.putNull("redis_commands_per_pair");
            o.put("gc_forced", gcForced);
            ArrayNode b = o.putArray("heap_before_bytes");
            ArrayNode a = o.putArray("heap_after_bytes");
            for (int i = 0; i < before.size(); i++) {
                b.add(before.get(i).heapBytes());
                a.add(after.get(i).heapBytes());
            }
            PhaseResult.number(o, "heap_per_session_bytes", PhaseResult.round(heapPerSession(), 0));
            return o;
        }
    }

    private final WebSocketTarget target;
    private final BenchSettings settings;
    private final PrintWriter out;
    private final ServerProbe probe;

    IdlePhase(WebSocketTarget target, BenchSettings settings, PrintWriter out, ServerProbe probe) {
        this.target = target;
        this.settings = settings;
        this.out = out;
        this.probe = probe;
    }

    Result run(String prefix) throws InterruptedException {
        int n = settings.sessions();
        boolean gc = !settings.serverPids().isEmpty();
        List<ServerProbe.Reading> before = readHeap(gc);
        out.printf("idle: heap before %s%n", heaps(before));
        AtomicLong connected = new AtomicLong();
        AtomicLong locked = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        ConcurrentLinkedQueue<Target.Session> sessions = new ConcurrentLinkedQueue<>();
        Target.Pushes pushes = new Target.Pushes() {
            @Override
            public void retry(String lock) { }

            @Override
            public void lost(String lock) {
                errors.incrementAndGet();
            }

            @Override
            public void granted(String lock, long token, boolean shared, long request) {
                errors.incrementAndGet(); // nobody queues here
            }

            @Override
            public void cancelled(String lock, String reason) {
                errors.incrementAndGet();
            }
        };
        int[] perNode = new int[target.nodes()];
        long start = System.nanoTime();
        Semaphore permits = new Semaphore(OPENING_AT_ONCE);
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String lock = prefix + "-idle-" + i;
            int node = target.nodeOf(i);
            permits.acquire();
            all.add(target.open(i, "idle-" + i, pushes).thenCompose(s -> {
                connected.incrementAndGet();
                sessions.add(s);
                return s.lock(List.of(lock), false, false);
            }).toCompletableFuture().handle((reply, e) -> {
                permits.release();
                if (e == null && reply.status == Reply.Status.LOCKED) {
                    locked.incrementAndGet();
                    synchronized (perNode) {
                        perNode[node]++;
                    }
                } else {
                    errors.incrementAndGet();
                }
                return null;
            }));
            if (i % 1000 == 999) {
                out.printf("idle: %,d sessions connected, %,d locks held%n", connected.get(), locked.get());
                out.flush();
            }
        }
        try {
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            errors.incrementAndGet();
        }
        double openSeconds = (System.nanoTime() - start) / 1e9;
        out.printf("idle: %,d sessions connected, %,d locks held, in %.1f s%n", connected.get(), locked.get(), openSeconds);
        out.flush();
        TimeUnit.SECONDS.sleep(1);
        List<ServerProbe.Reading> after = readHeap(gc);
        out.printf("idle: heap with the sessions %s%n", heaps(after));
        long sitUntil = System.nanoTime() + settings.duration().toNanos();
        while (System.nanoTime() < sitUntil) {
            TimeUnit.MILLISECONDS.sleep(Math.min(1000, Math.max(1, (sitUntil - System.nanoTime()) / 1_000_000)));
        }
        List<CompletableFuture<Void>> closing = new ArrayList<>();
        for (Target.Session s : sessions) {
            closing.add(s.close().toCompletableFuture());
        }
        try {
            CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            out.println("idle: not every session closed cleanly");
        }
        int[] nodes;
        synchronized (perNode) {
            nodes = perNode.clone();
        }
        return new Result(n, connected.get(), locked.get(), errors.get(), openSeconds, before, after, gc, nodes);
    }

    private List<ServerProbe.Reading> readHeap(boolean gc) throws InterruptedException {
        if (gc) {
            for (long pid : settings.serverPids()) {
                if (!ServerProbe.gc(pid)) {
                    out.println("idle: jcmd " + pid + " GC.run failed; the heap read includes garbage");
                }
            }
            TimeUnit.MILLISECONDS.sleep(200);
        }
        return probe.read();
    }

    private static String heaps(List<ServerProbe.Reading> readings) {
        StringBuilder s = new StringBuilder();
        for (ServerProbe.Reading r : readings) {
            s.append(s.length() == 0 ? "" : ", ")
                    .append(Double.isNaN(r.heapBytes()) ? "unknown (no /metrics)" : String.format("%.1f MB", r.heapBytes() / 1e6));
        }
        return s.toString();
    }
}
