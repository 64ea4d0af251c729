package io.distlock.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.distlock.core.Ticker;

import org.redisson.api.RFuture;
import org.redisson.api.RScript;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;

/**
 * The demo's document store, <em>fenced</em>: this is how an application uses fencing tokens.
 * Every save carries the token of the lock its writer holds, and the store refuses a save
 * whose token is lower than the highest it has accepted for that document; equal or higher is
 * accepted. A writer whose lock was taken over (or expired) while it was paused still believes
 * it holds the lock, but its late write carries the old token and is refused as soon as the new
 * holder has written once. A holder that starts editing announces its token first (a save
 * without text), so that from then on every older token is refused.
 *
 * <p>A fixed set of documents ({@link #DOCUMENTS}), texts of at most {@link #MAX_TEXT_CHARS}
 * characters. Kept in Redis (one hash per document, under the server's key prefix), because the
 * pages of every node share it: a store per node would refuse nothing across nodes. The check
 * and the write are one Lua script, atomic. Not a database: nothing but this demo uses it.
 * Thread-safe.
 *
 * <p>{@link #list()} reads Redis at most once per {@link #LIST_REUSE}: concurrent calls share one
 * read, later ones reuse it, with the documents saved through this store since as they saved them. {@code GET
 * /demo/docs} is open to anyone, and six reads per request let a keep-alive loop keep Redis,
 * which serves the locks on one thread, busy (review 2026-12-07).
 */
final class FencedDocs {

    /** The documents of the demo: id (also the lock's name) to title. */
    static final Map<String, String> DOCUMENTS = documents(
            "doc-7", "Roadmap",
            "doc-12", "Budget",
            "doc-23", "Release notes",
            "doc-42", "Quarterly report",
            "doc-57", "Hiring plan",
            "doc-64", "Style guide");
    static final int MAX_TEXT_CHARS = 4_000;
    static final int MAX_BY_CHARS = 128;
    /** Fencing tokens are JSON numbers; above this a browser would round them. */
    static final long MAX_TOKEN = (1L << 53) - 1;
    private static final long TIMEOUT_MILLIS = 2_000;
    /** How long after it began a read of every document is given again without reading Redis. */
    static final Duration LIST_REUSE = Duration.ofMillis(100);

    /**
     * KEYS[1] the document's hash; ARGV token, text, has-text ("1" or "0"), by. Tokens are
     * compared as numbers (exact below 2^53) and kept as the strings given, never formatted by
     * Lua (which would print 1.7e+15). Answers {accepted (1/0), highest token, text, by}, or {-1}
     * for a token no lock can have had yet: tokens are the Redis clock in µs (or one more than the
     * last), so one more than a minute ahead of it was made up, and accepted it would refuse every
     * real holder's save from then on.
     */
    private static final String SAVE = """
            local now = redis.call('TIME')
            if tonumber(ARGV[1]) > now[1] * 1000000 + now[2] + 60000000 then
              return {-1}
            end
            local highest = redis.call('HGET', KEYS[1], 'token')
            if highest and tonumber(ARGV[1]) < tonumber(highest) then
              return {0, highest, redis.call('HGET', KEYS[1], 'text') or '', redis.call('HGET', KEYS[1], 'by') or ''}
            end
            redis.call('HSET', KEYS[1], 'token', ARGV[1], 'by', ARGV[4])
            if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'text', ARGV[2]) end
            return {1, ARGV[1], redis.call('HGET', KEYS[1], 'text') or '', ARGV[4]}
            """;

    /** A document as stored: {@code token} 0 and {@code by} empty before its first save. */
    record Doc(String id, String title, String text, long token, String by) { }

    /** What a save came to: accepted (the document now), or refused with the document as it stays. */
    record Saved(boolean accepted, Doc doc) { }

    private final RedissonClient redisson;
    private final String keyPrefix;
    private final Ticker ticker;
    private final Object listing = new Object();
    /** The last read of every document, done or out (null: none, or a save went unanswered), and when it began; guarded by listing. */
    private CompletableFuture<List<Doc>> lastList;
    private long listedAt;

    FencedDocs(RedissonClient redisson, String keyPrefix) {
        this(redisson, keyPrefix, Ticker.system());
    }

    FencedDocs(RedissonClient redisson, String keyPrefix, Ticker ticker) {
        this.redisson = Objects.requireNonNull(redisson, "redisson");
        this.keyPrefix = Objects.requireNonNull(keyPrefix, "keyPrefix");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
    }

    /**
     * Saves {@code text} (null: keeps the text, only raises the highest token) by a holder of
     * {@code token}, named {@code by}, unless a higher token was accepted before.
     *
     * @throws IllegalArgumentException for an unknown document, a token outside 1 to 2^53-1 or
     *                                  ahead of any issued, a text or name too long
     * @throws IllegalStateException    if Redis does not answer in time
     */
    Saved save(String id, long token, String text, String by) {
        checkSave(id, token, text, by);
        String name = by == null ? "" : by;
        RFuture<List<Object>> answer = redisson.getScript(StringCodec.INSTANCE).evalAsync(key(id), RScript.Mode.READ_WRITE,
                SAVE, RScript.ReturnType.LIST, List.of(key(id)), Long.toString(token), text == null ? "" : text,
                text == null ? "0" : "1", name);
        List<Object> result;
        try {
            result = await(answer);
        } catch (RuntimeException e) {
            synchronized (listing) {
                lastList = null; // unanswered, it may have been written: the next list reads again
            }
            throw e;
        }
        if (((Number) result.get(0)).longValue() == -1) {
            throw new IllegalArgumentException("token " + token + " was never issued: a fencing token is at most the Redis clock in µs");
        }
        Doc doc = new Doc(id, DOCUMENTS.get(id), (String) result.get(2), Long.parseLong((String) result.get(1)), (String) result.get(3));
        // The list given again shows the document as the save left it, so a page that saved and then lists on this node
        // sees its save, without a read: a save, which anyone may send, must not make the next list read Redis again.
        synchronized (listing) {
            if (lastList != null) {
                lastList = lastList.thenApply(docs -> docs.stream().map(d -> d.id().equals(id) ? doc : d).toList());
            }
        }
        return new Saved(((Number) result.get(0)).longValue() == 1, doc);
    }

    /**
     * Every document, in {@link #DOCUMENTS} order: the read out now, or the last one if it began
     * less than {@link #LIST_REUSE} ago (with the saves through this store since); else a new one.
     *
     * @throws IllegalStateException if Redis does not answer in time
     */
    List<Doc> list() {
        CompletableFuture<List<Doc>> read;
        synchronized (listing) {
            long now = ticker.read();
            if (lastList == null || lastList.isDone() && now - listedAt >= LIST_REUSE.toNanos()) {
                listedAt = now;
                lastList = readAll();
            }
            read = lastList;
        }
        return await(read);
    }

    private CompletableFuture<List<Doc>> readAll() {
        Map<String, CompletableFuture<Map<String, String>>> reads = new LinkedHashMap<>();
        try {
            for (String id : DOCUMENTS.keySet()) {
                reads.put(id, redisson.<String, String>getMap(key(id), StringCodec.INSTANCE).readAllMapAsync().toCompletableFuture());
            }
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e); // e.g. the client is shutting down
        }
        return CompletableFuture.allOf(reads.values().toArray(CompletableFuture[]::new)).thenApply(v -> {
            List<Doc> docs = new ArrayList<>();
            reads.forEach((id, read) -> {
                Map<String, String> fields = read.join();
                docs.add(new Doc(id, DOCUMENTS.get(id), fields.getOrDefault("text", ""),
                        Long.parseLong(fields.getOrDefault("token", "0")), fields.getOrDefault("by", "")));
            });
            return List.copyOf(docs);
        }).orTimeout(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS); // then the next call reads again
    }

    /**
     * What {@link #save} refuses before it asks Redis: the demo's server checks a save with it
     * before counting it against its {@link SaveThrottle}.
     *
     * @throws IllegalArgumentException for an unknown document, a token outside 1 to 2^53-1, a
     *                                  text or name too long
     */
    static void checkSave(String id, long token, String text, String by) {
        checkId(id);
        if (token < 1 || token > MAX_TOKEN) {
            throw new IllegalArgumentException("token must be a fencing token between 1 and " + MAX_TOKEN + ", was " + token);
        }
        if (text != null && text.length() > MAX_TEXT_CHARS) {
            throw new IllegalArgumentException("text must have at most " + MAX_TEXT_CHARS + " characters, had " + text.length());
        }
        if (by != null && by.length() > MAX_BY_CHARS) {
            throw new IllegalArgumentException("by must have at most " + MAX_BY_CHARS + " characters, had " + by.length());
        }
    }

    /** @throws IllegalArgumentException naming the documents there are */
    static void checkId(String id) {
        if (!DOCUMENTS.containsKey(id)) {
            throw new IllegalArgumentException("no document '" + (id.length() > 40 ? id.substring(0, 40) + "..." : id)
                    + "'; the demo has " + String.join(", ", DOCUMENTS.keySet()));
        }
    }

    private String key(String id) {
        return keyPrefix + ":demo:doc:" + id;
    }

    private static <T> T await(RFuture<T> future) {
        return await(future.toCompletableFuture());
    }

    private static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for Redis", e);
        } catch (ExecutionException | TimeoutException e) {
            // Not Redisson's message: for an error reply it quotes the command's arguments, the
            // anonymous client's text among them (review 2026-12-07: log forging).
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            throw new IllegalStateException("Redis did not answer (" + cause.getClass().getSimpleName() + ")", e);
        }
    }

    private static Map<String, String> documents(String... idsAndTitles) {
        Map<String, String> docs = new LinkedHashMap<>();
        for (int i = 0; i < idsAndTitles.length; i += 2) {
            docs.put(idsAndTitles[i], idsAndTitles[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(docs);
    }
}
