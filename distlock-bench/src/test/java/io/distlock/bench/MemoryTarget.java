package io.distlock.bench;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A lock server in memory that speaks what the bench's targets speak: version 1's {@code WAIT}
 * and {@code RETRY}, version 2's queue ({@code QUEUED}, {@code GRANTED} naming the queuing
 * request) and shared mode, with a fencing token per grant, growing per name. Replies and
 * pushes are delivered on a pool of two threads, so that a push may overtake the reply before
 * it, as the bench must tolerate. With a {@link Flaw} it gets one thing wrong, so that tests
 * can see the bench notice.
 */
final class MemoryTarget implements Target {

    enum Flaw {
        NONE,
        /** A freed lock goes to the newest queued request. */
        LIFO,
        /** {@code GRANTED} names a request that is not the one that queued. */
        WRONG_REQUEST
    }

    private record Waiter(MemorySession session, boolean shared, long request) { }

    /** One lock name's state. */
    private static final class Lock {
        final Map<MemorySession, Boolean> holders = new LinkedHashMap<>(); // session -> shared
        final Deque<Waiter> queue = new ArrayDeque<>();
        final Set<MemorySession> toRetry = new LinkedHashSet<>();
        long token;
    }

    private final Flaw flaw;
    private final Map<String, Lock> locks = new HashMap<>();
    private final ExecutorService delivery = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "memory-target");
        t.setDaemon(true);
        return t;
    });

    MemoryTarget(Flaw flaw) {
        this.flaw = flaw;
    }

    @Override
    public String label() {
        return "memory";
    }

    @Override
    public int nodes() {
        return 1;
    }

    @Override
    public int nodeOf(int index) {
        return 0;
    }

    @Override
    public CompletionStage<Session> open(int index, String name, Pushes pushes) {
        return CompletableFuture.completedFuture(new MemorySession(pushes));
    }

    @Override
    public void close() {
        delivery.shutdownNow();
    }

    private Lock state(String name) {
        return locks.computeIfAbsent(name, n -> new Lock());
    }

    private static boolean compatible(Lock l, boolean shared) {
        return l.holders.isEmpty() || shared && !l.holders.containsValue(false);
    }

    private CompletionStage<Reply> later(Reply reply) {
        return CompletableFuture.supplyAsync(() -> reply, delivery);
    }

    /** After a release: hand over to the queue's head(s), or tell the version 1 waiters. Holds the monitor. */
    private List<Runnable> freed(String name, Lock l) {
        List<Runnable> pushes = new ArrayList<>();
        int granted = 0;
        while (!l.queue.isEmpty()) {
            Waiter head = flaw == Flaw.LIFO ? l.queue.peekLast() : l.queue.peekFirst();
            if (!head.shared() && (!l.holders.isEmpty() || granted > 0) || head.shared() && l.holders.containsValue(false)) {
                break;
            }
            if (flaw == Flaw.LIFO) {
                l.queue.pollLast();
            } else {
                l.queue.pollFirst();
            }
            long token = ++l.token;
            l.holders.put(head.session(), head.shared());
            long request = flaw == Flaw.WRONG_REQUEST ? head.request() + 1 : head.request();
            pushes.add(() -> head.session().pushes.granted(name, token, head.shared(), request));
            granted++;
            if (!head.shared()) {
                break;
            }
        }
        if (granted == 0 && l.holders.isEmpty() && l.queue.isEmpty()) {
            for (MemorySession s : l.toRetry) {
                pushes.add(() -> s.pushes.retry(name));
            }
            l.toRetry.clear();
        }
        return pushes;
    }

    private void deliver(List<Runnable> pushes) {
        for (Runnable p : pushes) {
            delivery.execute(p);
        }
    }

    private final class MemorySession implements Session {
        private final Pushes pushes;
        private final AtomicLong ids = new AtomicLong();

        MemorySession(Pushes pushes) {
            this.pushes = pushes;
        }

        @Override
        public CompletionStage<Reply> lock(List<String> names, boolean shared, boolean wait) {
            long id = ids.incrementAndGet();
            synchronized (MemoryTarget.this) {
                boolean free = true;
                for (String n : names) {
                    Lock l = state(n);
                    free &= compatible(l, shared) && l.queue.isEmpty();
                }
                if (free) {
                    Map<String, Long> tokens = new LinkedHashMap<>();
                    for (String n : names) {
                        Lock l = state(n);
                        l.holders.put(this, shared);
                        tokens.put(n, ++l.token);
                    }
                    return later(names.size() == 1 ? Reply.locked(tokens.get(names.get(0))) : Reply.locked(tokens));
                }
                if (wait && names.size() == 1) {
                    Lock l = state(names.get(0));
                    l.queue.addLast(new Waiter(this, shared, id));
                    return later(new Reply(Reply.Status.QUEUED, id, names.get(0), 0, null, null, l.queue.size(), false, -1,
                            null, 0));
                }
                for (String n : names) {
                    state(n).toRetry.add(this);
                }
                return later(Reply.WAIT);
            }
        }

        @Override
        public CompletionStage<Reply> unlock(List<String> names) {
            List<Runnable> out = new ArrayList<>();
            synchronized (MemoryTarget.this) {
                for (String n : names) {
                    Lock l = state(n);
                    if (l.holders.remove(this) == null) {
                        return later(Reply.fail("NOT_OWNER"));
                    }
                    out.addAll(freed(n, l));
                }
            }
            CompletionStage<Reply> reply = later(Reply.OK);
            deliver(out);
            return reply;
        }

        @Override
        public CompletionStage<Void> close() {
            List<Runnable> out = new ArrayList<>();
            synchronized (MemoryTarget.this) {
                for (Map.Entry<String, Lock> e : locks.entrySet()) {
                    Lock l = e.getValue();
                    l.queue.removeIf(w -> w.session() == this);
                    l.toRetry.remove(this);
                    if (l.holders.remove(this) != null) {
                        out.addAll(freed(e.getKey(), l));
                    }
                }
            }
            deliver(out);
            return CompletableFuture.completedFuture(null);
        }
    }
}
