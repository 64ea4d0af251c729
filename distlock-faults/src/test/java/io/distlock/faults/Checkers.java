package io.distlock.faults;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.distlock.faults.History.Event;
import io.distlock.faults.History.Kind;
import io.distlock.faults.History.Op;

/**
 * Offline checkers: pure functions of a {@link History}'s events, run after the fact.
 *
 * <p>A holder's interval on a lock runs from its LOCK OK to the first of: its UNLOCK INVOKE, a
 * LOST for that lock, its DISCONNECT, the end of the history. This is what the client
 * <em>believes</em>, and it is always inside what the server granted (the grant comes before the
 * client hears LOCKED, the release after it sends unlock). A lock whose outcome is unknown (LOCK
 * INFO) opens no interval: the workload drops the connection then and does no work under it.
 *
 * <ul>
 *   <li>{@value #NO_OVERLAP}: per lock, no two processes' intervals overlap.</li>
 *   <li>{@value #TOKENS_GROW}: per lock, LOCK OK tokens strictly increase in history order; a
 *       re-lock by the holder inside its interval answering the same token is fine, and so is
 *       one after its unlock failed (refused for a reason other than NOT_OWNER, or unanswered):
 *       its session kept the lock, and the protocol answers a re-lock with the same token.</li>
 *   <li>{@value #FENCED_REGISTER}: per lock, no accepted write carries a token lower than one
 *       accepted before it. With fencing on the register guarantees it; with fencing off it is
 *       the negative control that finds what a broken exclusion does to the resource.</li>
 *   <li>{@value #COUNTER}: per lock, no two increments read the same value (a lost update), and
 *       the last value written equals the number of increments.</li>
 *   <li>{@value #GRANTS_END}: per lock, no process is granted it while another process's grant
 *       was never ended: an unlock that failed (refused for a reason other than NOT_OWNER, or
 *       unanswered) leaves the grant with its session, as far as the client can tell, until a
 *       LOST, a successful unlock or a disconnect ends it. A server whose failed unlock still
 *       released the lock, late or by a resend, without telling its session, breaks this.</li>
 * </ul>
 */
public final class Checkers {

    public static final String NO_OVERLAP = "no-overlap";
    public static final String TOKENS_GROW = "tokens-grow";
    public static final String FENCED_REGISTER = "fenced-register";
    public static final String COUNTER = "counter";
    public static final String GRANTS_END = "grants-end";
    public static final List<String> ALL = List.of(NO_OVERLAP, TOKENS_GROW, FENCED_REGISTER, COUNTER, GRANTS_END);

    private static final int MAX_EXAMPLES = 20;
    private static final Pattern INCREMENT = Pattern.compile("read=(-?\\d+) wrote=(-?\\d+)");

    private Checkers() { }

    public record Violation(String checker, String lock, String description) { }

    public record Report(long grants, long writesAccepted, long writesRejected, long increments, long lateRetries,
                         Map<String, Long> violationsByChecker, List<Violation> examples) {

        /** No violation of any checker. */
        public boolean ok() {
            return violationsByChecker.values().stream().allMatch(n -> n == 0);
        }

        public long violations(String checker) {
            return violationsByChecker.getOrDefault(checker, 0L);
        }

        public String summary() {
            StringBuilder s = new StringBuilder();
            s.append(ok() ? "OK" : "VIOLATIONS").append(": grants=").append(grants)
                    .append(" writes accepted=").append(writesAccepted).append(" rejected=").append(writesRejected)
                    .append(" increments=").append(increments).append(" late retries=").append(lateRetries).append('\n');
            violationsByChecker.forEach((checker, n) -> s.append("  ").append(checker).append(": ").append(n).append('\n'));
            examples.forEach(v -> s.append("  - [").append(v.checker()).append("] ").append(v.lock())
                    .append(": ").append(v.description()).append('\n'));
            return s.toString();
        }
    }

    /** An interval in progress: who holds, since when, with which token. */
    private record Hold(int process, long token, Event grant) { }

    public static Report check(History history) {
        return check(history.events());
    }

    public static Report check(List<Event> events) {
        Findings f = new Findings();
        long grants = 0;
        long accepted = 0;
        long rejected = 0;
        long increments = 0;
        long late = 0;

        Map<String, Map<Integer, Hold>> open = new HashMap<>(); // lock -> process -> its interval
        Map<String, Event> lastGrant = new HashMap<>();         // tokens-grow
        Map<String, Map<Integer, Long>> unreleased = new HashMap<>(); // lock -> process -> token its failed unlock left held
        Map<String, Event> highestWrite = new HashMap<>();      // fenced-register
        Map<String, Map<Long, Event>> reads = new HashMap<>();  // counter: lock -> value read -> by whom
        Map<String, Event> lastIncrement = new HashMap<>();
        Map<String, Long> incrementsByLock = new HashMap<>();

        for (Event e : events) {
            String lock = e.lock();
            switch (e.op()) {
                case LOCK -> {
                    if (e.kind() != Kind.OK) {
                        break;
                    }
                    grants++;
                    Map<Integer, Hold> holders = open.computeIfAbsent(lock, k -> new LinkedHashMap<>());
                    Hold mine = holders.get(e.process());
                    boolean relock = mine != null && mine.token() == e.token();
                    // the same grant again, after an unlock that did not go through (its session kept the lock)
                    boolean kept = Long.valueOf(e.token()).equals(unreleased.getOrDefault(lock, Map.of()).get(e.process()));
                    Event previous = lastGrant.get(lock);
                    if (previous != null && e.token() <= previous.token() && !relock && !kept) {
                        f.add(TOKENS_GROW, lock, String.format("p%d granted token %d at %.3f ms after p%d was granted %d at %.3f ms",
                                e.process(), e.token(), e.millis(), previous.process(), previous.token(), previous.millis()));
                    }
                    if (relock) {
                        break;
                    }
                    lastGrant.put(lock, e);
                    unreleased.getOrDefault(lock, Map.of()).forEach((process, token) -> {
                        if (process != e.process()) {
                            f.add(GRANTS_END, lock, String.format("p%d granted token %d at %.3f ms while p%d's unlock of token %d "
                                    + "failed and nothing ended its grant", e.process(), e.token(), e.millis(), process, token));
                        }
                    });
                    for (Hold other : holders.values()) {
                        if (other.process() != e.process()) {
                            f.add(NO_OVERLAP, lock, String.format("p%d granted token %d at %.3f ms while p%d holds token %d since %.3f ms",
                                    e.process(), e.token(), e.millis(), other.process(), other.token(), other.grant().millis()));
                        }
                    }
                    holders.put(e.process(), new Hold(e.process(), e.token(), e));
                }
                case UNLOCK -> {
                    if (e.kind() == Kind.INVOKE) {
                        end(open, lock, e.process());
                    } else if (e.kind() == Kind.OK || String.valueOf(e.detail()).contains("NOT_OWNER")) {
                        unreleased.getOrDefault(lock, new HashMap<>()).remove(e.process());
                    } else {
                        unreleased.computeIfAbsent(lock, k -> new HashMap<>()).put(e.process(), e.token());
                    }
                }
                case LOST -> {
                    end(open, lock, e.process());
                    unreleased.getOrDefault(lock, new HashMap<>()).remove(e.process());
                }
                case DISCONNECT -> {
                    open.values().forEach(holders -> holders.remove(e.process()));
                    unreleased.values().forEach(byProcess -> byProcess.remove(e.process()));
                }
                case RETRY -> {
                    if (e.kind() == Kind.INFO && "late".equals(e.detail())) {
                        late++;
                    }
                }
                case WRITE -> {
                    if (e.kind() == Kind.FAIL) {
                        rejected++;
                        break;
                    }
                    if (e.kind() != Kind.OK) {
                        break;
                    }
                    accepted++;
                    Event highest = highestWrite.get(lock);
                    if (highest != null && e.token() < highest.token()) {
                        f.add(FENCED_REGISTER, lock, String.format("p%d's write with token %d accepted at %.3f ms after p%d's with token %d at %.3f ms",
                                e.process(), e.token(), e.millis(), highest.process(), highest.token(), highest.millis()));
                    } else {
                        highestWrite.put(lock, e);
                    }
                }
                case INCREMENT -> {
                    if (e.kind() != Kind.OK) {
                        break;
                    }
                    increments++;
                    incrementsByLock.merge(lock, 1L, Long::sum);
                    Matcher m = INCREMENT.matcher(String.valueOf(e.detail()));
                    if (!m.find()) {
                        f.add(COUNTER, lock, "unreadable increment: " + e);
                        break;
                    }
                    long read = Long.parseLong(m.group(1));
                    Event before = reads.computeIfAbsent(lock, k -> new HashMap<>()).putIfAbsent(read, e);
                    if (before != null) {
                        f.add(COUNTER, lock, String.format("lost update: p%d (token %d, %.3f ms) and p%d (token %d, %.3f ms) both read %d",
                                before.process(), before.token(), before.millis(), e.process(), e.token(), e.millis(), read));
                    }
                    lastIncrement.put(lock, e);
                }
                default -> { } // CONNECT, FAULT, HEAL: context for people, nothing to check
            }
        }

        lastIncrement.forEach((lock, e) -> {
            Matcher m = INCREMENT.matcher(e.detail());
            long count = incrementsByLock.get(lock);
            if (m.find() && Long.parseLong(m.group(2)) != count) {
                f.add(COUNTER, lock, String.format("final value %s after %d increments (last by p%d at %.3f ms)",
                        m.group(2), count, e.process(), e.millis()));
            }
        });

        return new Report(grants, accepted, rejected, increments, late, f.counts, List.copyOf(f.examples));
    }

    private static void end(Map<String, Map<Integer, Hold>> open, String lock, int process) {
        Map<Integer, Hold> holders = open.get(lock);
        if (holders != null) {
            holders.remove(process);
        }
    }

    private static final class Findings {
        final Map<String, Long> counts = new LinkedHashMap<>();
        final List<Violation> examples = new ArrayList<>();

        Findings() {
            ALL.forEach(c -> counts.put(c, 0L));
        }

        void add(String checker, String lock, String description) {
            counts.merge(checker, 1L, Long::sum);
            if (examples.size() < MAX_EXAMPLES) {
                examples.add(new Violation(checker, lock, description));
            }
        }
    }
}
