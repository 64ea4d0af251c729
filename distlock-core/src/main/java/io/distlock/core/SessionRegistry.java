package io.distlock.core;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import org.redisson.api.RScript.ReturnType;
import org.redisson.api.RedissonClient;
import org.redisson.api.options.OptionalOptions;
import org.redisson.client.codec.StringCodec;

/**
 * The sessions that can be resumed, in Redis: one hash per session, {@code <prefix>:session:<id>},
 * with {@code node} (the owner), {@code gen} (its generation: one more at every adoption),
 * {@code secret} (SHA-256 of the resume secret, hex), {@code name}, {@code info}, {@code grace}
 * (ms), {@code state} ({@code a} attached, {@code d} detached), {@code until} (Redis ms when a
 * detached session's grace ends), {@code locks} and {@code places} (what the session holds and
 * queues for, kept current by the owner's renewal tick) and {@code attempts} (its attempt
 * counter). The record expires after one lease unless its owner refreshes it, so a dead node's
 * records go with its locks' leases.
 *
 * <p>Every script here touches the one record key and nothing else: in a Cluster the record is
 * in its own slot, never in a script with lock keys.
 */
final class SessionRegistry {

    private static final LuaScript PUT = LuaScript.load("session-put");
    private static final LuaScript ADOPT = LuaScript.load("session-adopt");
    private static final LuaScript END = LuaScript.load("session-end");
    private static final LuaScript TOUCH = LuaScript.load("session-touch");
    private static final LuaScript READ = LuaScript.load("session-read");

    /**
     * A record as read for a resume; {@code pendingHash}: the hash of the secret the adoption of this
     * generation spent, while the answer of that resume has not been given (else null).
     */
    record Entry(String node, String gen, byte[] secretHash, byte[] pendingHash) { }

    /**
     * What an adoption took over; {@code timeoutsLeft}: for the places whose request has a
     * timeout, by lock, what is left of it (ms, 0 if it has run out) if the place is still the
     * one listed in {@code places}; {@code lastProof}: where the range of the last adoption's proof
     * started if the record does not list its renamings yet (its write failed), else -1 (see
     * {@code session-adopt.lua}).
     */
    record Adopted(long gen, Map<String, ResumeResult.Held> locks, Map<String, String> places, long attempts,
                   String name, String info, long graceMillis, Map<String, Long> timeoutsLeft, long lastProof) { }

    private final RedissonClient redisson;
    /** One Redis server: what Redisson reads is the primary's. */
    private final boolean singleServer;
    private final Scripts scripts;
    private final String keyPrefix;
    private final String adoptedPrefix;
    private final String nodeId;
    private final String leaseMillis;
    private final Duration commandTimeout;
    private final Ticker ticker;

    SessionRegistry(RedissonClient redisson, LockConfig config, String nodeId) {
        this.redisson = redisson;
        this.singleServer = redisson.getConfig().isSingleConfig();
        this.commandTimeout = RedisLockStore.commandTimeout(config.lease());
        this.scripts = new Scripts(redisson.getScript(OptionalOptions.defaults().codec(StringCodec.INSTANCE)
                .timeout(commandTimeout).retryAttempts(0)), redisson.getConfig().isClusterConfig());
        this.keyPrefix = config.keyPrefix() + ":session:";
        this.adoptedPrefix = config.keyPrefix() + ":adopted:";
        this.nodeId = nodeId;
        this.leaseMillis = Long.toString(config.lease().toMillis());
        this.ticker = config.ticker();
    }

    /** The channel on which this node is told that another node adopted one of its sessions ({@code <id>:<generation>}). */
    String adoptedChannel() {
        return adoptedPrefix + nodeId;
    }

    String key(String sessionId) {
        return keyPrefix + sessionId;
    }

    /**
     * Writes {@code s}'s record as this node's, with what it holds and queues for now; creates it
     * if {@code create}. Answers as {@code session-put.lua}: 1, 0 (another node owns it), 2, -1.
     */
    CompletionStage<Long> put(Session s, boolean detached, boolean create) {
        StringBuilder locks = new StringBuilder();
        s.grants().forEach((lock, grant) -> locks.append(lock).append('\t').append(grant.token()).append('\t')
                .append(grant.mode() == LockMode.SHARED ? 's' : 'x').append('\n'));
        StringBuilder places = new StringBuilder();
        s.places().forEach((lock, place) -> places.append(lock).append('\t').append(place.attemptId()).append('\n'));
        // Apart from places (which nodes that predate it read): ms left, made a Redis-clock deadline by the script.
        StringBuilder deadlines = new StringBuilder();
        long now = ticker.read();
        s.places().forEach((lock, place) -> {
            if (place.deadlineNanos() != 0) {
                long left = Math.max(0, TimeUnit.NANOSECONDS.toMillis(place.deadlineNanos() - now));
                deadlines.append(lock).append('\t').append(place.attemptId()).append('\t').append(left).append('\n');
            }
        });
        byte[] hash = s.secretHash();
        return scripts.eval(PUT, ReturnType.LONG, List.<Object>of(key(s.id())), nodeId, Long.toString(s.gen()), leaseMillis,
                detached ? "d" : "a", Long.toString(s.grace().toMillis()), locks.toString(), places.toString(),
                Long.toString(s.attemptCount()), create ? "1" : "0", hash == null ? "" : HexFormat.of().formatHex(hash),
                s.name(), s.info() == null ? "" : s.info(), deadlines.toString(), s.resumeAnswerOut() ? "0" : "1");
    }

    /**
     * Extends {@code s}'s record by a lease, as this node's, without rewriting it (nothing in it
     * changed since this node last wrote it). Answers as {@link #put}.
     */
    CompletionStage<Long> touch(Session s) {
        return scripts.eval(TOUCH, ReturnType.LONG, List.<Object>of(key(s.id())), nodeId, Long.toString(s.gen()), leaseMillis,
                s.resumeAnswerOut() ? "0" : "1");
    }

    /**
     * The record of a session as Redis's primary has it, or null if there is none. Resume acts
     * on it (a node and generation it goes by, a secret it refuses), so never a replica's, which
     * may be behind (found by review 2026-12-05: under Redisson's default read mode for Sentinel
     * and Cluster, a replica still had the secret the last resume spent, and the live session's
     * new one was refused SESSION_EXPIRED; one that matched an older generation ended it). With
     * one Redis server a plain read is that; otherwise a script, which Redisson sends to the primary.
     */
    CompletionStage<Entry> read(String sessionId) {
        if (singleServer) {
            return redisson.<String, String>getMap(key(sessionId), StringCodec.INSTANCE)
                    .getAllAsync(java.util.Set.of("node", "gen", "secret", "pending"))
                    .thenApply(m -> entry(m.get("node"), m.get("gen"), m.get("secret"), m.get("pending")));
        }
        return scripts.<List<Object>>eval(READ, ReturnType.LIST, List.<Object>of(key(sessionId))).thenApply(r -> r.size() < 4 ? null
                : entry(blankAsNull(r.get(0)), blankAsNull(r.get(1)), blankAsNull(r.get(2)), blankAsNull(r.get(3))));
    }

    private static String blankAsNull(Object field) {
        return field == null || field.toString().isEmpty() ? null : field.toString();
    }

    private static Entry entry(String node, String gen, String secret, String pending) {
        if (node == null || gen == null || secret == null) {
            return null;
        }
        byte[] hash;
        try {
            hash = HexFormat.of().parseHex(secret);
        } catch (IllegalArgumentException e) {
            return null;
        }
        // Of this generation only: one an older node left behind (it knows no 'pending') is long spent.
        String mark = gen + ":";
        byte[] pendingHash = null;
        if (pending != null && pending.startsWith(mark) && pending.length() > mark.length()) {
            try {
                pendingHash = HexFormat.of().parseHex(pending.substring(mark.length()));
            } catch (IllegalArgumentException e) {
                pendingHash = null;
            }
        }
        return new Entry(node, gen, hash, pendingHash);
    }

    /**
     * Takes the session over for this node if its record is still {@code read}; null if it changed or its grace is over.
     * {@code proves}: this node proves what it takes over, renaming the places (another node's
     * session, or a retry of an adoption whose answer never came); not for a resume on the session's own node.
     */
    CompletionStage<Adopted> adopt(String sessionId, Entry read, byte[] newSecretHash, boolean proves) {
        return scripts.<List<Object>>eval(ADOPT, ReturnType.LIST, List.<Object>of(key(sessionId)), read.node(), read.gen(), nodeId,
                leaseMillis, adoptedPrefix, sessionId, HexFormat.of().formatHex(newSecretHash), proves ? "1" : "").thenApply(r -> {
                    if (r.isEmpty() || Long.parseLong(String.valueOf(r.get(0))) != 1L) {
                        return null;
                    }
                    Map<String, String> places = places(String.valueOf(r.get(3)));
                    return new Adopted(Long.parseLong(String.valueOf(r.get(1))), locks(String.valueOf(r.get(2))),
                            places, Long.parseLong(String.valueOf(r.get(4))),
                            String.valueOf(r.get(5)), String.valueOf(r.get(6)), Long.parseLong(String.valueOf(r.get(7))),
                            timeoutsLeft(String.valueOf(r.get(8)), places),
                            r.size() > 9 && !String.valueOf(r.get(9)).isEmpty() ? Long.parseLong(String.valueOf(r.get(9))) : -1);
                });
    }

    /** The end-claim ({@code session-end.lua}): 1 won, 0 another node or generation has it, -1 no record. */
    CompletionStage<Long> claimEnd(String sessionId, long gen) {
        return scripts.eval(END, ReturnType.LONG, List.<Object>of(key(sessionId)), nodeId, Long.toString(gen));
    }

    private static Map<String, ResumeResult.Held> locks(String text) {
        Map<String, ResumeResult.Held> locks = new LinkedHashMap<>();
        for (String line : lines(text)) {
            String[] f = line.split("\t", -1);
            if (f.length == 3) {
                locks.put(f[0], new ResumeResult.Held(Long.parseLong(f[1]), "s".equals(f[2]) ? LockMode.SHARED : LockMode.EXCLUSIVE));
            }
        }
        return locks;
    }

    private static Map<String, String> places(String text) {
        Map<String, String> places = new LinkedHashMap<>();
        for (String line : lines(text)) {
            String[] f = line.split("\t", -1);
            if (f.length == 2) {
                places.put(f[0], f[1]);
            }
        }
        return places;
    }

    /** What is left of each place's timeout, for the places still the ones {@code places} lists (the attempt ids match). */
    private static Map<String, Long> timeoutsLeft(String text, Map<String, String> places) {
        Map<String, Long> left = new LinkedHashMap<>();
        for (String line : lines(text)) {
            String[] f = line.split("\t", -1);
            if (f.length == 3 && f[1].equals(places.get(f[0]))) {
                left.put(f[0], Long.parseLong(f[2]));
            }
        }
        return left;
    }

    /** Lock names cannot contain control characters ({@link Names}), so tabs and newlines separate fields. */
    private static List<String> lines(String text) {
        List<String> lines = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (!line.isEmpty()) {
                lines.add(line);
            }
        }
        return lines;
    }

    static byte[] hash(String secret) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }
}
