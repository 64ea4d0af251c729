package io.distlock.faults;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.distlock.faults.History.Event;
import io.distlock.faults.History.Kind;
import io.distlock.faults.History.Op;

/** Release times read from a history: how long a fault kept a lock from its next holder. */
final class Liveness {

    private Liveness() {
    }

    /**
     * For every lock held at {@code faultNanos} by a client connected to node {@code node}: the
     * time from the fault to the lock's next grant to anyone. A lock never granted again is
     * reported as the time to the end of the history, so it cannot pass a bound unnoticed.
     */
    static List<Duration> regrantTimes(History history, long faultNanos, int node) {
        List<Event> events = history.events();
        long end = events.isEmpty() ? faultNanos : events.get(events.size() - 1).nanos();
        List<Duration> times = new ArrayList<>();
        for (String lock : heldOn(events, faultNanos, node).values().stream().flatMap(List::stream).distinct().toList()) {
            long regrant = events.stream()
                    .filter(e -> e.nanos() > faultNanos && e.op() == Op.LOCK && e.kind() == Kind.OK && lock.equals(e.lock()))
                    .mapToLong(Event::nanos).findFirst().orElse(end);
            times.add(Duration.ofNanos(regrant - faultNanos));
        }
        return times;
    }

    /**
     * The time from {@code faultNanos} to the next grant of {@code lock} to anyone; a lock never
     * granted again is reported as the time to the end of the history.
     */
    static Duration nextGrantTime(History history, long faultNanos, String lock) {
        List<Event> events = history.events();
        long end = events.isEmpty() ? faultNanos : events.get(events.size() - 1).nanos();
        long next = events.stream()
                .filter(e -> e.nanos() > faultNanos && e.op() == Op.LOCK && e.kind() == Kind.OK && lock.equals(e.lock()))
                .mapToLong(Event::nanos).findFirst().orElse(end);
        return Duration.ofNanos(next - faultNanos);
    }

    /**
     * A lock at the head of whose queue a client of {@code node} waits now, while every holder of
     * that lock is a client of another node; null if there is none. The head is the waiting
     * request queued first: its QUEUED came before every other waiter of that lock sent its
     * request (so Redis queued it first), and neither a grant nor a leave followed.
     */
    static String headWaiterOn(History history, int node) {
        Map<Integer, Integer> nodeOf = new HashMap<>();
        Map<Integer, Long> invoked = new HashMap<>();    // process -> when its latest lock request was sent
        Map<Integer, Event> waiting = new HashMap<>();   // process -> the QUEUED of its wait
        Map<String, Map<Integer, Boolean>> holders = new HashMap<>(); // lock -> processes holding it
        for (Event e : history.events()) {
            int p = e.process();
            switch (e.op()) {
                case CONNECT -> {
                    if (e.kind() == Kind.OK) {
                        nodeOf.put(p, Integer.parseInt(e.detail().replaceAll(".*node=(\\d+).*", "$1")));
                    }
                }
                case DISCONNECT, CLOSE -> {
                    if (e.op() == Op.DISCONNECT || e.kind() == Kind.OK) {
                        if (e.op() == Op.DISCONNECT) {
                            nodeOf.remove(p);
                        }
                        waiting.remove(p);
                        holders.values().forEach(h -> h.remove(p));
                    }
                }
                case QUEUED -> {
                    if (e.kind() == Kind.OK) {
                        waiting.put(p, e);
                    }
                }
                case LOCK -> {
                    if (e.kind() == Kind.OK) {
                        waiting.remove(p);
                        holders.computeIfAbsent(e.lock(), k -> new HashMap<>()).put(p, true);
                    } else if (e.kind() == Kind.INVOKE) {
                        waiting.remove(p);
                        invoked.put(p, e.nanos());
                    }
                }
                case CANCEL, CANCELLED -> {
                    if (e.kind() != Kind.INVOKE) {
                        waiting.remove(p);
                    }
                }
                case UNLOCK, LOST -> {
                    if (e.op() == Op.LOST || e.kind() == Kind.INVOKE) {
                        holders.getOrDefault(e.lock(), new HashMap<>()).remove(p);
                    }
                }
                default -> { }
            }
        }
        for (Map.Entry<Integer, Event> w : waiting.entrySet()) {
            int p = w.getKey();
            Event queued = w.getValue();
            if (nodeOf.getOrDefault(p, -1) != node) {
                continue;
            }
            boolean first = waiting.entrySet().stream().allMatch(other -> other.getKey() == p
                    || !other.getValue().lock().equals(queued.lock()) || invoked.getOrDefault(other.getKey(), 0L) > queued.nanos());
            Map<Integer, Boolean> holding = holders.getOrDefault(queued.lock(), Map.of());
            if (first && !holding.isEmpty() && holding.keySet().stream().allMatch(h -> nodeOf.getOrDefault(h, node) != node)) {
                return queued.lock();
            }
        }
        return null;
    }

    /**
     * The locks a client of {@code node} holds at the end of {@code events} while a client (of any
     * node) waits for them: its WAIT not yet followed by a RETRY, or its QUEUED by a grant or a leave.
     */
    static Set<String> waitedForOn(List<Event> events, int node) {
        Map<Integer, String> waiting = new HashMap<>(); // process -> the lock it waits for
        for (Event e : events) {
            int p = e.process();
            switch (e.op()) {
                case LOCK -> {
                    if (e.kind() == Kind.FAIL && String.valueOf(e.detail()).startsWith("WAIT")) {
                        waiting.put(p, e.lock());
                    } else {
                        waiting.remove(p);
                    }
                }
                case QUEUED -> {
                    if (e.kind() == Kind.OK) {
                        waiting.put(p, e.lock());
                    }
                }
                case RETRY -> {
                    if (e.kind() == Kind.OK || "missing".equals(e.detail())) {
                        waiting.remove(p);
                    }
                }
                case CANCELLED, DISCONNECT -> waiting.remove(p);
                case CANCEL, CLOSE -> {
                    if (e.kind() == Kind.OK) {
                        waiting.remove(p);
                    }
                }
                default -> { }
            }
        }
        Set<String> waited = new HashSet<>();
        heldOn(events, Long.MAX_VALUE, node).forEach((holder, locks) -> locks.forEach(lock -> {
            if (waiting.entrySet().stream().anyMatch(w -> w.getKey() != holder.intValue() && w.getValue().equals(lock))) {
                waited.add(lock);
            }
        }));
        return waited;
    }

    /** Process to lock, for the clients connected to {@code node} that hold a lock now. */
    static Map<Integer, String> holdersOn(History history, int node) {
        return holdersOn(history.events(), Long.MAX_VALUE, node);
    }

    /**
     * Process to lock, for the clients connected to {@code node} that held a lock at {@code atNanos}:
     * of a client holding several (an mlock's), the one granted last.
     */
    static Map<Integer, String> holdersOn(List<Event> events, long atNanos, int node) {
        Map<Integer, String> holders = new HashMap<>();
        heldOn(events, atNanos, node).forEach((process, locks) -> holders.put(process, locks.get(locks.size() - 1)));
        return holders;
    }

    /**
     * Process to the locks it held at {@code atNanos} (in grant order), for the clients connected to
     * {@code node}: a client holds each lock from its LOCK OK to its UNLOCK INVOKE or its LOST, and
     * all of them until its CLOSE INVOKE or DISCONNECT.
     */
    static Map<Integer, List<String>> heldOn(List<Event> events, long atNanos, int node) {
        Map<Integer, Integer> nodeOf = new HashMap<>();
        Map<Integer, List<String>> holding = new HashMap<>();
        for (Event e : events) {
            if (e.nanos() > atNanos) {
                break;
            }
            if (e.op() == Op.CONNECT && e.kind() == Kind.OK) {
                nodeOf.put(e.process(), Integer.parseInt(e.detail().replaceAll(".*node=(\\d+).*", "$1")));
            } else if (e.op() == Op.DISCONNECT) {
                nodeOf.remove(e.process());
                holding.remove(e.process());
            } else if (e.op() == Op.LOCK && e.kind() == Kind.OK) {
                List<String> locks = holding.computeIfAbsent(e.process(), k -> new ArrayList<>());
                locks.remove(e.lock());
                locks.add(e.lock());
            } else if ((e.op() == Op.UNLOCK && e.kind() == Kind.INVOKE) || e.op() == Op.LOST) {
                List<String> locks = holding.get(e.process());
                if (locks != null && locks.remove(e.lock()) && locks.isEmpty()) {
                    holding.remove(e.process());
                }
            } else if (e.op() == Op.CLOSE && e.kind() == Kind.INVOKE) {
                holding.remove(e.process());
            }
        }
        holding.keySet().removeIf(process -> nodeOf.getOrDefault(process, -1) != node);
        return holding;
    }

    /** True if some client holds a lock granted at most {@code maxAge} ago. */
    static boolean heldSince(History history, Duration maxAge) {
        List<Event> events = history.events();
        long since = history.nanosNow() - maxAge.toNanos();
        Map<Integer, Event> open = new HashMap<>();
        for (Event e : events) {
            if (e.op() == Op.LOCK && e.kind() == Kind.OK) {
                open.put(e.process(), e);
            } else if ((e.op() == Op.UNLOCK && e.kind() == Kind.INVOKE) || e.op() == Op.LOST || e.op() == Op.DISCONNECT
                    || (e.op() == Op.CLOSE && e.kind() == Kind.INVOKE)) {
                open.remove(e.process());
            }
        }
        return open.values().stream().anyMatch(e -> e.nanos() >= since);
    }
}
