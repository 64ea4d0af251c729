package io.distlock.faults;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.distlock.faults.History.Event;
import io.distlock.faults.History.Kind;
import io.distlock.faults.History.Op;

/**
 * Checkers of what {@link Observer}s were shown ({@code watch} and {@code query}, protocol version
 * 2), run by {@link Checkers#check(List, Bound)}: pure functions of the history.
 *
 * <p><b>Which grant a shown holder is.</b> A state entry names the session ({@code pN} is process
 * N) and {@code since}, the Redis clock's ms when it was granted; Redis runs on the test's machine,
 * so the observer's wall clock at the frame's arrival ({@code wall=}) places {@code since} on the
 * history's clock. The entry is the grant of a request of process N for that lock sent before
 * {@code since} (within {@value #EPS_MILLIS} ms) and granted, as its client saw it, after it (or,
 * for a request whose client never saw a grant, before its wait ended: by a disconnect, plus a
 * lease, since a hand-over can still pick a dead session's place). If several fit, the one that
 * ended last is taken (the lenient choice).
 *
 * <p><b>When a grant ended, as the history says:</b> its unlock's answer (OK, or NOT_OWNER), a
 * LOST, its client's disconnect (the connection ended, its node killed: Redis frees it within a
 * lease), its session's close; a grant taken over ends at the thief's grant.
 *
 * <ul>
 *   <li>{@value Checkers#WATCH_RELEASE}: an observer never shows a holder whose grant ended
 *       longer ago than the release bound: {@link Bound#lease} + {@link Bound#margin}, plus the
 *       length of every window in which the watchers were blind (a FAULT whose detail starts with
 *       {@value #BLIND}, until the HEAL that starts with {@value #SEE_AGAIN}) overlapping it, if
 *       the window blinded that observer or that grant: a window naming {@code node N} counts for an
 *       observer connected to node N and for a grant whose client was (its release reached Redis
 *       late); one naming no node, or an observer or client whose node is unknown, counts always. A
 *       shown state lasts from its arrival (the watch's answer, a CHANGED) to the next one for
 *       that lock, the observer's disconnect, or the end of the history. A shown holder that no
 *       request explains counts too.</li>
 *   <li>{@value Checkers#WATCH_FINAL}: an observer's {@code final} query (after the workload)
 *       answers what the observer shows for that lock at the time: holders and queue, in order,
 *       with their modes and {@code since}.</li>
 *   <li>{@value Checkers#QUERY_CONSISTENT}: every query answer is a possible state: at most one
 *       exclusive holder and never with others, no session twice among the holders or twice in
 *       the queue (a name twice is two sessions of one browser only if its connection ended within
 *       a lease before the query: the dead session's entries last that long), and every holder a grant of a request sent before its {@code since} whose
 *       release was not acknowledged (unlock OK, close OK, or the thief's grant) before the query
 *       was sent (a holder that fits requests of two sessions of one browser may be either's).</li>
 *   <li>{@value Checkers#QUERY_COMPLETE}: a query shows every grant held throughout it: granted
 *       (LOCK OK) before the query was sent, and neither unlocked, lost, disconnected, closed nor
 *       asked to be taken over (the thief's LOCK INVOKE) before its answer came, nor made before a
 *       loss of Redis's data (a FAULT whose detail starts with {@value #DATA_LOST}).</li>
 * </ul>
 */
final class ViewCheckers {

    /** A FAULT detail that starts with this makes watchers blind until the HEAL that starts with {@link #SEE_AGAIN}. */
    static final String BLIND = "watchers blind:";
    private static final Pattern BLIND_NODE = Pattern.compile("node (\\d+)");
    private static final Pattern CONNECTED_NODE = Pattern.compile("(?:^| )node=(\\d+)");
    static final String SEE_AGAIN = "watchers see again:";
    /**
     * A FAULT detail that starts with this lost Redis's data (a restart without persistence): every
     * grant made before it is held, for {@value Checkers#QUERY_COMPLETE}, only until then; its
     * holder hears of it later (LOST taken), and until then the history still has it held.
     */
    static final String DATA_LOST = "data lost:";
    static final long EPS_MILLIS = 50;

    /** The release bound: a lease (a dead holder's grant lasts that long in Redis) and a margin. */
    record Bound(Duration lease, Duration margin) { }

    interface Sink {
        void add(String checker, String lock, String description);
    }

    private static final Pattern WALL = Pattern.compile("(?:^| )wall=(\\d+)");
    private static final Pattern HOLDERS = Pattern.compile("(?:^| )holders=(\\S*)");
    private static final Pattern QUEUE = Pattern.compile("(?:^| )queue=(\\S*)");
    private static final Pattern REQUEST = Pattern.compile("request=(\\d+)");
    private static final Pattern ID = Pattern.compile("(?:^| )id=(\\d+)");
    private static final Pattern BY = Pattern.compile("(?:^| )by=(\\S+)");
    private static final long NEVER = Long.MAX_VALUE;

    private ViewCheckers() {
    }

    /** One lock request of one process and the grant it got, on the history's clock. */
    private static final class Tenure {
        final int p;
        final String lock;
        final Event invoke;
        Event grant;
        long waitEnded = NEVER;     // ungranted: when its client stopped waiting (the latest a hidden grant fits)
        long end = NEVER;           // gone, as the history says
        long released = NEVER;      // release acknowledged
        long heldUntil = NEVER;     // surely held until then (granted)
        int node = -1;              // its client's node when it was granted, -1 if unknown

        Tenure(Event invoke) {
            this.p = invoke.process();
            this.lock = invoke.lock();
            this.invoke = invoke;
        }

        long fitsUntil(long leaseNanos) {
            if (grant != null) {
                return grant.nanos() + EPS_MILLIS * 1_000_000;
            }
            return waitEnded == NEVER ? NEVER : waitEnded + leaseNanos + EPS_MILLIS * 1_000_000;
        }

        void ended(long at) {
            end = Math.min(end, at);
            if (grant == null) {
                waitEnded = Math.min(waitEnded, at);
            }
        }

        String describe() {
            return String.format("p%d's grant%s (asked at %.3f ms, %s)", p, grant == null ? "" : " of token " + grant.token(),
                    invoke.millis(), grant == null ? "never seen by its client" : String.format("granted at %.3f ms", grant.millis()));
        }
    }

    /** One entry of a shown state. */
    private record Entry(String name, String mode, long sinceWall) {
        int process() {
            return name.matches("p\\d+") ? Integer.parseInt(name.substring(1)) : -1;
        }
    }

    static void check(List<Event> events, Bound bound, Sink sink) {
        long lease = bound.lease().toNanos();
        long margin = bound.margin().toNanos();
        Map<String, List<Tenure>> byProcessLock = new HashMap<>();
        Map<String, List<Tenure>> byLock = new HashMap<>();
        Map<String, Tenure> byId = new HashMap<>();
        List<long[]> blind = new ArrayList<>();
        Map<String, List<Event>> stealGrants = new HashMap<>();  // lock -> each steal's grant so far
        Map<Event, Event> stealAsked = new java.util.IdentityHashMap<>(); // a steal's grant -> its request
        long blindFrom = -1;
        long blindNode = -1;
        Map<Integer, Integer> nodeOf = new HashMap<>();       // process -> the node of its connection now
        long last = events.isEmpty() ? 0 : events.get(events.size() - 1).nanos();

        // pass 1: tenures and their ends
        for (Event e : events) {
            int p = e.process();
            if (e.op() == Op.CONNECT && e.kind() == Kind.OK) {
                nodeOf.put(p, connectedNode(e));
            }
            switch (e.op()) {
                case LOCK -> {
                    if (e.kind() == Kind.INVOKE) {
                        Tenure t = new Tenure(e);
                        byProcessLock.computeIfAbsent(Checkers.key(p, e.lock()), k -> new ArrayList<>()).add(t);
                        byLock.computeIfAbsent(e.lock(), k -> new ArrayList<>()).add(t);
                        Matcher id = ID.matcher(String.valueOf(e.detail()));
                        if (id.find()) {
                            byId.put(p + "#" + id.group(1), t);
                        }
                    } else if (e.kind() == Kind.OK) {
                        Tenure t = null;
                        Matcher r = REQUEST.matcher(String.valueOf(e.detail()));
                        if (r.find()) {
                            t = byId.get(p + "#" + r.group(1));
                        }
                        if (t == null || !t.lock.equals(e.lock()) || t.grant != null) {
                            t = latest(byProcessLock, p, e.lock());
                        }
                        if (t != null && t.grant == null) {
                            t.grant = e;
                            t.node = nodeOf.getOrDefault(p, -1);
                            t.waitEnded = NEVER;
                            Event thief = Checkers.overtakenBy(e, t.invoke.nanos(), stealGrants.getOrDefault(e.lock(), List.of()));
                            if (thief != null) {
                                // taken over before its answer came
                                t.heldUntil = Math.min(t.heldUntil, stealAsked.get(thief).nanos());
                                t.released = Math.min(t.released, e.nanos());
                                t.ended(e.nanos());
                            } else if (Checkers.isSteal(t.invoke)) {
                                takeOver(byLock.get(e.lock()), t);
                            }
                            if (Checkers.isSteal(t.invoke)) {
                                stealGrants.computeIfAbsent(e.lock(), k -> new ArrayList<>()).add(e);
                                stealAsked.put(e, t.invoke);
                            }
                        }
                    } else {
                        Tenure t = latest(byProcessLock, p, e.lock());
                        if (t != null && t.grant == null && e.kind() == Kind.FAIL) {
                            t.ended(e.nanos());
                        }
                    }
                }
                case CANCEL, CANCELLED -> {
                    if (e.kind() == Kind.OK) {
                        Tenure t = latest(byProcessLock, p, e.lock());
                        if (t != null && t.grant == null) {
                            t.ended(e.nanos());
                        }
                    }
                }
                case UNLOCK -> {
                    Tenure t = grantOf(byProcessLock, p, e.lock(), e.token());
                    if (t == null) {
                        break;
                    }
                    if (e.kind() == Kind.INVOKE) {
                        t.heldUntil = Math.min(t.heldUntil, e.nanos());
                    } else if (e.kind() == Kind.OK || String.valueOf(e.detail()).contains("NOT_OWNER")) {
                        t.released = Math.min(t.released, e.nanos());
                        t.ended(e.nanos());
                    }
                }
                case LOST -> {
                    Tenure t = grantOf(byProcessLock, p, e.lock(), e.token()); // the grant it names (version 2), else the latest
                    if (t != null) {
                        t.heldUntil = Math.min(t.heldUntil, e.nanos());
                        t.ended(e.nanos());
                        Matcher by = BY.matcher(String.valueOf(e.detail()));
                        if (String.valueOf(e.detail()).contains("reason=stolen") && by.find() && by.group(1).matches("p\\d+")) {
                            // taken over no earlier than the thief asked (whether or not the thief heard its answer)
                            List<Tenure> thief = byProcessLock.getOrDefault(Checkers.key(Integer.parseInt(by.group(1).substring(1)), e.lock()), List.of());
                            for (int i = thief.size() - 1; i >= 0; i--) {
                                if (Checkers.isSteal(thief.get(i).invoke) && thief.get(i).invoke.nanos() <= e.nanos()) {
                                    t.heldUntil = Math.min(t.heldUntil, thief.get(i).invoke.nanos());
                                    break;
                                }
                            }
                        }
                    }
                }
                case DISCONNECT, CLOSE -> {
                    if (p < 0 || (e.op() == Op.CLOSE && e.kind() == Kind.FAIL)) {
                        break;
                    }
                    for (Map.Entry<String, List<Tenure>> entry : byProcessLock.entrySet()) {
                        for (Tenure t : entry.getValue()) {
                            if (t.p != p || t.end != NEVER || t.invoke.nanos() > e.nanos()) {
                                continue;
                            }
                            if (e.op() == Op.CLOSE && e.kind() == Kind.INVOKE) {
                                t.heldUntil = Math.min(t.heldUntil, e.nanos());
                                continue;
                            }
                            t.heldUntil = Math.min(t.heldUntil, e.nanos());
                            if (e.op() == Op.CLOSE) {
                                t.released = Math.min(t.released, e.nanos());
                            }
                            t.ended(e.nanos());
                        }
                    }
                }
                case FAULT -> {
                    if (String.valueOf(e.detail()).startsWith(BLIND)) {
                        blindFrom = e.nanos();
                        Matcher n = BLIND_NODE.matcher(e.detail());
                        blindNode = n.find() ? Integer.parseInt(n.group(1)) : -1;
                    }
                    if (String.valueOf(e.detail()).startsWith(DATA_LOST)) {
                        for (List<Tenure> ofLock : byLock.values()) {
                            for (Tenure t : ofLock) {
                                t.heldUntil = Math.min(t.heldUntil, e.nanos());
                            }
                        }
                    }
                }
                case HEAL -> {
                    if (String.valueOf(e.detail()).startsWith(SEE_AGAIN) && blindFrom >= 0) {
                        blind.add(new long[] {blindFrom, e.nanos(), blindNode});
                        blindFrom = -1;
                    }
                }
                default -> { }
            }
        }
        if (blindFrom >= 0) {
            blind.add(new long[] {blindFrom, last, blindNode});
        }

        // pass 2: what observers were shown
        Map<String, Event> shownSince = new HashMap<>();   // observer + lock -> the event that shows its state now
        Map<String, Event> queryAsked = new HashMap<>();   // observer + lock -> its last QUERY INVOKE
        Map<Integer, Long> lastDrop = new HashMap<>();      // process -> its last connection's end
        Set<Tenure> traced = new HashSet<>();               // grants whose holder's events a violation listed already
        Map<Integer, Integer> observerNode = new HashMap<>(); // process -> the node of its connection now
        for (Event e : events) {
            int p = e.process();
            if (e.op() == Op.DISCONNECT) {
                lastDrop.put(p, e.nanos());
            }
            if (e.op() == Op.CONNECT && e.kind() == Kind.OK) {
                observerNode.put(p, connectedNode(e));
            }
            switch (e.op()) {
                case WATCH, CHANGED -> {
                    if (e.kind() != Kind.OK) {
                        break;
                    }
                    String key = Checkers.key(p, e.lock());
                    Event before = shownSince.put(key, e);
                    if (before != null) {
                        checkShown(sink, before, e.nanos(), byProcessLock, blind, observerNode.getOrDefault(p, -1), lease, margin);
                    }
                }
                case DISCONNECT -> {
                    for (var it = shownSince.entrySet().iterator(); it.hasNext(); ) {
                        Map.Entry<String, Event> shown = it.next();
                        if (shown.getValue().process() == p) {
                            checkShown(sink, shown.getValue(), e.nanos(), byProcessLock, blind, observerNode.getOrDefault(p, -1), lease, margin);
                            it.remove();
                        }
                    }
                }
                case QUERY -> {
                    if (e.kind() == Kind.INVOKE) {
                        queryAsked.put(Checkers.key(p, e.lock()), e);
                    } else if (e.kind() == Kind.OK) {
                        Event asked = queryAsked.get(Checkers.key(p, e.lock()));
                        checkQuery(sink, e, asked == null ? e.nanos() : asked.nanos(), byProcessLock, byLock.getOrDefault(e.lock(), List.of()), lease,
                                lastDrop, events, traced);
                        if (String.valueOf(e.detail()).contains(" final")) {
                            Event shown = shownSince.get(Checkers.key(p, e.lock()));
                            String says = state(e);
                            String showed = shown == null ? null : state(shown);
                            if (!says.equals(showed)) {
                                sink.add(Checkers.WATCH_FINAL, e.lock(), String.format("p%d's final query at %.3f ms says %s; "
                                        + "the observer shows %s", p, e.millis(), says, showed == null ? "nothing" : showed
                                        + String.format(" (since %.3f ms)", shown.millis())));
                            }
                        }
                    }
                }
                default -> { }
            }
        }
        shownSince.values().forEach(shown -> checkShown(sink, shown, last, byProcessLock, blind,
                observerNode.getOrDefault(shown.process(), -1), lease, margin));
    }

    /** A steal's grant {@code thief}: every other grant of the lock still on when it was asked for ends here (taken over). */
    private static void takeOver(List<Tenure> tenures, Tenure thief) {
        for (Tenure v : tenures) {
            if (v == thief || v.p == thief.p || v.grant == null || v.grant.token() > thief.grant.token() || v.end < thief.invoke.nanos()) {
                continue;
            }
            v.heldUntil = Math.min(v.heldUntil, thief.invoke.nanos());
            v.released = Math.min(v.released, thief.grant.nanos());
            v.ended(thief.grant.nanos());
        }
    }

    /** The state shown by {@code shown} lasted until {@code until}: none of its holders may be gone longer than the bound. */
    private static void checkShown(Sink sink, Event shown, long until, Map<String, List<Tenure>> tenures, List<long[]> blind,
                                   int observerNode, long lease, long margin) {
        for (Entry entry : entries(shown, HOLDERS)) {
            Tenure t = match(shown, entry, tenures, lease);
            if (t == null) {
                sink.add(Checkers.WATCH_RELEASE, shown.lock(), String.format("p%d was shown at %.3f ms a holder %s since %d "
                        + "that no request explains", shown.process(), shown.millis(), entry.name(), entry.sinceWall()));
                continue;
            }
            if (t.end == NEVER) {
                continue;
            }
            long deadline = deadline(t.end, blinding(blind, observerNode, t.node), lease + margin);
            if (until > deadline) {
                sink.add(Checkers.WATCH_RELEASE, shown.lock(), String.format("p%d showed %s from %.3f ms until %.3f ms; "
                        + "it ended at %.3f ms, and the bound ran out at %.3f ms", shown.process(), t.describe(), shown.millis(),
                        until / 1e6, t.end / 1e6, deadline / 1e6));
            }
        }
    }

    /**
     * The blind windows {{from, to, node}} that blinded an observer on {@code observerNode} to a
     * grant of a client on {@code holderNode}: those of either node, and those of no node or where
     * a node is unknown (-1).
     */
    static List<long[]> blinding(List<long[]> blind, int observerNode, int holderNode) {
        if (observerNode < 0 || holderNode < 0) {
            return blind;
        }
        return blind.stream().filter(w -> w[2] < 0 || w[2] == observerNode || w[2] == holderNode).toList();
    }

    /** The node of a CONNECT OK ({@code node=N}), -1 if none. */
    private static int connectedNode(Event connected) {
        Matcher m = CONNECTED_NODE.matcher(String.valueOf(connected.detail()));
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** {@code end} + {@code bound}, lengthened by every blind window that overlaps it. */
    static long deadline(long end, List<long[]> blind, long bound) {
        long deadline = end + bound;
        for (long[] w : blind) {
            if (w[0] < deadline && w[1] > end) {
                deadline += w[1] - Math.max(w[0], end);
            }
        }
        return deadline;
    }

    private static void checkQuery(Sink sink, Event answer, long asked, Map<String, List<Tenure>> tenures, List<Tenure> ofLock,
                                   long lease, Map<Integer, Long> lastDrop, List<Event> events, Set<Tenure> traced) {
        List<Entry> holders = entries(answer, HOLDERS);
        List<Entry> queue = entries(answer, QUEUE);
        String lock = answer.lock();
        long exclusive = holders.stream().filter(h -> "x".equals(h.mode())).count();
        if (exclusive > 1 || (exclusive == 1 && holders.size() > 1)) {
            sink.add(Checkers.QUERY_CONSISTENT, lock, String.format("p%d's query answered at %.3f ms: %d holders, %d exclusive: %s",
                    answer.process(), answer.millis(), holders.size(), exclusive, state(answer)));
        }
        for (List<Entry> list : List.of(holders, queue)) {
            Set<String> names = new HashSet<>();
            for (Entry entry : list) {
                // a name twice is two sessions of one browser: its dead one's entries last a lease after its connection ended
                Long dropped = lastDrop.get(entry.process());
                boolean twoSessions = dropped != null && dropped >= asked - lease - EPS_MILLIS * 1_000_000;
                if (!names.add(entry.name()) && !twoSessions) {
                    sink.add(Checkers.QUERY_CONSISTENT, lock, String.format("p%d's query answered at %.3f ms lists %s twice in one list: %s",
                            answer.process(), answer.millis(), entry.name(), state(answer)));
                }
            }
        }
        for (Entry entry : holders) {
            List<Tenure> fits = matches(answer, entry, tenures, lease);
            Tenure t = latestEnded(fits);
            if (t == null) {
                sink.add(Checkers.QUERY_CONSISTENT, lock, String.format("p%d's query answered at %.3f ms shows holder %s since %d "
                        + "that no request explains", answer.process(), answer.millis(), entry.name(), entry.sinceWall()));
            } else if (fits.stream().allMatch(f -> f.released < asked)) {
                sink.add(Checkers.QUERY_CONSISTENT, lock, String.format("p%d's query sent at %.3f ms shows %s, whose release "
                        + "was acknowledged at %.3f ms", answer.process(), asked / 1e6, t.describe(), t.released / 1e6)
                        + (traced.add(t) ? trail(events, t.p, lock, t.invoke.nanos() - lease, asked) : ""));
            }
        }
        Set<String> shown = new HashSet<>();
        holders.forEach(h -> shown.add(h.name() + ":" + h.mode()));
        for (Tenure t : ofLock) {
            if (t.grant != null && t.grant.nanos() < asked && t.heldUntil > answer.nanos()
                    && !shown.contains("p" + t.p + ":" + (Checkers.shared(t.grant) ? "s" : "x"))) {
                sink.add(Checkers.QUERY_COMPLETE, lock, String.format("p%d's query (sent at %.3f ms, answered at %.3f ms) does not "
                        + "show %s, held throughout: %s", answer.process(), asked / 1e6, answer.millis(), t.describe(), state(answer)));
            }
        }
    }

    /** What process {@code p} did with {@code lock}, and its connections, from {@code from} to {@code to}: a violation's context. */
    private static String trail(List<Event> events, int p, String lock, long from, long to) {
        StringBuilder s = new StringBuilder();
        int lines = 0;
        for (Event e : events) {
            if (e.process() == p && e.nanos() >= from && e.nanos() <= to && (e.lock() == null || lock.equals(e.lock()))) {
                if (++lines > 30) {
                    return s.append("\n      ...").toString();
                }
                s.append("\n      ").append(e);
            }
        }
        return s.toString();
    }

    /** The grant a shown entry is, or null: of those it fits, the one that ended last (see the class doc). */
    private static Tenure match(Event shown, Entry entry, Map<String, List<Tenure>> tenures, long lease) {
        return latestEnded(matches(shown, entry, tenures, lease));
    }

    /**
     * The requests whose grant a shown entry may be: sent before its {@code since}, granted no
     * earlier, or never heard of by their client. Two sessions of one browser can both fit (a dead
     * one's grant lasts a lease): the entry is one of them, which the history cannot tell.
     */
    private static List<Tenure> matches(Event shown, Entry entry, Map<String, List<Tenure>> tenures, long lease) {
        Matcher wall = WALL.matcher(String.valueOf(shown.detail()));
        if (!wall.find() || entry.process() < 0) {
            return List.of();
        }
        long since = shown.nanos() - (Long.parseLong(wall.group(1)) - entry.sinceWall()) * 1_000_000;
        List<Tenure> fits = new ArrayList<>();
        for (Tenure t : tenures.getOrDefault(Checkers.key(entry.process(), shown.lock()), List.of())) {
            if (t.invoke.nanos() - EPS_MILLIS * 1_000_000 <= since && since <= t.fitsUntil(lease)) {
                fits.add(t);
            }
        }
        return fits;
    }

    private static Tenure latestEnded(List<Tenure> fits) {
        Tenure best = null;
        for (Tenure t : fits) {
            if (best == null || t.end >= best.end) {
                best = t;
            }
        }
        return best;
    }

    private static List<Entry> entries(Event e, Pattern which) {
        Matcher m = which.matcher(String.valueOf(e.detail()));
        List<Entry> out = new ArrayList<>();
        if (!m.find() || m.group(1).isEmpty()) {
            return out;
        }
        for (String s : m.group(1).split(",")) {
            String[] f = s.split(":");
            out.add(new Entry(f[0], f.length > 1 ? f[1] : "?", f.length > 2 ? Long.parseLong(f[2]) : 0));
        }
        return out;
    }

    /** {@code holders=... queue=...} of a WATCH, CHANGED or QUERY event. */
    private static String state(Event e) {
        Matcher h = HOLDERS.matcher(String.valueOf(e.detail()));
        Matcher q = QUEUE.matcher(String.valueOf(e.detail()));
        return "holders=" + (h.find() ? h.group(1) : "") + " queue=" + (q.find() ? q.group(1) : "");
    }

    private static Tenure latest(Map<String, List<Tenure>> byProcessLock, int p, String lock) {
        List<Tenure> list = byProcessLock.get(Checkers.key(p, lock));
        return list == null || list.isEmpty() ? null : list.get(list.size() - 1);
    }

    private static Tenure grantOf(Map<String, List<Tenure>> byProcessLock, int p, String lock, long token) {
        List<Tenure> list = byProcessLock.getOrDefault(Checkers.key(p, lock), List.of());
        for (int i = list.size() - 1; i >= 0; i--) {
            Tenure t = list.get(i);
            if (t.grant != null && (token == 0 || t.grant.token() == token)) {
                return t;
            }
        }
        return null;
    }
}
