package io.distlock.faults;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.distlock.faults.History.Kind;
import io.distlock.faults.History.Op;

/**
 * Simulated browsers: each one a JDK WebSocket client with a platform thread of its own that
 * connects, locks, works on the protected resources, unlocks, and records all of it in the
 * {@link History}.
 *
 * <p>Process {@code p} connects to the nodes round-robin, starting at {@code p % nodes}, as
 * session {@code "p<p>"}, and records CONNECT OK with {@code node=<index>}. Then, until
 * {@link #stop}, it picks a random lock L and records LOCK INVOKE before asking for it:
 * <ul>
 *   <li>LOCKED with token t: LOCK OK (t), then the hold: {@code writesPerHold} writes to L's
 *       {@link FencedRegister} spread over the hold time and one {@link Counter} increment in
 *       the middle. A LOST push for L or a dropped connection ends the hold at once. Then
 *       UNLOCK INVOKE, unlock, and UNLOCK OK / FAIL ({@code code=...}) / INFO (timeout).</li>
 *   <li>WAIT: LOCK FAIL ({@code WAIT holder=...}), then wait for the RETRY push for L (RETRY OK)
 *       and ask again. No RETRY within retryTimeout is recorded as RETRY INFO {@code late} (a
 *       liveness finding), and the client waits on; still none at retryMissing (a longer deadline)
 *       is RETRY INFO {@code missing} (the waiter was never told, as far as the run can tell), and
 *       it asks again. A wait that is late when the workload stops is waited out to one of the two
 *       ({@link #stop} waits for it); one that is not late yet is left unjudged.</li>
 *   <li>FAIL: LOCK FAIL ({@code code=...}), back off 10-100 ms, next cycle.</li>
 *   <li>No reply within requestTimeout: INFO for that request, the connection is aborted
 *       (DISCONNECT INFO) and the client reconnects to the next node.</li>
 *   <li>Connection closed or failed: the request in flight becomes INFO (its outcome is
 *       unknown), DISCONNECT INFO, any hold ends, and after 50-200 ms the client reconnects to
 *       the next node, forever until stop. Connect failures are CONNECT FAIL, retried the same way.</li>
 * </ul>
 * The intervals the checkers use (LOCK OK to UNLOCK INVOKE, LOST or DISCONNECT) are exactly the
 * times in which this client touches the resources: it writes only between those events.
 *
 * <p>With {@link Builder#queue()} the clients speak protocol version 2 and queue: they connect
 * with {@code "version": 2} and lock with {@code "wait": true}, recording LOCK INVOKE with the
 * request's id and options ({@code id=N [mode=shared] wait [timeout=T]}):
 * <ul>
 *   <li>LOCKED (granted at once): LOCK OK, then the hold.</li>
 *   <li>QUEUED: QUEUED OK ({@code position=N holder=H}), then wait for the GRANTED push,
 *       recorded as LOCK OK ({@code GRANTED [mode=shared] request=N}); the hold starts then.
 *       A CANCELLED push (the request's {@code timeout}, or its place lost) is recorded and ends
 *       the wait. No answer (GRANTED or CANCELLED) within retryTimeout: QUEUED INFO {@code late}, and
 *       the client waits on; still none at retryMissing: QUEUED INFO {@code missing} (never
 *       answered, as far as the run can tell), and the client cancels. A late grant is recorded as
 *       any grant, after its QUEUED INFO {@code late}. A queued wait that is late when the workload
 *       stops is waited out to one of the two, as a late RETRY is; one that is not late yet is left.</li>
 *   <li>Some waits are left on purpose ({@link Builder#cancels}, {@link Builder#closes}) after a
 *       random delay: CANCEL INVOKE then OK, or FAIL {@code code=NOT_QUEUED} when the grant won
 *       the race (the grant is then unlocked at once, as the JS client does with a grant that
 *       arrives after an abort); or CLOSE INVOKE/OK (the session closed, the connection kept)
 *       and a new session on the same connection (CONNECT OK).</li>
 *   <li>A GRANTED the client does not wait for (after it cancelled or closed, or for another
 *       request) is recorded all the same, with {@code stray} in its detail, and unlocked.</li>
 *   <li>Shared holds ({@link Builder#shared}) are readers: they read the lock's counter
 *       ({@code writesPerHold} READ events spread over the hold) and write nothing; exclusive
 *       holds write and increment as above.</li>
 * </ul>
 *
 * <p>With {@link Builder#steals} (version 2, a server that allows steals) that fraction of the
 * requests takes the lock over instead: LOCK INVOKE {@code id=N steal}, LOCKED as LOCK OK
 * {@code steal}, then a hold like any other (a refusal is LOCK FAIL). A LOST records its
 * {@code reason} and {@code by}; with {@link Builder#lateWriteAfterSteal} a holder told
 * {@code LOST stolen} writes once more with its old token a moment later (a save already on its
 * way), which the fenced register must refuse once the thief has written. Holds do no counter
 * increments in such a workload (the counter is unfenced).
 *
 * <p>WebSocket callbacks only parse and queue; everything else happens on the client's thread,
 * which is therefore the only one that sends and the only one that records that client's events.
 */
public final class Workload implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** How many times a queue client asks for one mlock that is answered WAIT before it starts a new cycle. */
    private static final int MULTI_QUEUE_ATTEMPTS = 10;

    private final History history;
    private final List<URI> nodes;
    private final List<String> locks;
    private final Duration holdMin;
    private final Duration holdMax;
    private final double longFraction;
    private final Duration longLength;
    private final int writesPerHold;
    private final long requestTimeoutNanos;
    private final long retryTimeoutNanos;
    private final long retryMissingNanos;
    private final boolean queue;
    private final double sharedFraction;
    private final double cancelFraction;
    private final double closeFraction;
    private final double timeoutFraction;
    private final Duration timeoutMin;
    private final Duration timeoutMax;
    private final Duration leaveWithin;
    private final int firstProcess;
    private final boolean homeNode;
    private final double stealFraction;
    private final Duration lateWrite;
    private final double multiFraction;
    private final Map<String, FencedRegister> registers = new LinkedHashMap<>();
    private final Map<String, Counter> counters = new LinkedHashMap<>();
    private final List<Client> clients = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();
    private final AtomicLong grants = new AtomicLong();
    private volatile boolean running;
    private boolean stopped;

    private Workload(Builder b) {
        if (b.nodes == null || b.nodes.isEmpty()) {
            throw new IllegalArgumentException("nodes(...) is required");
        }
        history = b.history;
        nodes = List.copyOf(b.nodes);
        locks = List.copyOf(b.locks);
        holdMin = b.holdMin;
        holdMax = b.holdMax;
        longFraction = b.longFraction;
        longLength = b.longLength;
        writesPerHold = b.writesPerHold;
        requestTimeoutNanos = b.requestTimeout.toNanos();
        retryTimeoutNanos = b.retryTimeout.toNanos();
        retryMissingNanos = b.retryMissing.toNanos();
        if (retryMissingNanos < retryTimeoutNanos) {
            throw new IllegalArgumentException("retryMissing must not be shorter than retryTimeout");
        }
        queue = b.queue;
        sharedFraction = b.sharedFraction;
        cancelFraction = b.cancelFraction;
        closeFraction = b.closeFraction;
        timeoutFraction = b.timeoutFraction;
        timeoutMin = b.timeoutMin;
        timeoutMax = b.timeoutMax;
        leaveWithin = b.leaveWithin;
        firstProcess = b.firstProcess;
        homeNode = b.homeNode;
        stealFraction = b.stealFraction;
        lateWrite = b.lateWrite;
        multiFraction = b.multiFraction;
        if (multiFraction > 0 && locks.size() < 2) {
            throw new IllegalArgumentException("multi-locks need two lock names or more");
        }
        if (multiFraction > 0 && stealFraction > 0) {
            throw new IllegalArgumentException("multi-locks and steals are not run together (a steal is single-lock only)");
        }
        if (!queue && stealFraction > 0) {
            throw new IllegalArgumentException("steals need queue() (protocol version 2)");
        }
        if (!queue && (sharedFraction > 0 || cancelFraction > 0 || closeFraction > 0 || timeoutFraction > 0)) {
            throw new IllegalArgumentException("shared locks, cancels, closes and timeouts need queue()");
        }
        for (String lock : locks) {
            registers.put(lock, new FencedRegister(lock, history, b.fencing));
            counters.put(lock, new Counter(lock, history));
        }
        for (int p = 0; p < b.clients; p++) {
            clients.add(new Client(firstProcess + p, new Random(b.seed * 1_000_003L + firstProcess + p)));
        }
    }

    public static Builder builder(History history) {
        return new Builder(history);
    }

    public static final class Builder {
        private final History history;
        private List<URI> nodes;
        private int clients = 6;
        private List<String> locks = List.of("hot-1", "hot-2");
        private Duration holdMin = Duration.ofMillis(5);
        private Duration holdMax = Duration.ofMillis(30);
        private double longFraction;
        private Duration longLength = Duration.ZERO;
        private int writesPerHold = 3;
        private boolean fencing = true;
        private Duration requestTimeout = Duration.ofSeconds(10);
        private Duration retryTimeout = Duration.ofSeconds(15);
        private Duration retryMissing = Duration.ofSeconds(60);
        private long seed = System.nanoTime();
        private boolean queue;
        private double sharedFraction;
        private double cancelFraction;
        private double closeFraction;
        private double timeoutFraction;
        private Duration timeoutMin = Duration.ofMillis(20);
        private Duration timeoutMax = Duration.ofMillis(300);
        private Duration leaveWithin = Duration.ofMillis(100);
        private int firstProcess;
        private boolean homeNode;
        private double stealFraction;
        private Duration lateWrite;
        private double multiFraction;

        private Builder(History history) {
            this.history = history;
        }

        public Builder nodes(List<URI> webSocketUris) {
            this.nodes = List.copyOf(webSocketUris);
            return this;
        }

        public Builder clients(int clients) {
            this.clients = clients;
            return this;
        }

        public Builder locks(List<String> locks) {
            this.locks = List.copyOf(locks);
            return this;
        }

        public Builder hold(Duration min, Duration max) {
            this.holdMin = min;
            this.holdMax = max;
            return this;
        }

        /** This fraction of holds lasts {@code length} instead (to outlive leases, pauses...). */
        public Builder longHolds(double fraction, Duration length) {
            this.longFraction = fraction;
            this.longLength = length;
            return this;
        }

        public Builder writesPerHold(int writes) {
            this.writesPerHold = writes;
            return this;
        }

        public Builder fencing(boolean fencing) {
            this.fencing = fencing;
            return this;
        }

        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = timeout;
            return this;
        }

        /** After this long without its RETRY (or, queued, its GRANTED or CANCELLED) a wait is late (default 15 s). */
        public Builder retryTimeout(Duration timeout) {
            this.retryTimeout = timeout;
            return this;
        }

        /**
         * After this long without its RETRY (or, queued, its GRANTED or CANCELLED) a wait (already
         * late) is missing: the waiter was never told (default 60 s, beyond any RETRY a failover
         * delays: the failover, the quarantine and the lease of a lock whose release it lost).
         */
        public Builder retryMissing(Duration deadline) {
            this.retryMissing = deadline;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Protocol version 2 clients that queue: {@code "wait": true}, waiting for {@code GRANTED}. */
        public Builder queue() {
            this.queue = true;
            return this;
        }

        /** This fraction of requests asks for a shared lock (readers); the rest are exclusive (writers). Needs {@link #queue()}. */
        public Builder shared(double fraction) {
            this.sharedFraction = fraction;
            return this;
        }

        /** This fraction of queued requests is cancelled after a random delay up to {@link #leaveWithin}. */
        public Builder cancels(double fraction) {
            this.cancelFraction = fraction;
            return this;
        }

        /** This fraction of queued requests is left by closing the session (a new one opens on the same connection). */
        public Builder closes(double fraction) {
            this.closeFraction = fraction;
            return this;
        }

        /** This fraction of requests carries a {@code timeout} between {@code min} and {@code max}. */
        public Builder timeouts(double fraction, Duration min, Duration max) {
            this.timeoutFraction = fraction;
            this.timeoutMin = min;
            this.timeoutMax = max;
            return this;
        }

        /** The longest a client waits in a queue before a planned cancel or close (default 100 ms). */
        public Builder leaveWithin(Duration within) {
            this.leaveWithin = within;
            return this;
        }

        /**
         * Each client connects to its home node only (process {@code p}: node {@code p % nodes}),
         * waiting for it to come back if it is down, instead of moving on to the next node: the
         * clients stay spread over the nodes however many of them are killed and restarted.
         */
        public Builder homeNode() {
            this.homeNode = true;
            return this;
        }

        /**
         * This fraction of requests takes the lock over ({@code "steal": true}, never queued):
         * LOCK INVOKE {@code id=N steal}, LOCK OK {@code steal}, then a hold like any other. Needs
         * {@link #queue()} and a server that allows steals. Holds then do no {@link Counter}
         * increments: the counter is unfenced, and a stolen holder's increment racing its
         * successor's is what a steal allows (the fenced register is the resource under test).
         */
        public Builder steals(double fraction) {
            this.stealFraction = fraction;
            return this;
        }

        /**
         * A holder told {@code LOST} with reason {@code stolen} makes one more write with its old
         * token {@code delay} after the push: a save that was already on its way when the lock
         * was taken over. The fenced register must refuse it once the thief has written.
         */
        public Builder lateWriteAfterSteal(Duration delay) {
            this.lateWrite = delay;
            return this;
        }

        /**
         * This fraction of cycles takes 2 or 3 of the workload's locks at once with {@code mlock}
         * (all or nothing, never queued) and gives them back with {@code munlock}: each granted name
         * is a hold of its own in the history (LOCK INVOKE and LOCK OK per name, detail {@code mlock
         * a,b[,c]}), with the same writes and increment (or, shared, reads) per name as a single
         * hold, so that every checker judges it. In a Redis Cluster the lock names must share a
         * hash tag ({@code {doc}:a}). Not with {@link #steals}.
         */
        public Builder multiLocks(double fraction) {
            this.multiFraction = fraction;
            return this;
        }

        /** The first process number (default 0), so that two workloads can share one history. */
        public Builder firstProcess(int first) {
            this.firstProcess = first;
            return this;
        }

        public Workload build() {
            return new Workload(this);
        }
    }

    public List<URI> nodes() {
        return nodes;
    }

    public List<String> locks() {
        return locks;
    }

    public synchronized void start() {
        if (running || stopped) {
            throw new IllegalStateException("a workload starts once");
        }
        running = true;
        clients.forEach(c -> c.thread.start());
    }

    /**
     * Stops starting new cycles and lets holds finish; each client then unlocks, closes its
     * connection and records DISCONNECT. A client whose wait for a RETRY (or, queued, for its
     * GRANTED or CANCELLED) is late waits on until the answer or its missing deadline, even past
     * {@code drain}. Clients still busy when {@code drain} is over are interrupted: their
     * connection is aborted and recorded as DISCONNECT INFO.
     */
    public synchronized void stop(Duration drain) {
        if (stopped) {
            return;
        }
        stopped = true;
        running = false;
        clients.forEach(c -> c.inbox.add(Incoming.WAKE));
        long deadline = System.nanoTime() + drain.toNanos();
        try {
            for (Client c : clients) {
                // a late wait is judged (its RETRY, GRANTED or CANCELLED, or missing) before the client is stopped
                for (Long late; c.thread.isAlive(); ) {
                    long left = Math.max(deadline - System.nanoTime(),
                            (late = c.lateWaitUntil) == null ? 0 : late - System.nanoTime() + TimeUnit.SECONDS.toNanos(1));
                    if (left <= 0) {
                        break;
                    }
                    c.thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                }
            }
            for (Client c : clients) {
                c.thread.interrupt();
            }
            for (Client c : clients) {
                c.thread.join(5_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public Map<String, FencedRegister> registers() {
        return registers;
    }

    public Map<String, Counter> counters() {
        return counters;
    }

    /** Index in {@link #nodes()} that process {@code p} is connected to now, -1 if none. */
    public int nodeOf(int process) {
        return clients.get(process - firstProcess).node;
    }

    /**
     * How long the hold of {@code lock} with {@code token} by {@code process} is still planned to
     * last (ns, on this JVM's clock), or -1 if that client has not begun that hold's plan (its
     * LOCK OK may be recorded already: the length is drawn just after) or holds something else.
     * A LOST, a dropped connection or a stop ends a hold before its plan. Fault scenarios read it
     * under the history's lock to pick a hold that outlasts the fault.
     */
    public long plannedHoldLeft(int process, String lock, long token) {
        Client c = clients.get(process - firstProcess);
        HoldPlan plan = c.plan;
        Long planned = plan == null ? null : plan.tokens().get(lock);
        if (planned == null || planned != token) {
            return -1;
        }
        return plan.endsAt() - System.nanoTime();
    }

    /** LOCK OKs so far (GRANTED pushes included). */
    public long grants() {
        return grants.get();
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(5));
    }

    /** A frame or the end of connection {@code conn}; {@link #WAKE} is stop() knocking. */
    private record Incoming(int conn, JsonNode message, String closed) {
        static final Incoming WAKE = new Incoming(-1, null, null);
    }

    /** A hold's locks and tokens (one, or an mlock's), and its planned end ({@link System#nanoTime()}). */
    private record HoldPlan(Map<String, Long> tokens, long endsAt) { }

    /** The connection is gone; DISCONNECT is already recorded. */
    private static final class Dropped extends Exception {
        Dropped() {
            super(null, null, false, false);
        }
    }

    private final class Client implements Runnable {
        final int p;
        final Random random;
        final Thread thread;
        final BlockingQueue<Incoming> inbox = new LinkedBlockingQueue<>();
        final Set<String> retried = new HashSet<>();
        volatile Long lateWaitUntil; // System.nanoTime() at which a late wait (RETRY, or queued) is missing; null if none
        volatile int node = -1;
        int nextNode;
        int conn;          // generation of the current connection: frames of older ones are ignored
        WebSocket ws;
        long nextId;
        String held;       // the lock being held now, if any
        long heldToken;
        boolean holdOver;  // LOST arrived for the held lock
        boolean stolen;    // ... with reason stolen
        // an mlock's grants being held (name -> token, in request order), and those of them told LOST;
        // holdOver once every one of them is
        final Map<String, Long> multiHeld = new LinkedHashMap<>();
        final Set<String> multiLost = new HashSet<>();
        // version 2: the queued request being waited for, and what the pushes said about it
        String waitingFor;
        long waitingId;
        long grantedToken;
        boolean grantedShared;
        String cancelledReason;
        final List<Object[]> strays = new ArrayList<>(); // {lock, token} of grants nobody waits for
        volatile HoldPlan plan;    // the hold begun last, and when it is planned to end

        Client(int p, Random random) {
            this.p = p;
            this.random = random;
            this.nextNode = p % nodes.size();
            this.thread = new Thread(this, "browser-p" + p);
            thread.setDaemon(true);
        }

        @Override
        public void run() {
            try {
                while (running) {
                    try {
                        if (ws == null && !connect()) {
                            backoff(50, 200);
                        } else if (ws != null) {
                            if (multiFraction > 0 && random.nextDouble() < multiFraction) {
                                multiCycle();
                            } else if (queue) {
                                queueCycle();
                            } else {
                                cycle();
                            }
                        }
                    } catch (Dropped d) {
                        backoff(50, 200);
                    }
                }
            } catch (InterruptedException e) {
                // stop() ran out of drain time
            } finally {
                hangUp();
            }
        }

        private boolean connect() throws Dropped, InterruptedException {
            int index = nextNode;
            if (!homeNode) {
                nextNode = (nextNode + 1) % nodes.size();
            }
            int generation = ++conn;
            history.record(p, Kind.INVOKE, Op.CONNECT, null, 0, "node=" + index);
            CompletableFuture<WebSocket> opening = http.newWebSocketBuilder()
                    .connectTimeout(Duration.ofNanos(requestTimeoutNanos))
                    .buildAsync(nodes.get(index), new Listener(generation));
            try {
                ws = opening.get(requestTimeoutNanos, TimeUnit.NANOSECONDS);
            } catch (ExecutionException | TimeoutException e) {
                opening.thenAccept(WebSocket::abort); // should it open after all
                Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
                history.record(p, Kind.FAIL, Op.CONNECT, null, 0, "node=" + index + " " + cause);
                return false;
            }
            node = index;
            return openSession(index);
        }

        /** Sends {@code connect} on the open connection to node {@code index}. */
        private boolean openSession(int index) throws Dropped, InterruptedException {
            ObjectNode frame = frame("connect", "p" + p);
            if (queue) {
                frame.put("version", 2);
            }
            JsonNode reply = call(Op.CONNECT, null, frame);
            if ("OK".equals(reply.path("status").asText()) && (!queue || reply.path("version").asInt(1) == 2)) {
                history.record(p, Kind.OK, Op.CONNECT, null, 0, "node=" + index);
                return true;
            }
            history.record(p, Kind.FAIL, Op.CONNECT, null, 0, "node=" + index + " code=" + reply.path("code").asText()
                    + (queue ? " version=" + reply.path("version").asText("1") : ""));
            drop("connect refused");
            return false; // not reached
        }

        /** One lock / work / unlock cycle, or a refusal. */
        private void cycle() throws Dropped, InterruptedException {
            String lock = locks.get(random.nextInt(locks.size()));
            while (true) {
                retried.remove(lock); // a RETRY that counts comes after this request
                history.record(p, Kind.INVOKE, Op.LOCK, lock, 0, null);
                JsonNode reply = call(Op.LOCK, lock, frame("lock", lock));
                String status = reply.path("status").asText();
                switch (status) {
                    case "LOCKED" -> {
                        long token = reply.path("token").asLong();
                        history.record(p, Kind.OK, Op.LOCK, lock, token, null);
                        grants.incrementAndGet();
                        hold(lock, token, false, true);
                        return;
                    }
                    case "WAIT" -> {
                        history.record(p, Kind.FAIL, Op.LOCK, lock, 0, "WAIT holder=" + reply.path("holder").asText("?"));
                        if (!awaitRetry(lock)) {
                            return; // stopping
                        }
                    }
                    case "FAIL" -> {
                        history.record(p, Kind.FAIL, Op.LOCK, lock, 0, "code=" + reply.path("code").asText());
                        backoff(10, 100);
                        return;
                    }
                    default -> {
                        history.record(p, Kind.INFO, Op.LOCK, lock, 0, "unexpected reply " + reply);
                        return;
                    }
                }
            }
        }

        /** One queued lock request (version 2): granted at once, or queued and granted, cancelled, left or timed out. */
        private void queueCycle() throws Dropped, InterruptedException {
            unlockStrays();
            String lock = locks.get(random.nextInt(locks.size()));
            if (stealFraction > 0 && random.nextDouble() < stealFraction) {
                stealCycle(lock);
                return;
            }
            boolean shared = random.nextDouble() < sharedFraction;
            long timeout = random.nextDouble() < timeoutFraction
                    ? timeoutMin.toMillis() + (long) (random.nextDouble() * (timeoutMax.toMillis() - timeoutMin.toMillis())) : 0;
            double leave = random.nextDouble();
            String plan = leave < cancelFraction ? "cancel" : leave < cancelFraction + closeFraction ? "close" : null;
            long leaveAfter = (long) (random.nextDouble() * leaveWithin.toNanos());
            ObjectNode frame = frame("lock", lock).put("wait", true);
            if (shared) {
                frame.put("mode", "shared");
            }
            if (timeout > 0) {
                frame.put("timeout", timeout);
            }
            long id = nextId + 1; // the id call() gives it
            history.record(p, Kind.INVOKE, Op.LOCK, lock, 0,
                    "id=" + id + (shared ? " mode=shared" : "") + " wait" + (timeout > 0 ? " timeout=" + timeout : ""));
            JsonNode reply = call(Op.LOCK, lock, frame);
            switch (reply.path("status").asText()) {
                case "LOCKED" -> {
                    long token = reply.path("token").asLong();
                    history.record(p, Kind.OK, Op.LOCK, lock, token, shared ? "mode=shared" : null);
                    grants.incrementAndGet();
                    hold(lock, token, shared, true);
                }
                case "QUEUED" -> {
                    history.record(p, Kind.OK, Op.QUEUED, lock, 0, "position=" + reply.path("position").asText()
                            + " holder=" + reply.path("holder").asText("?"));
                    awaitGrant(lock, id, plan, leaveAfter);
                }
                case "WAIT" -> {
                    history.record(p, Kind.FAIL, Op.LOCK, lock, 0, "WAIT holder=" + reply.path("holder").asText("?"));
                    backoff(10, 100);
                }
                case "FAIL" -> {
                    history.record(p, Kind.FAIL, Op.LOCK, lock, 0, "code=" + reply.path("code").asText());
                    backoff(10, 100);
                }
                default -> history.record(p, Kind.INFO, Op.LOCK, lock, 0, "unexpected reply " + reply);
            }
        }

        /** Takes {@code lock} over from whoever holds it ({@code steal}), then holds it. */
        private void stealCycle(String lock) throws Dropped, InterruptedException {
            long id = nextId + 1; // the id call() gives it
            history.record(p, Kind.INVOKE, Op.LOCK, lock, 0, "id=" + id + " steal");
            JsonNode reply = call(Op.LOCK, lock, frame("lock", lock).put("steal", true));
            switch (reply.path("status").asText()) {
                case "LOCKED" -> {
                    long token = reply.path("token").asLong();
                    history.record(p, Kind.OK, Op.LOCK, lock, token, "steal");
                    grants.incrementAndGet();
                    hold(lock, token, false, true);
                }
                case "FAIL" -> {
                    history.record(p, Kind.FAIL, Op.LOCK, lock, 0, "code=" + reply.path("code").asText());
                    backoff(10, 100);
                }
                default -> {
                    history.record(p, Kind.INFO, Op.LOCK, lock, 0, "unexpected reply " + reply);
                    backoff(10, 100);
                }
            }
        }

        /**
         * One multi-lock cycle: {@code mlock} of 2 or 3 distinct locks (shared with the workload's
         * shared fraction, version 2 only). LOCKED: a LOCK OK per name with its token, then the
         * hold ({@link #holdMulti}). WAIT: a LOCK FAIL per name (those held by others last, {@code
         * WAIT holder=H mlock}); version 1 waits for a RETRY of any of those and asks again for the
         * same names; version 2 (the workload queues: a RETRY comes only when a lock is freed with an
         * empty queue) asks again on such a RETRY or after 5-50 ms, up to {@value #MULTI_QUEUE_ATTEMPTS}
         * times, then starts a new cycle. FAIL: a LOCK FAIL per name.
         */
        private void multiCycle() throws Dropped, InterruptedException {
            unlockStrays();
            List<String> pool = new ArrayList<>(locks);
            java.util.Collections.shuffle(pool, random);
            List<String> names = List.copyOf(pool.subList(0, Math.min(pool.size(), 2 + random.nextInt(2))));
            boolean shared = queue && random.nextDouble() < sharedFraction;
            String detail = "mlock " + String.join(",", names) + (shared ? " mode=shared" : "");
            int queueAttempts = 0;
            while (true) {
                names.forEach(retried::remove); // a RETRY that counts comes after this request
                for (String name : names) {
                    history.record(p, Kind.INVOKE, Op.LOCK, name, 0, detail);
                }
                ObjectNode frame = JSON.createObjectNode().put("action", "mlock");
                names.forEach(frame.putArray("params")::add);
                if (shared) {
                    frame.put("mode", "shared");
                }
                JsonNode reply = callMany(Op.LOCK, names, frame);
                switch (reply.path("status").asText()) {
                    case "LOCKED" -> {
                        Map<String, Long> tokens = new LinkedHashMap<>();
                        for (String name : names) {
                            long token = reply.path("tokens").path(name).asLong();
                            tokens.put(name, token);
                            history.record(p, Kind.OK, Op.LOCK, name, token, detail);
                            grants.incrementAndGet();
                        }
                        holdMulti(tokens, shared);
                        return;
                    }
                    case "WAIT" -> {
                        JsonNode holders = reply.path("holders");
                        List<String> conflicts = new ArrayList<>();
                        for (String name : names) {
                            if (holders.has(name) || (!reply.has("holders")
                                    && List.of(reply.path("message").asText().split(", ")).contains(name))) {
                                conflicts.add(name);
                            } else {
                                history.record(p, Kind.FAIL, Op.LOCK, name, 0, "mlock WAIT: not held by another");
                            }
                        }
                        for (String name : conflicts) {
                            history.record(p, Kind.FAIL, Op.LOCK, name, 0, "WAIT holder=" + holders.path(name).asText("?") + " mlock");
                        }
                        if (queue) {
                            // a RETRY comes only when a lock is freed with an empty queue: ask again when one
                            // comes, or after a moment anyway, a few times, then start a new cycle
                            if (++queueAttempts >= MULTI_QUEUE_ATTEMPTS || !awaitRetryBriefly(conflicts.isEmpty() ? names : conflicts)) {
                                return;
                            }
                            continue;
                        }
                        if (!awaitRetry(conflicts.isEmpty() ? names : conflicts)) {
                            return; // stopping
                        }
                    }
                    case "FAIL" -> {
                        for (String name : names) {
                            history.record(p, Kind.FAIL, Op.LOCK, name, 0, "code=" + reply.path("code").asText() + " mlock");
                        }
                        backoff(10, 100);
                        return;
                    }
                    default -> {
                        recordInfo(Op.LOCK, names, "unexpected reply " + reply);
                        return;
                    }
                }
            }
        }

        /**
         * Holds an mlock's grants: for each name the writes and the increment (exclusive) or the
         * reads (shared) of a single hold, over one hold time; a LOST for a name ends that name's
         * hold only (nothing more is done under it), a dropped connection ends all. Then the names
         * still held are given back with {@code munlock} (UNLOCK INVOKE per name, then OK or FAIL
         * per name; one name left: {@code unlock}); a {@code NOT_OWNER} (a LOST crossing the munlock:
         * all or nothing, none was released) is followed by an {@code unlock} of each. Each name
         * told LOST is unlocked after it, as a single hold is.
         */
        private void holdMulti(Map<String, Long> tokens, boolean shared) throws Dropped, InterruptedException {
            long length = random.nextDouble() < longFraction
                    ? longLength.toNanos()
                    : holdMin.toNanos() + (long) (random.nextDouble() * (holdMax.toNanos() - holdMin.toNanos()));
            held = null;
            multiHeld.clear();
            multiHeld.putAll(tokens);
            multiLost.clear();
            holdOver = false;
            stolen = false;
            long start = System.nanoTime();
            plan = new HoldPlan(Map.copyOf(tokens), start + length);
            List<long[]> steps = new ArrayList<>(); // {offset, 0 = write / 1 = increment / 2 = read}, for every name
            if (length > 0) {
                for (int i = 0; i < writesPerHold; i++) {
                    steps.add(new long[] {length * (2L * i + 1) / (2L * writesPerHold), shared ? 2 : 0});
                }
                if (!shared) {
                    steps.add(new long[] {length / 2, 1});
                }
            }
            steps.sort((a, b) -> Long.compare(a[0], b[0]));
            for (long[] step : steps) {
                if (!awaitUntil(start + step[0])) {
                    break;
                }
                for (String name : tokens.keySet()) {
                    if (multiLost.contains(name)) {
                        continue;
                    }
                    long token = tokens.get(name);
                    if (step[1] == 0) {
                        registers.get(name).write(p, token);
                    } else if (step[1] == 1) {
                        counters.get(name).increment(p, token);
                    } else {
                        counters.get(name).read(p, token);
                    }
                    if (holdOver) {
                        break;
                    }
                    handlePending(); // a LOST for a name not yet written in this step ends it before its write
                }
            }
            if (!holdOver) {
                awaitUntil(start + length);
            }
            List<String> lost = new ArrayList<>();
            List<String> kept = new ArrayList<>();
            tokens.keySet().forEach(name -> (multiLost.contains(name) ? lost : kept).add(name));
            multiHeld.clear();
            multiLost.clear();
            if (kept.size() == 1) {
                String name = kept.get(0);
                history.record(p, Kind.INVOKE, Op.UNLOCK, name, tokens.get(name), null);
                recordUnlock(name, tokens.get(name), call(Op.UNLOCK, name, frame("unlock", name)));
            } else if (kept.size() > 1) {
                for (String name : kept) {
                    history.record(p, Kind.INVOKE, Op.UNLOCK, name, tokens.get(name), "munlock");
                }
                ObjectNode frame = JSON.createObjectNode().put("action", "munlock");
                kept.forEach(frame.putArray("params")::add);
                JsonNode reply = callMany(Op.UNLOCK, kept, frame);
                String code = reply.path("code").asText();
                for (String name : kept) {
                    switch (reply.path("status").asText()) {
                        case "OK" -> history.record(p, Kind.OK, Op.UNLOCK, name, tokens.get(name), "munlock");
                        case "FAIL" -> history.record(p, Kind.FAIL, Op.UNLOCK, name, tokens.get(name), "code=" + code + " munlock");
                        default -> history.record(p, Kind.INFO, Op.UNLOCK, name, tokens.get(name), "unexpected reply " + reply);
                    }
                }
                if ("FAIL".equals(reply.path("status").asText()) && "NOT_OWNER".equals(code)) {
                    // all or nothing: one of them was lost meanwhile, and none was released; give back the others
                    for (String name : kept) {
                        history.record(p, Kind.INVOKE, Op.UNLOCK, name, tokens.get(name), "after munlock NOT_OWNER");
                        recordUnlock(name, tokens.get(name), call(Op.UNLOCK, name, frame("unlock", name)));
                    }
                }
            }
            for (String name : lost) {
                history.record(p, Kind.INVOKE, Op.UNLOCK, name, tokens.get(name), "after LOST");
                recordUnlock(name, tokens.get(name), call(Op.UNLOCK, name, frame("unlock", name)));
            }
        }

        /**
         * Waits for a RETRY of any of {@code locks} for 5-50 ms at most (a queue client's mlock: no
         * RETRY comes while a queue is not empty). False if the workload is stopping.
         */
        private boolean awaitRetryBriefly(List<String> locks) throws Dropped, InterruptedException {
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(5 + random.nextInt(46));
            for (long left; running && locks.stream().noneMatch(retried::contains) && (left = until - System.nanoTime()) > 0; ) {
                Incoming in = inbox.poll(left, TimeUnit.NANOSECONDS);
                if (in != null) {
                    handle(in, null, null);
                }
            }
            return running;
        }

        /** Handles what has arrived already (pushes), without waiting. */
        private void handlePending() throws Dropped {
            for (Incoming in; !holdOver && (in = inbox.poll()) != null; ) {
                handle(in, null, null);
            }
        }

        /**
         * Waits for the GRANTED of queued request {@code id} for {@code lock}, leaving the queue
         * as {@code plan} says ({@code cancel}, {@code close}, or null to wait) after
         * {@code leaveAfter} ns. A grant is held (or, after an attempt to leave, unlocked at once).
         */
        private void awaitGrant(String lock, long id, String plan, long leaveAfter) throws Dropped, InterruptedException {
            waitingFor = lock;
            waitingId = id;
            grantedToken = 0;
            cancelledReason = null;
            long start = System.nanoTime();
            long leaveAt = plan == null ? Long.MAX_VALUE : start + leaveAfter;
            long lateAt = start + retryTimeoutNanos;
            long missingAt = start + retryMissingNanos;
            boolean late = false;    // QUEUED INFO late recorded: the wait is waited out to an answer or to missing
            boolean missing = false; // QUEUED INFO missing recorded
            boolean leaving = false; // asked to leave: a grant is then given back at once
            try {
                while (true) {
                    if (grantedToken != 0) {
                        waitingFor = null;
                        if (leaving || !running) {
                            hold(lock, grantedToken, grantedShared, false, 0);
                        } else {
                            hold(lock, grantedToken, grantedShared, false);
                        }
                        return;
                    }
                    if (cancelledReason != null || (!running && (!late || missing || leaving))) {
                        // CANCELLED; or stopping: the close that follows leaves the queue (a late wait
                        // is judged first: its GRANTED or CANCELLED, or missing)
                        return;
                    }
                    long now = System.nanoTime();
                    if (!late && now >= lateAt) {
                        // late, not lost (yet): wait on for the answer, to the missing deadline
                        history.record(p, Kind.INFO, Op.QUEUED, lock, 0, "late");
                        late = true;
                        lateWaitUntil = missingAt;
                        lateAt = Long.MAX_VALUE;
                    }
                    if (late && !missing && now >= missingAt) {
                        // neither GRANTED nor CANCELLED by the longer deadline: never answered, as far as the run can tell
                        history.record(p, Kind.INFO, Op.QUEUED, lock, 0, "missing");
                        missing = true;
                        lateWaitUntil = null;
                        if (!leaving) {
                            plan = "cancel";
                            leaveAt = now;
                        }
                    }
                    if (now >= leaveAt) {
                        leaveAt = Long.MAX_VALUE;
                        leaving = true;
                        if ("close".equals(plan)) {
                            closeAndReopen(); // a grant that came first was the closed session's, and is released
                            return;
                        }
                        history.record(p, Kind.INVOKE, Op.CANCEL, lock, 0, null);
                        JsonNode reply = call(Op.CANCEL, lock, frame("cancel", lock));
                        String status = reply.path("status").asText();
                        if ("OK".equals(status)) {
                            history.record(p, Kind.OK, Op.CANCEL, lock, 0, null);
                            if (grantedToken == 0) {
                                return;
                            }
                        } else if ("FAIL".equals(status)) {
                            history.record(p, Kind.FAIL, Op.CANCEL, lock, 0, "code=" + reply.path("code").asText());
                        } else {
                            history.record(p, Kind.INFO, Op.CANCEL, lock, 0, "unexpected reply " + reply);
                        }
                        continue; // NOT_QUEUED: granted (or timed out) meanwhile, the push tells which
                    }
                    long next = Math.min(leaveAt, !late ? lateAt : missing ? Long.MAX_VALUE : missingAt);
                    Incoming in = inbox.poll(next - now, TimeUnit.NANOSECONDS);
                    if (in != null) {
                        handle(in, null, null);
                    }
                }
            } finally {
                waitingFor = null;
                lateWaitUntil = null;
            }
        }

        /** Closes the session, keeping the connection, and opens a new one on it. */
        private void closeAndReopen() throws Dropped, InterruptedException {
            history.record(p, Kind.INVOKE, Op.CLOSE, null, 0, null);
            JsonNode reply = call(Op.CLOSE, null, frame("close", "p" + p));
            if (!"OK".equals(reply.path("status").asText())) {
                history.record(p, Kind.FAIL, Op.CLOSE, null, 0, "code=" + reply.path("code").asText());
                drop("close refused");
            }
            history.record(p, Kind.OK, Op.CLOSE, null, 0, null);
            held = null;
            waitingFor = null;
            strays.clear(); // the closed session's grants are released
            openSession(node);
        }

        /** Gives back grants that came for requests this client no longer waits for. */
        private void unlockStrays() throws Dropped, InterruptedException {
            while (!strays.isEmpty()) {
                Object[] stray = strays.remove(0);
                String lock = (String) stray[0];
                long token = (Long) stray[1];
                history.record(p, Kind.INVOKE, Op.UNLOCK, lock, token, "stray");
                JsonNode reply = call(Op.UNLOCK, lock, frame("unlock", lock));
                recordUnlock(lock, token, reply);
            }
        }

        private void hold(String lock, long token, boolean shared, boolean fresh) throws Dropped, InterruptedException {
            long length = random.nextDouble() < longFraction
                    ? longLength.toNanos()
                    : holdMin.toNanos() + (long) (random.nextDouble() * (holdMax.toNanos() - holdMin.toNanos()));
            hold(lock, token, shared, fresh, length);
        }

        /**
         * Holds {@code lock} for {@code length} ns: writes and an increment (exclusive), or reads
         * (shared), then unlocks. {@code fresh}: the grant is new here (LOCKED); a GRANTED began
         * the hold in {@link #handle} already, where a LOST may have ended it.
         */
        private void hold(String lock, long token, boolean shared, boolean fresh, long length) throws Dropped, InterruptedException {
            if (fresh) {
                held = lock;
                heldToken = token;
                holdOver = false;
                stolen = false;
            }
            long start = System.nanoTime();
            plan = new HoldPlan(Map.of(lock, token), start + length);
            // writes (reads for a shared hold) in the middle of equal slices of the hold, the increment half-way
            List<long[]> steps = new ArrayList<>(); // {offset, 0 = write / 1 = increment / 2 = read}
            if (length > 0) {
                for (int i = 0; i < writesPerHold; i++) {
                    steps.add(new long[] {length * (2L * i + 1) / (2L * writesPerHold), shared ? 2 : 0});
                }
                if (!shared && stealFraction == 0) {
                    steps.add(new long[] {length / 2, 1});
                }
            }
            steps.sort((a, b) -> Long.compare(a[0], b[0]));
            for (long[] step : steps) {
                if (!awaitUntil(start + step[0])) {
                    break;
                }
                if (step[1] == 0) {
                    registers.get(lock).write(p, token);
                } else if (step[1] == 1) {
                    counters.get(lock).increment(p, token);
                } else {
                    counters.get(lock).read(p, token);
                }
            }
            if (!holdOver) {
                awaitUntil(start + length);
            }
            if (stolen && lateWrite != null && !shared) {
                // the save that was on its way when the lock was taken over arrives now
                long at = System.nanoTime() + lateWrite.toNanos();
                for (long left; (left = at - System.nanoTime()) > 0; ) {
                    java.util.concurrent.locks.LockSupport.parkNanos(left);
                }
                registers.get(lock).write(p, token);
            }
            held = null;
            history.record(p, Kind.INVOKE, Op.UNLOCK, lock, token, holdOver ? "after LOST" : null);
            JsonNode reply = call(Op.UNLOCK, lock, frame("unlock", lock));
            recordUnlock(lock, token, reply);
        }

        private void recordUnlock(String lock, long token, JsonNode reply) {
            switch (reply.path("status").asText()) {
                case "OK" -> history.record(p, Kind.OK, Op.UNLOCK, lock, token, null);
                case "FAIL" -> history.record(p, Kind.FAIL, Op.UNLOCK, lock, token, "code=" + reply.path("code").asText());
                default -> history.record(p, Kind.INFO, Op.UNLOCK, lock, token, "unexpected reply " + reply);
            }
        }

        /** Handles pushes until the deadline; false if the hold ended early (LOST). */
        private boolean awaitUntil(long deadline) throws Dropped, InterruptedException {
            while (!holdOver) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return true;
                }
                Incoming in = inbox.poll(left, TimeUnit.NANOSECONDS);
                if (in != null) {
                    handle(in, null, null);
                }
            }
            return false;
        }

        /**
         * Waits for the RETRY for {@code lock}: RETRY INFO {@code late} after retryTimeout, then on
         * to retryMissing, RETRY INFO {@code missing}. True to ask again; false if the workload is
         * stopping (a wait not yet late is then left at once; a late one is waited out).
         */
        private boolean awaitRetry(String lock) throws Dropped, InterruptedException {
            return awaitRetry(List.of(lock));
        }

        /** {@link #awaitRetry(String)} for the first RETRY of any of {@code locks} (an mlock's WAIT); late and missing name the first. */
        private boolean awaitRetry(List<String> locks) throws Dropped, InterruptedException {
            String lock = locks.get(0);
            long start = System.nanoTime();
            long lateAt = start + retryTimeoutNanos;
            long missingAt = start + retryMissingNanos;
            boolean late = false;
            try {
                while (locks.stream().noneMatch(retried::contains)) {
                    if (!running && !late) {
                        return false;
                    }
                    long now = System.nanoTime();
                    if (!late && now - lateAt >= 0) {
                        late = true;
                        lateWaitUntil = missingAt;
                        history.record(p, Kind.INFO, Op.RETRY, lock, 0, "late");
                    }
                    if (now - missingAt >= 0) {
                        history.record(p, Kind.INFO, Op.RETRY, lock, 0, "missing");
                        return running;
                    }
                    Incoming in = inbox.poll((late ? missingAt : lateAt) - now, TimeUnit.NANOSECONDS);
                    if (in != null) {
                        handle(in, null, null);
                    }
                }
                return running;
            } finally {
                lateWaitUntil = null;
            }
        }

        private ObjectNode frame(String action, String param) {
            return JSON.createObjectNode().put("action", action).put("param", param);
        }

        /** Sends one request (given its id here) and returns its reply, handling pushes that come first. */
        private JsonNode call(Op op, String lock, ObjectNode frame) throws Dropped, InterruptedException {
            return callMany(op, java.util.Arrays.asList(lock), frame);
        }

        /** {@link #call(Op, String, ObjectNode)} for a request naming several locks (mlock, munlock): an unknown outcome is INFO for each. */
        private JsonNode callMany(Op op, List<String> names, ObjectNode frame) throws Dropped, InterruptedException {
            long id = ++nextId;
            frame.put("id", id);
            try {
                ws.sendText(frame.toString(), true).get(requestTimeoutNanos, TimeUnit.NANOSECONDS);
            } catch (ExecutionException | TimeoutException e) {
                recordInfo(op, names, "send failed: " + e);
                drop("send failed");
            } catch (InterruptedException e) {
                recordInfo(op, names, "interrupted");
                throw e;
            }
            long deadline = System.nanoTime() + requestTimeoutNanos;
            while (true) {
                long left = deadline - System.nanoTime();
                Incoming in;
                try {
                    in = left > 0 ? inbox.poll(left, TimeUnit.NANOSECONDS) : null;
                } catch (InterruptedException e) {
                    recordInfo(op, names, "interrupted");
                    throw e;
                }
                if (in == null) {
                    recordInfo(op, names, "timeout");
                    drop("no reply in " + TimeUnit.NANOSECONDS.toMillis(requestTimeoutNanos) + " ms");
                }
                JsonNode reply = handle(in, op, names);
                if (reply != null && reply.path("id").asLong(-1) == id) {
                    return reply;
                }
            }
        }

        /**
         * Handles one incoming item: pushes are recorded, a closed connection is dropped (the
         * request {@code inFlight}, if any, becoming INFO). Returns a reply (a frame with an id)
         * for the caller to match, else null.
         */
        private JsonNode handle(Incoming in, Op inFlight, List<String> inFlightLocks) throws Dropped {
            if (in.conn() != conn) {
                return null; // a wake-up, or something from an older connection
            }
            if (in.closed() != null) {
                if (inFlight != null) {
                    recordInfo(inFlight, inFlightLocks, "connection closed");
                }
                drop(in.closed());
            }
            JsonNode m = in.message();
            if (m.has("id")) {
                return m;
            }
            String lock = m.path("lock").asText(m.path("message").asText());
            switch (m.path("status").asText()) {
                case "RETRY" -> {
                    history.record(p, Kind.OK, Op.RETRY, lock, 0, null);
                    retried.add(lock);
                }
                case "LOST" -> {
                    // Version 2 names the grant that ended: one naming an earlier grant (it came after the reply
                    // that gave this one) leaves the hold, as the bundled JS client does; names-its-own checks the name.
                    boolean mine = lock.equals(held) && (!m.has("token") || m.path("token").asLong() == heldToken);
                    // one name of an mlock's grants: that name's hold ends, the others go on
                    Long multiToken = multiLost.contains(lock) ? null : multiHeld.get(lock);
                    boolean mineOfMany = multiToken != null && (!m.has("token") || m.path("token").asLong() == multiToken);
                    String reason = (m.has("reason") ? " reason=" + m.path("reason").asText() : "")
                            + (m.has("by") ? " by=" + m.path("by").asText() : "");
                    long token = m.has("token") ? m.path("token").asLong() : mine ? heldToken : mineOfMany ? multiToken : 0;
                    history.record(p, Kind.OK, Op.LOST, lock, token, (mine || mineOfMany ? "" : "not held") + reason);
                    holdOver |= mine;
                    stolen |= mine && "stolen".equals(m.path("reason").asText());
                    if (mineOfMany) {
                        multiLost.add(lock);
                        holdOver |= multiLost.size() == multiHeld.size();
                    }
                }
                case "GRANTED" -> {
                    long token = m.path("token").asLong();
                    boolean shared = "shared".equals(m.path("mode").asText());
                    JsonNode request = m.get("request");
                    boolean mine = lock.equals(waitingFor) && grantedToken == 0
                            && (request == null || request.asLong(-1) == waitingId);
                    history.record(p, Kind.OK, Op.LOCK, lock, token, "GRANTED" + (shared ? " mode=shared" : "")
                            + " request=" + (request == null ? "-" : request.asText()) + (mine ? "" : " stray"));
                    grants.incrementAndGet();
                    if (mine) {
                        grantedToken = token;
                        grantedShared = shared;
                        held = lock; // the hold begins now: a LOST from here on ends it
                        heldToken = token;
                        holdOver = false;
                        stolen = false;
                    } else {
                        strays.add(new Object[] {lock, token});
                    }
                }
                case "CANCELLED" -> {
                    String reason = m.path("reason").asText();
                    JsonNode request = m.get("request");
                    history.record(p, Kind.OK, Op.CANCELLED, lock, 0, "reason=" + reason + (request == null ? "" : " request=" + request.asText()));
                    if (lock.equals(waitingFor) && grantedToken == 0 && (request == null || request.asLong(-1) == waitingId)) {
                        cancelledReason = reason;
                    }
                }
                default -> { } // no other pushes in protocol v1 and v2 part 1
            }
            return null;
        }

        private void recordInfo(Op op, List<String> names, String detail) {
            for (String name : names) {
                history.record(p, Kind.INFO, op, name, 0, detail);
            }
        }

        /** Ends the connection after a failure: DISCONNECT INFO, abort, any hold is over. */
        private void drop(String why) throws Dropped {
            history.record(p, Kind.INFO, Op.DISCONNECT, null, 0, why);
            ws.abort();
            forget();
            throw new Dropped();
        }

        /** The client's last act: a clean close if it can, an abort otherwise. */
        private void hangUp() {
            if (ws == null) {
                return;
            }
            boolean interrupted = Thread.interrupted();
            history.record(p, interrupted ? Kind.INFO : Kind.OK, Op.DISCONNECT, null, 0,
                    interrupted ? "stop: drain time over" : "stop");
            if (!interrupted) {
                try {
                    ws.sendClose(WebSocket.NORMAL_CLOSURE, "stop").get(1, TimeUnit.SECONDS);
                } catch (InterruptedException | ExecutionException | TimeoutException e) {
                    // aborted below anyway
                }
            }
            ws.abort();
            forget();
        }

        private void forget() {
            ws = null;
            node = -1;
            held = null;
            multiHeld.clear();
            multiLost.clear();
            waitingFor = null;
            strays.clear(); // the session is gone, and its grants with it
            conn++; // whatever the old connection still says is ignored
        }

        private void backoff(int minMillis, int maxMillis) throws InterruptedException {
            Thread.sleep(minMillis + random.nextInt(maxMillis - minMillis + 1));
        }
        /** Runs on the HttpClient's threads: it only assembles frames and queues them. */
        private final class Listener implements WebSocket.Listener {
            private final int generation;
            private final StringBuilder text = new StringBuilder();

            Listener(int generation) {
                this.generation = generation;
            }

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                text.append(data);
                if (last) {
                    try {
                        inbox.add(new Incoming(generation, JSON.readTree(text.toString()), null));
                    } catch (java.io.IOException e) {
                        inbox.add(new Incoming(generation, null, "unreadable frame: " + text));
                    }
                    text.setLength(0);
                }
                webSocket.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                inbox.add(new Incoming(generation, null, "closed " + statusCode + " " + reason));
                return null;
            }

            @Override
            public void onError(WebSocket webSocket, Throwable error) {
                inbox.add(new Incoming(generation, null, "error " + error));
            }
        }
    }
}
