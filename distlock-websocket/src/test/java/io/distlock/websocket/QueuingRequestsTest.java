package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.TextNode;

import io.distlock.core.LockResult;
import io.distlock.core.Refusal;
import io.distlock.core.Refused;

/** Which request a GRANTED names, and that nothing is kept for requests that did not queue. */
class QueuingRequestsTest {

    private final QueuingRequests requests = new QueuingRequests();

    private static final LockResult QUEUED = new LockResult.Queued(1, "holder");
    private static final LockResult LOCKED = new LockResult.Locked(7);
    private static final LockResult REFUSED = new Refused(Refusal.TOO_MANY_LOCKS, "too many");

    private static JsonNode id(int i) {
        return IntNode.valueOf(i);
    }

    /** Asks {@code on} to queue for {@code lock} with {@code id}; the test completes the answer. */
    private static CompletableFuture<LockResult> ask(QueuingRequests on, String lock, JsonNode id) {
        CompletableFuture<LockResult> answer = new CompletableFuture<>();
        on.ask(lock, id, () -> answer);
        return answer;
    }

    private CompletableFuture<LockResult> ask(String lock, JsonNode id) {
        return ask(requests, lock, id);
    }

    @Test
    void aGrantNamesTheRequestThatQueuedOnce() {
        ask("a", TextNode.valueOf("q1")).complete(QUEUED);
        assertThat(requests.take("a").asText()).isEqualTo("q1");
        assertThat(requests.take("a")).as("taken once").isNull();
        assertThat(requests.size()).isZero();
    }

    @Test
    void aRequestWithoutIdIsNamedByNothing() {
        ask("a", id(1)).complete(QUEUED);
        ask("a", null).complete(QUEUED);
        assertThat(requests.take("a")).isNull();
    }

    @Test
    void theLatestRequestThatQueuedIsNamed() {
        ask("a", id(1)).complete(QUEUED);
        ask("a", id(2)).complete(QUEUED);
        assertThat(requests.take("a")).isEqualTo(id(2));
    }

    @Test
    void aGrantBeforeTheReplyIsNamedByThatRequest() {
        CompletableFuture<LockResult> t = ask("a", id(1));
        assertThat(requests.take("a")).isEqualTo(id(1));
        t.complete(LOCKED); // then answered
        assertThat(requests.size()).isZero();
    }

    @Test
    void aRequestThatDidNotQueueLeavesNothingBehind() {
        for (int i = 0; i < 100; i++) {
            ask("lock-" + i, id(i)).complete(LOCKED); // LOCKED at once
        }
        assertThat(requests.size()).isZero();
    }

    @Test
    void aRequestThatDidNotQueueGivesThePlaceBackToTheOneItReplaced() {
        ask("a", id(1)).complete(QUEUED);
        CompletableFuture<LockResult> second = ask("a", id(2));
        second.complete(REFUSED); // refused, or failed
        assertThat(requests.take("a")).isEqualTo(id(1));
    }

    @Test
    void requestsAnsweredOutOfTurnKeepTheLatestThatQueued() {
        ask("a", id(1)).complete(QUEUED);
        CompletableFuture<LockResult> second = ask("a", id(2));
        CompletableFuture<LockResult> third = ask("a", id(3));
        second.complete(REFUSED); // the middle one did not queue: out of the chain
        third.complete(REFUSED); // nor did the last: back to the first
        assertThat(requests.take("a")).isEqualTo(id(1));

        ask("b", id(1)).complete(QUEUED);
        CompletableFuture<LockResult> b2 = ask("b", id(2));
        CompletableFuture<LockResult> b3 = ask("b", id(3));
        b3.complete(REFUSED);
        b2.complete(QUEUED);
        assertThat(requests.take("b")).isEqualTo(id(2));
    }

    /**
     * Found by review (2026-12-05): a {@code cancel} answered while a later {@code lock} with
     * {@code wait} was out took that request's id, and its GRANTED then named no request.
     */
    @Test
    void aPlaceThatEndsForgetsTheRequestThatQueuedNotOneStillOut() {
        ask("a", IntNode.valueOf(1)).complete(QUEUED); // QUEUED
        CompletableFuture<LockResult> third = ask("a", IntNode.valueOf(3)); // sent after the cancel (2)
        assertThat(requests.placeEnded("a")).as("the cancel's OK ends request 1's place, not 3's").isEqualTo(IntNode.valueOf(1));
        third.complete(QUEUED); // request 3 queues anew
        assertThat(requests.take("a")).isEqualTo(IntNode.valueOf(3));

        ask("a", IntNode.valueOf(4)).complete(QUEUED);
        assertThat(requests.placeEnded("a")).as("CANCELLED (a timeout) names request 4").isEqualTo(IntNode.valueOf(4));
        assertThat(requests.size()).isZero();
        CompletableFuture<LockResult> fifth = ask("a", IntNode.valueOf(5));
        assertThat(requests.placeEnded("a")).as("nothing queued: the request out stays, unnamed").isNull();
        fifth.complete(LOCKED); // LOCKED: nothing is left
        assertThat(requests.size()).isZero();
    }

    /**
     * A place that ends while a later request for it is out (a timeout's {@code CANCELLED}, decided
     * before that request was answered) names the request that queued: the later one queues anew,
     * and its {@code QUEUED}, which can reach the client first, must not seem to end with it.
     */
    @Test
    void aPlaceThatEndsWhileALaterRequestIsOutNamesTheRequestThatQueued() {
        ask("a", id(1)).complete(QUEUED);
        CompletableFuture<LockResult> second = ask("a", id(2));
        CompletableFuture<LockResult> third = ask("a", id(3));
        assertThat(requests.placeEnded("a")).isEqualTo(id(1));
        second.complete(QUEUED);
        third.complete(QUEUED);
        assertThat(requests.placeEnded("a")).as("then the latest that queued").isEqualTo(id(3));
        assertThat(requests.size()).isZero();
    }

    /**
     * Found by review (2026-12-06): the lock service answers a request asked again while queued
     * (it kept the place) and, on its own thread, ends that place before the asking thread has
     * hooked its note on the answer. The {@code CANCELLED} must name the request that asked again
     * (the client saw its {@code QUEUED} first and ignores a push naming the earlier one): it waits
     * for the hook. A fake answer: what is tested is the order of the notes, not the service.
     */
    @Test
    void aPlaceEndingRightAfterTheAnswerToARequestAskedAgainNamesThatRequest() throws InterruptedException {
        ask("a", id(1)).complete(QUEUED);
        AtomicReference<JsonNode> named = new AtomicReference<>();
        Thread service = new Thread(() -> named.set(requests.placeEnded("a")), "lock-service");
        requests.ask("a", id(2), () -> {
            CompletableFuture<LockResult> answer = CompletableFuture.completedFuture(new LockResult.Queued(1, "holder"));
            service.start(); // the place it kept ends now, before the answer's hook is in place
            await().atMost(Duration.ofSeconds(5)).until(() -> service.getState() == Thread.State.BLOCKED
                    || service.getState() == Thread.State.TERMINATED);
            return answer;
        });
        service.join(5_000);
        assertThat(named.get()).isEqualTo(id(2));
        assertThat(requests.size()).isZero();
    }

    /**
     * Found by review (2026-12-06): a request asked again while queued and answered with its
     * place's grant ({@code LOCKED}: the place is gone) left the note of the request that queued,
     * kept for the connection's life.
     */
    @Test
    void aRequestAskedAgainAndGrantedWithItsPlaceLeavesNothing() {
        ask("a", id(1)).complete(QUEUED);
        ask("a", id(2)).complete(LOCKED);
        assertThat(requests.size()).isZero();

        ask("b", id(3)).complete(QUEUED);
        CompletableFuture<LockResult> granted = ask("b", id(4));
        CompletableFuture<LockResult> later = ask("b", id(5));
        granted.complete(LOCKED); // the place is gone: 3 with it, while 5 is still out
        later.complete(REFUSED);
        assertThat(requests.size()).isZero();
    }

    @Test
    void namesAreKeptApart() {
        ask("a", id(1)).complete(QUEUED);
        ask("b", id(2)).complete(QUEUED);
        assertThat(requests.take("b")).isEqualTo(id(2));
        assertThat(requests.take("a")).isEqualTo(id(1));
    }

    @Test
    void aResumedSessionTakesOverWhatItsEarlierConnectionRemembered() {
        QueuingRequests earlier = new QueuingRequests();
        ask(earlier, "a", id(1)).complete(QUEUED);
        ask(earlier, "b", id(2)).complete(QUEUED);
        ask("b", id(3)).complete(QUEUED); // asked again on the new connection: that one counts
        requests.takeOver(earlier);
        assertThat(requests.take("a")).isEqualTo(id(1));
        assertThat(requests.take("b")).isEqualTo(id(3));
    }

    /**
     * Found by review (2026-12-06): a request of the earlier connection still unanswered when the
     * session moved is refused (it waits behind the resume, on a stale connection), but its note,
     * copied unanswered, stayed the latest here and named a later GRANTED of the place.
     */
    @Test
    void aResumedSessionTakesOverOnlyWhatQueued() {
        QueuingRequests earlier = new QueuingRequests();
        ask(earlier, "a", id(1)).complete(QUEUED);
        CompletableFuture<LockResult> stale = ask(earlier, "a", id(2));
        ask(earlier, "b", id(3)); // never queued
        requests.takeOver(earlier);
        stale.complete(REFUSED);
        assertThat(requests.take("a")).isEqualTo(id(1));
        assertThat(requests.size()).isZero();
    }
}
