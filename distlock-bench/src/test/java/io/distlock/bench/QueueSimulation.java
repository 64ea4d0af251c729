package io.distlock.bench;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * A lock server with a FIFO queue and shared modes, and sessions that use it through a network
 * with random delays, simulated in virtual time: what the bench's sessions would see of a
 * correct server, stamped as {@link Worker} stamps it, or of a server with one chosen
 * {@link Flaw}. Replies and pushes of one session may arrive in any order (a {@code GRANTED}
 * before its {@code QUEUED}), which the real endpoint never does, so that the checks are tried
 * on more orders than they will meet.
 */
final class QueueSimulation {

    /** What the simulated server gets wrong. */
    enum Flaw {
        /** Nothing. */
        NONE,
        /** Hands a freed lock to the newest queued request. */
        LIFO,
        /** Lets a shared request in at once while a writer queues (breaks the Web Locks rule). */
        READERS_PASS_WRITERS,
        /** Grants every request at once. */
        NO_EXCLUSION,
        /** Gives every fourth grant the previous grant's token. */
        STALE_TOKENS
    }

    private record Event(long at, long seq, Runnable action) { }

    private record Request(int session, boolean shared) { }

    private final SplittableRandom random;
    private final Flaw flaw;
    private final int readersPercent;
    private final long network; // the longest one-way delay
    private final long holdFor; // the longest a session holds a grant
    private final long thinkFor; // the longest a session waits before its next request
    private final PriorityQueue<Event> events =
            new PriorityQueue<>((a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
    private long seq;
    private long now;

    // the server
    private final Deque<Request> queue = new ArrayDeque<>();
    private final Map<Integer, Boolean> holders = new HashMap<>(); // session -> shared
    private long lastToken = 1000;
    private long grants;

    // the sessions
    private final History[] histories;
    private final int[] pairsLeft;
    private final boolean[] asksShared;
    private final long[] sent;
    private final long[] queuedAt;
    private final int[] position;
    private final long[] earlyGrantAt; // a GRANTED that arrived before its QUEUED, or -1
    private final long[] earlyToken;

    private QueueSimulation(long seed, int sessions, int pairsEach, int readersPercent, Flaw flaw) {
        this.random = new SplittableRandom(seed);
        this.flaw = flaw;
        this.readersPercent = readersPercent;
        // Runs differ in how busy the lock is: from every request queueing to most answered at once.
        this.network = random.nextLong(10, 1000);
        this.holdFor = random.nextLong(1, 3000);
        this.thinkFor = random.nextLong(1, 20_000);
        histories = new History[sessions];
        pairsLeft = new int[sessions];
        asksShared = new boolean[sessions];
        sent = new long[sessions];
        queuedAt = new long[sessions];
        position = new int[sessions];
        earlyGrantAt = new long[sessions];
        earlyToken = new long[sessions];
        for (int s = 0; s < sessions; s++) {
            histories[s] = new History();
            pairsLeft[s] = pairsEach;
        }
    }

    /** The histories of one simulated run: {@code sessions} sessions on one name, {@code pairsEach} turns each. */
    static List<History> run(long seed, int sessions, int pairsEach, int readersPercent, Flaw flaw) {
        QueueSimulation sim = new QueueSimulation(seed, sessions, pairsEach, readersPercent, flaw);
        for (int s = 0; s < sessions; s++) {
            int session = s;
            sim.at(sim.random.nextLong(1, 200), () -> sim.clientSends(session));
        }
        while (!sim.events.isEmpty()) {
            Event e = sim.events.poll();
            sim.now = e.at;
            e.action.run();
        }
        return List.of(sim.histories);
    }

    private void at(long time, Runnable action) {
        events.add(new Event(time, seq++, action));
    }

    /** One way through the network: each message on its own, at least 1 time unit. */
    private long later() {
        return now + random.nextLong(1, network + 1);
    }

    // ---- the sessions ----

    private void clientSends(int s) {
        asksShared[s] = random.nextInt(100) < readersPercent;
        sent[s] = now;
        position[s] = 0;
        earlyGrantAt[s] = -1;
        boolean shared = asksShared[s];
        at(later(), () -> serverLocks(s, shared));
    }

    private void clientLocked(int s, long token) {
        histories[s].grant(new int[] {0}, new long[] {token}, asksShared[s], sent[s], 0, 0, now);
        hold(s);
    }

    private void clientQueued(int s, int pos) {
        queuedAt[s] = now;
        position[s] = pos;
        if (earlyGrantAt[s] >= 0) {
            histories[s].grant(new int[] {0}, new long[] {earlyToken[s]}, asksShared[s], sent[s], now, pos, earlyGrantAt[s]);
            hold(s);
        }
    }

    private void clientGranted(int s, long token) {
        if (position[s] == 0) { // QUEUED not here yet: keep the grant for it
            earlyGrantAt[s] = now;
            earlyToken[s] = token;
            return;
        }
        histories[s].grant(new int[] {0}, new long[] {token}, asksShared[s], sent[s], queuedAt[s], position[s], now);
        hold(s);
    }

    private void hold(int s) {
        at(now + random.nextLong(0, holdFor), () -> {
            histories[s].release(now);
            at(later(), () -> serverUnlocks(s));
        });
    }

    // ---- the server ----

    private boolean compatible(boolean shared) {
        if (holders.isEmpty()) {
            return true;
        }
        return shared && !holders.containsValue(false);
    }

    private void serverLocks(int s, boolean shared) {
        boolean free = flaw == Flaw.NO_EXCLUSION
                || compatible(shared) && (queue.isEmpty() || flaw == Flaw.READERS_PASS_WRITERS && shared);
        if (free) {
            long token = grant(s, shared);
            at(later(), () -> clientLocked(s, token));
            return;
        }
        queue.addLast(new Request(s, shared));
        int pos = queue.size();
        at(later(), () -> clientQueued(s, pos));
    }

    private void serverUnlocks(int s) {
        holders.remove(s);
        advance();
        if (--pairsLeft[s] > 0) {
            at(later() + random.nextLong(0, thinkFor), () -> clientSends(s));
        }
    }

    private void advance() {
        int granted = 0;
        while (!queue.isEmpty()) {
            Request head = flaw == Flaw.LIFO ? queue.peekLast() : queue.peekFirst();
            if (!head.shared && (!holders.isEmpty() || granted > 0) || head.shared && holders.containsValue(false)) {
                return;
            }
            if (flaw == Flaw.LIFO) {
                queue.pollLast();
            } else {
                queue.pollFirst();
            }
            long token = grant(head.session, head.shared);
            at(later(), () -> clientGranted(head.session, token));
            granted++;
            if (!head.shared) {
                return;
            }
        }
    }

    private long grant(int s, boolean shared) {
        holders.put(s, shared);
        grants++;
        if (flaw == Flaw.STALE_TOKENS && grants % 4 == 0) {
            return lastToken;
        }
        return ++lastToken;
    }

    /** For a test's own look at a run. */
    static List<Violations> checkAll(List<List<History>> runs) {
        List<Violations> out = new ArrayList<>();
        for (List<History> run : runs) {
            out.add(Violations.check(run, 1));
        }
        return out;
    }
}
