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

/** Which request a GRANTED names, and that nothing is kept for requests that did not queue. */
class QueuingRequestsTest {

    private final QueuingRequests requests = new QueuingRequests();

    private static JsonNode id(int i) {
        return IntNode.valueOf(i);
    }

    @Test
    void aGrantNamesTheRequestThatQueuedOnce() {
        QueuingRequests.Ticket t = requests.asking("a", TextNode.valueOf("q1"));
        requests.answered("a", t, true);
        assertThat(requests.take("a").asText()).isEqualTo("q1");
        assertThat(requests.take("a")).as("taken once").isNull();
        assertThat(requests.size()).isZero();
    }

    @Test
    void aRequestWithoutIdIsNamedByNothing() {
        requests.answered("a", requests.asking("a", id(1)), true);
        requests.answered("a", requests.asking("a", null), true);
        assertThat(requests.take("a")).isNull();
    }

    @Test
    void theLatestRequestThatQueuedIsNamed() {
        requests.answered("a", requests.asking("a", id(1)), true);
        requests.answered("a", requests.asking("a", id(2)), true);
        assertThat(requests.take("a")).isEqualTo(id(2));
    }

    @Test
    void aGrantBeforeTheReplyIsNamedByThatRequest() {
        QueuingRequests.Ticket t = requests.asking("a", id(1));
        assertThat(requests.take("a")).isEqualTo(id(1));
        requests.answered("a", t, false); // then answered: LOCKED, say
        assertThat(requests.size()).isZero();
    }

    @Test
    void aRequestThatDidNotQueueLeavesNothingBehind() {
        for (int i = 0; i < 100; i++) {
            requests.answered("lock-" + i, requests.asking("lock-" + i, id(i)), false); // LOCKED at once
        }
        assertThat(requests.size()).isZero();
    }

    @Test
    void aRequestThatDidNotQueueGivesThePlaceBackToTheOneItReplaced() {
        requests.answered("a", requests.asking("a", id(1)), true);
        QueuingRequests.Ticket second = requests.asking("a", id(2));
        requests.answered("a", second, false); // refused, or failed
        assertThat(requests.take("a")).isEqualTo(id(1));
    }

    @Test
    void requestsAnsweredOutOfTurnKeepTheLatestThatQueued() {
        requests.answered("a", requests.asking("a", id(1)), true);
        QueuingRequests.Ticket second = requests.asking("a", id(2));
        QueuingRequests.Ticket third = requests.asking("a", id(3));
        requests.answered("a", second, false); // the middle one did not queue: out of the chain
        requests.answered("a", third, false); // nor did the last: back to the first
        assertThat(requests.take("a")).isEqualTo(id(1));

        requests.answered("b", requests.asking("b", id(1)), true);
        QueuingRequests.Ticket b2 = requests.asking("b", id(2));
        QueuingRequests.Ticket b3 = requests.asking("b", id(3));
        requests.answered("b", b3, false);
        requests.answered("b", b2, true);
        assertThat(requests.take("b")).isEqualTo(id(2));
    }

    /**
     * Found by review (2026-12-05): a {@code cancel} answered while a later {@code lock} with
     * {@code wait} was out took that request's id, and its GRANTED then named no request.
     */
    @Test
    void aPlaceThatEndsForgetsTheRequestThatQueuedNotOneStillOut() {
        QueuingRequests requests = new QueuingRequests();
        requests.answered("a", requests.asking("a", IntNode.valueOf(1)), true); // QUEUED
        QueuingRequests.Ticket third = requests.asking("a", IntNode.valueOf(3)); // sent after the cancel (2)
        assertThat(requests.placeEnded("a")).as("the cancel's OK ends request 1's place, not 3's").isEqualTo(IntNode.valueOf(1));
        requests.answered("a", third, true); // request 3 queues anew
        assertThat(requests.take("a")).isEqualTo(IntNode.valueOf(3));

        requests.answered("a", requests.asking("a", IntNode.valueOf(4)), true);
        assertThat(requests.placeEnded("a")).as("CANCELLED (a timeout) names request 4").isEqualTo(IntNode.valueOf(4));
        assertThat(requests.size()).isZero();
        QueuingRequests.Ticket fifth = requests.asking("a", IntNode.valueOf(5));
        assertThat(requests.placeEnded("a")).as("nothing queued: the request out stays, unnamed").isNull();
        requests.answered("a", fifth, false); // LOCKED: nothing is left
        assertThat(requests.size()).isZero();
    }

    /**
     * A place that ends while a later request for it is out (a timeout's {@code CANCELLED}, decided
     * before that request was answered) names the request that queued: the later one queues anew,
     * and its {@code QUEUED}, which can reach the client first, must not seem to end with it.
     */
    @Test
    void aPlaceThatEndsWhileALaterRequestIsOutNamesTheRequestThatQueued() {
        requests.answered("a", requests.asking("a", id(1)), true);
        QueuingRequests.Ticket second = requests.asking("a", id(2));
        QueuingRequests.Ticket third = requests.asking("a", id(3));
        assertThat(requests.placeEnded("a")).isEqualTo(id(1));
        requests.answered("a", second, true);
        requests.answered("a", third, true);
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
        requests.answered("a", requests.asking("a", id(1)), true);
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

    @Test
    void namesAreKeptApart() {
        requests.answered("a", requests.asking("a", id(1)), true);
        requests.answered("b", requests.asking("b", id(2)), true);
        assertThat(requests.take("b")).isEqualTo(id(2));
        assertThat(requests.take("a")).isEqualTo(id(1));
    }

    @Test
    void aResumedSessionTakesOverWhatItsEarlierConnectionRemembered() {
        QueuingRequests earlier = new QueuingRequests();
        earlier.answered("a", earlier.asking("a", id(1)), true);
        earlier.answered("b", earlier.asking("b", id(2)), true);
        requests.answered("b", requests.asking("b", id(3)), true); // asked again on the new connection: that one counts
        requests.takeOver(earlier);
        assertThat(requests.take("a")).isEqualTo(id(1));
        assertThat(requests.take("b")).isEqualTo(id(3));
    }
}
