package io.distlock.faults;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
        for (String lock : holdersOn(events, faultNanos, node).values()) {
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
     * A lock at the head of whose queue a client of {@code node} waits now (its QUEUED said
     * position 1, and neither a grant nor a leave followed), while every holder of that lock is a
     * client of another node; null if there is none.
     */
    static String headWaiterOn(History history, int node) {
        Map<Integer, Integer> nodeOf = new HashMap<>();
        Map<Integer, String> atHead = new HashMap<>();   // process -> lock it waits for at the head
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
                        atHead.remove(p);
                        holders.values().forEach(h -> h.remove(p));
                    }
                }
                case QUEUED -> {
                    if (e.kind() == Kind.OK && e.detail() != null && e.detail().startsWith("position=1 ")) {
                        atHead.put(p, e.lock());
                    }
                }
                case LOCK -> {
                    if (e.kind() == Kind.OK) {
                        atHead.remove(p);
                        holders.computeIfAbsent(e.lock(), k -> new HashMap<>()).put(p, true);
                    } else if (e.kind() == Kind.INVOKE) {
                        atHead.remove(p);
                    }
                }
                case CANCEL, CANCELLED -> {
                    if (e.kind() != Kind.INVOKE) {
                        atHead.remove(p);
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
        for (Map.Entry<Integer, String> waiting : atHead.entrySet()) {
            if (nodeOf.getOrDefault(waiting.getKey(), -1) != node) {
                continue;
            }
            Map<Integer, Boolean> holding = holders.getOrDefault(waiting.getValue(), Map.of());
            if (!holding.isEmpty() && holding.keySet().stream().allMatch(h -> nodeOf.getOrDefault(h, node) != node)) {
                return waiting.getValue();
            }
        }
        return null;
    }

    /** Process to lock, for the clients connected to {@code node} that hold a lock now. */
    static Map<Integer, String> holdersOn(History history, int node) {
        return holdersOn(history.events(), Long.MAX_VALUE, node);
    }

    private static Map<Integer, String> holdersOn(List<Event> events, long atNanos, int node) {
        Map<Integer, Integer> nodeOf = new HashMap<>();
        Map<Integer, String> holding = new HashMap<>();
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
                holding.put(e.process(), e.lock());
            } else if ((e.op() == Op.UNLOCK && e.kind() == Kind.INVOKE) || e.op() == Op.LOST) {
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
            } else if ((e.op() == Op.UNLOCK && e.kind() == Kind.INVOKE) || e.op() == Op.LOST || e.op() == Op.DISCONNECT) {
                open.remove(e.process());
            }
        }
        return open.values().stream().anyMatch(e -> e.nanos() >= since);
    }
}
