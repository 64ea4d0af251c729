package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/** The fenced store's rules, against a real Redis: lower tokens refused, equal and higher accepted. */
class FencedDocsTest {

    private static RedisProcess redis;
    private static RedissonClient redisson;
    private static int prefixes;
    private FencedDocs docs;

    @BeforeAll
    static void startRedis() {
        redis = RedisProcess.start();
        Config config = new Config();
        config.useSingleServer().setAddress(redis.url());
        redisson = Redisson.create(config);
    }

    @AfterAll
    static void stopRedis() {
        if (redisson != null) {
            redisson.shutdown();
        }
        if (redis != null) {
            redis.close();
        }
    }

    @BeforeEach
    void freshStore() {
        docs = new FencedDocs(redisson, "fenced-test-" + prefixes++); // a key prefix of its own: an empty store
    }

    @Test
    void everyDocumentIsListedEmptyBeforeItsFirstSave() {
        assertThat(docs.list()).extracting(FencedDocs.Doc::id).containsExactlyElementsOf(FencedDocs.DOCUMENTS.keySet());
        assertThat(docs.list()).allSatisfy(doc -> {
            assertThat(doc.text()).isEmpty();
            assertThat(doc.token()).isZero();
            assertThat(doc.title()).isNotBlank();
        });
    }

    @Test
    void aSaveWithALowerTokenThanTheHighestAcceptedIsRefusedAndChangesNothing() {
        long token = 1_764_144_000_000_123L; // as large as the server's tokens: exact, not rounded by Lua
        assertThat(docs.save("doc-42", token, "by Bob", "Bob").accepted()).isTrue();

        FencedDocs.Saved stale = docs.save("doc-42", token - 1, "late write by Alice", "Alice");

        assertThat(stale.accepted()).isFalse();
        assertThat(stale.doc()).isEqualTo(new FencedDocs.Doc("doc-42", "Quarterly report", "by Bob", token, "Bob"));
        assertThat(docs.list()).filteredOn(doc -> doc.id().equals("doc-42")).singleElement()
                .isEqualTo(new FencedDocs.Doc("doc-42", "Quarterly report", "by Bob", token, "Bob"));
    }

    @Test
    void equalAndHigherTokensAreAccepted() {
        assertThat(docs.save("doc-7", 100, "one", "Ada").accepted()).isTrue();
        assertThat(docs.save("doc-7", 100, "two", "Ada").accepted()).as("the same holder saves again").isTrue();
        FencedDocs.Saved higher = docs.save("doc-7", 250, "three", "Bob");
        assertThat(higher.accepted()).isTrue();
        assertThat(higher.doc()).isEqualTo(new FencedDocs.Doc("doc-7", "Roadmap", "three", 250, "Bob"));
        assertThat(docs.save("doc-7", 249, "four", "Ada").accepted()).isFalse();
    }

    @Test
    void announcingATokenWithoutTextKeepsTheTextAndFencesOlderTokens() {
        docs.save("doc-12", 10, "draft", "Ada");
        FencedDocs.Saved announced = docs.save("doc-12", 20, null, "Bob");
        assertThat(announced.accepted()).isTrue();
        assertThat(announced.doc().text()).as("the current text, which the new holder edits").isEqualTo("draft");
        assertThat(docs.save("doc-12", 10, "late", "Ada").accepted()).isFalse();
    }

    @Test
    void documentsAreFencedEachOnItsOwn() {
        docs.save("doc-23", 500, "high", "Ada");
        assertThat(docs.save("doc-57", 1, "low, but another document", "Bob").accepted()).isTrue();
    }

    @Test
    void badInputIsRefusedNamingWhatIsWrong() {
        assertThatThrownBy(() -> docs.save("doc-99", 1, "x", "Ada"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no document 'doc-99'").hasMessageContaining("doc-42");
        assertThatThrownBy(() -> docs.save("doc-42", 0, "x", "Ada")).hasMessageContaining("token");
        assertThatThrownBy(() -> docs.save("doc-42", FencedDocs.MAX_TOKEN + 1, "x", "Ada")).hasMessageContaining("token");
        assertThatThrownBy(() -> docs.save("doc-42", 1, "x".repeat(FencedDocs.MAX_TEXT_CHARS + 1), "Ada"))
                .hasMessageContaining("at most " + FencedDocs.MAX_TEXT_CHARS);
        assertThatThrownBy(() -> docs.save("doc-42", 1, "x", "A".repeat(FencedDocs.MAX_BY_CHARS + 1))).hasMessageContaining("by");
        assertThat(docs.save("doc-42", 1, "x".repeat(FencedDocs.MAX_TEXT_CHARS), "Ada").accepted()).as("the limit itself").isTrue();
        // Found by review (2026-12-05): a made-up token far ahead of the Redis clock was accepted, and
        // refused every real holder's save after it, for centuries.
        assertThatThrownBy(() -> docs.save("doc-42", FencedDocs.MAX_TOKEN, "x", "Ada"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("never issued");
        long now = System.currentTimeMillis() * 1000;
        assertThat(docs.save("doc-42", now, "a real holder's", "Bob").accepted()).isTrue();
    }

    /**
     * Found by the logs review (2026-12-07): each list read all six documents, and {@code GET
     * /demo/docs} is open to anyone. A list is reused for {@link FencedDocs#LIST_REUSE}, and a save
     * through the store is seen by the next list.
     */
    @Test
    void aListIsReadOncePerWindowAndShowsTheSavesSinceWithoutReadingAgain() {
        AtomicLong now = new AtomicLong();
        FencedDocs timed = new FencedDocs(redisson, "fenced-test-" + prefixes++, now::get);
        long before = hgetalls();
        List<FencedDocs.Doc> first = timed.list();
        now.addAndGet(FencedDocs.LIST_REUSE.toNanos() - 1);
        for (int i = 0; i < 10; i++) {
            assertThat(timed.list()).isEqualTo(first);
        }
        assertThat(hgetalls() - before).as("one read of each document for eleven lists").isEqualTo(6);

        // A page that saved and then lists sees its save; a save, accepted or refused, costs the list no read
        // (found by review: a refused save made the next list read all six again, a loop of both unbounded).
        timed.save("doc-7", 5, "saved", "Ada");
        assertThat(timed.save("doc-7", 4, "stale", "Bob").accepted()).isFalse();
        assertThat(timed.list()).filteredOn(doc -> doc.id().equals("doc-7")).singleElement()
                .satisfies(doc -> assertThat(doc.text()).isEqualTo("saved"))
                .satisfies(doc -> assertThat(doc.by()).isEqualTo("Ada"));
        assertThat(hgetalls() - before).isEqualTo(6);
        now.addAndGet(1);
        assertThat(timed.list()).as("read again once the window is over").isEqualTo(timed.list());
        assertThat(hgetalls() - before).as("the window is over").isEqualTo(12);
    }

    private static long hgetalls() {
        Matcher m = Pattern.compile("cmdstat_hgetall:calls=(\\d+)").matcher(String.valueOf(redis.command("INFO", "commandstats")));
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    /**
     * Redis refusing the write (here: no replica for min-replicas-to-write) is "did not answer",
     * without Redisson's text, which quotes the command's arguments: the anonymous client's text
     * and name would reach the node's log (review 2026-12-07).
     */
    @Test
    void aWriteRedisRefusesIsUnavailableWithoutQuotingWhatWasSent() {
        redis.command("CONFIG", "SET", "min-replicas-to-write", "1");
        try {
            assertThatThrownBy(() -> docs.save("doc-42", 5, "forged\nline", "\u001b[31mroot"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("Redis did not answer (")
                    .hasMessageNotContaining("forged").hasMessageNotContaining("root").hasMessageNotContaining("NOREPLICAS");
        } finally {
            redis.command("CONFIG", "SET", "min-replicas-to-write", "0");
        }
    }
}
