package io.distlock.websocket;

import java.util.Collection;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A request's place in its connection's reply order ({@link Outbound.Slot}), and what the
 * meters need to know of it. Completed once, from whichever thread has the reply.
 */
final class ReplySlot {
    private final Node node;
    private final Outbound.Slot slot;
    private final long arrivedNanos;
    /** The action's meter tag: the protocol's name, {@code unknown}, or {@code invalid} until one is read. */
    volatile String action = "invalid";
    private static final AtomicReferenceFieldUpdater<ReplySlot, Runnable> WHEN_ANSWERED =
            AtomicReferenceFieldUpdater.newUpdater(ReplySlot.class, Runnable.class, "whenAnswered");
    /** Run once the reply is given; null for none. Set before the request is served. */
    private volatile Runnable whenAnswered;

    ReplySlot(Node node, Outbound.Slot slot, long arrivedNanos) {
        this.node = node;
        this.slot = slot;
        this.arrivedNanos = arrivedNanos;
    }

    /** Gives the reply for this place. */
    void answer(ObjectNode reply) {
        answer(reply, Frames.write(reply));
    }

    /** Gives the reply for this place, already written as {@code frame}. */
    void answer(ObjectNode reply, String frame) {
        EndpointTelemetry telemetry = node.telemetry();
        if (telemetry != EndpointTelemetry.NONE) {
            Status status = Replies.status(reply);
            telemetry.answered(action, status, node.nanos() - arrivedNanos);
            if (status == Status.FAIL) {
                telemetry.failed(Replies.code(reply));
            }
        }
        slot.complete(frame);
        Runnable then = WHEN_ANSWERED.getAndSet(this, null); // once, if answered twice
        if (then != null) {
            then.run();
        }
    }

    /** The request is served now; its reply may speak of {@code locks}, null for every lock ({@link Request#locksNamed}). */
    void concerns(Collection<String> locks) {
        slot.concerns(locks);
    }

    /** The request was handed to the lock service ({@link Outbound.Slot#served}). */
    void served() {
        slot.served();
    }

    /** Runs {@code then} once the reply is given (set before serving the request). */
    void whenAnswered(Runnable then) {
        whenAnswered = then;
    }
}
