package io.distlock.faults;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Everything that happened in one fault run, in one order: what the simulated browsers asked and
 * were told, what the protected resources accepted, which faults were injected and healed. The
 * checkers read nothing else.
 *
 * <p>Thread-safe and append-only. There is one clock, {@link System#nanoTime()} relative to the
 * history's creation, and it is read under the same lock that appends: recording order is time
 * order, so "before" in the list means "before" on the clock too.
 *
 * <p>Kinds follow Jepsen: an operation is {@code INVOKE}d, then completes {@code OK} or {@code FAIL},
 * or ends {@code INFO} when its outcome is unknown (a timeout, a dropped connection). Events
 * without a lock have {@code lock == null}; events without a token have {@code token == 0}
 * (the server's tokens are always positive).
 */
public final class History {

    public enum Kind { INVOKE, OK, FAIL, INFO }

    /**
     * Protocol version 2 adds: {@code QUEUED} (OK: the lock request was queued, detail
     * {@code position=N holder=H}; INFO {@code late}: neither GRANTED nor CANCELLED within the
     * workload's retry timeout, the client waits on; INFO {@code missing}: still neither at its
     * longer deadline, the client cancels), {@code CANCEL} (the
     * client's cancel: INVOKE, then OK, FAIL {@code code=NOT_QUEUED} or INFO), {@code CANCELLED}
     * (the push, detail {@code reason=R}), {@code CLOSE} (the client closed its session and keeps
     * the connection: INVOKE, OK), {@code READ} (a shared holder read the counter, detail
     * {@code value=N}). A {@code GRANTED} push is recorded as {@code LOCK OK} with detail
     * {@code GRANTED ...}, so everything that counts grants counts it; a grant's mode is in its
     * detail ({@code mode=shared}; no mode is exclusive), a request's options and id in its
     * {@code LOCK INVOKE}'s ({@code id=N mode=shared wait timeout=T}).
     *
     * <p>Sessions across a dropped connection add: {@code grace=G} (ms granted, above 0) in a
     * CONNECT OK's detail, and {@code RESUME} (INVOKE {@code node=N}; OK
     * {@code node=N locks=L:T[:s],... queued=A,...}, the session's locks with their tokens, {@code :s}
     * for shared, and its queue places, as the resume's answer lists them; FAIL {@code code=C}; INFO
     * when unanswered). The session of a process continues across its connections until a
     * RESUME FAIL, a CLOSE or a new CONNECT.
     *
     * <p>Seeing and taking over locks (protocol version 2, issue 14) add: {@code steal} in a LOCK
     * INVOKE's detail (and {@code steal} in its OK's), {@code reason=stolen by=NAME} in a LOST's;
     * {@code WATCH} (an observer's watch: INVOKE, then one OK per lock with its state), {@code CHANGED}
     * (the push, OK, one per lock and push) and {@code QUERY} (INVOKE per lock, OK per lock with its
     * state; {@code final} in the detail of the query an observer makes after the workload). A
     * state is written {@code wall=W holders=NAME:MODE:SINCE,... queue=NAME:MODE:SINCE,...}, mode
     * {@code x} or {@code s}, {@code since} and {@code W} (the wall clock when the frame arrived) in
     * ms since the epoch, so that a checker can place {@code since} (Redis's clock, the same
     * machine's) on the history's clock.
     */
    public enum Op { CONNECT, LOCK, UNLOCK, RETRY, LOST, DISCONNECT, WRITE, INCREMENT, FAULT, HEAL,
        QUEUED, CANCEL, CANCELLED, CLOSE, READ, RESUME, WATCH, CHANGED, QUERY }

    /** {@code process} is the simulated browser's number, -1 for the test itself (faults, heals). */
    public record Event(long nanos, int process, Kind kind, Op op, String lock, long token, String detail) {
        public double millis() {
            return nanos / 1e6;
        }

        @Override
        public String toString() {
            return String.format("%.3f ms p%d %s %s %s token=%d %s", millis(), process, op, kind,
                    lock == null ? "-" : lock, token, detail == null ? "" : detail);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final long origin = System.nanoTime();
    private final List<Event> events = new ArrayList<>();

    public synchronized void record(int process, Kind kind, Op op, String lock, long token, String detail) {
        events.add(new Event(nanosNow(), process, kind, op, lock, token, detail));
    }

    /**
     * Records an event whose detail starts with {@code wall=W}: the wall clock (ms since the epoch)
     * read together with the event's time, under the same lock, so that times of other clocks on
     * this machine (Redis's) can be placed on the history's. {@code detail} follows it.
     */
    public synchronized void recordWithWall(int process, Kind kind, Op op, String lock, long token, String detail) {
        long nanos = nanosNow();
        long wall = System.currentTimeMillis();
        events.add(new Event(nanos, process, kind, op, lock, token, "wall=" + wall + (detail == null ? "" : " " + detail)));
    }

    public void fault(String description) {
        record(-1, Kind.INFO, Op.FAULT, null, 0, description);
    }

    public void heal(String description) {
        record(-1, Kind.INFO, Op.HEAL, null, 0, description);
    }

    /** A snapshot, in recording order. */
    public synchronized List<Event> events() {
        return List.copyOf(events);
    }

    /** How many events have this op and kind, for progress lines and test assertions. */
    public synchronized long count(Op op, Kind kind) {
        return events.stream().filter(e -> e.op() == op && e.kind() == kind).count();
    }

    public long nanosNow() {
        return System.nanoTime() - origin;
    }

    /** One JSON object per line, in recording order. */
    public void save(Path file) {
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (Event e : events()) {
                out.write(JSON.writeValueAsString(e));
                out.newLine();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save the history to " + file, e);
        }
    }

    public static History load(Path file) {
        History history = new History();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    history.events.add(JSON.readValue(line, Event.class));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load a history from " + file, e);
        }
        return history;
    }
}
