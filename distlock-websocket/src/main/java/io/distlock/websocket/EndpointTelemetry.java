package io.distlock.websocket;

import java.util.List;
import java.util.function.Consumer;

/**
 * What the endpoint counts, for {@link EndpointMetrics}. The default counts nothing, so the
 * endpoint runs without Micrometer on the class path.
 */
interface EndpointTelemetry {

    EndpointTelemetry NONE = new EndpointTelemetry() { };

    /**
     * A request was answered {@code status} (never a push status) {@code nanos} after its frame
     * arrived. {@code action} is the protocol's action, {@code unknown} for an action the
     * session's protocol version does not have, or {@code invalid}
     * for a frame without a readable action.
     */
    default void answered(String action, Status status, long nanos) { }

    /** A request was answered {@code FAIL} with {@code code}, besides {@link #answered}. */
    default void failed(FailCode code) { }

    /**
     * A push ({@code RETRY}, {@code LOST}, {@code GRANTED}, {@code CANCELLED}, {@code ASKED},
     * {@code CHANGED}) was handed to the container to send; not one superseded or dropped before.
     */
    default void pushed(Status status) { }

    /**
     * A handshake was refused: {@code origin} (HTTP 403), {@code host} (403, not one of
     * {@link EndpointOptions#allowedHosts()}), {@code authentication} (403),
     * {@code capacity} (503, {@link EndpointOptions#maxConnections()} reached) or {@code address}
     * (429, {@link EndpointOptions#maxConnectionsPerAddress()} reached).
     */
    default void refused(String reason) { }

    /**
     * Tells each of {@code all} (one binder bound to several registries moves every one's meters).
     * A meter that throws (an application's registry may) is logged to {@code threw} and stops
     * nothing: counting runs inside replies and sends, which must go on.
     */
    static EndpointTelemetry all(List<EndpointTelemetry> all, RepeatedWarning threw) {
        return new EndpointTelemetry() {
            private void each(Consumer<EndpointTelemetry> count) {
                for (EndpointTelemetry t : all) {
                    try {
                        count.accept(t);
                    } catch (RuntimeException | Error e) { // an Error too: it would leave the reply unsent
                        threw.happened(e);
                    }
                }
            }

            @Override
            public void answered(String action, Status status, long nanos) {
                each(t -> t.answered(action, status, nanos));
            }

            @Override
            public void failed(FailCode code) {
                each(t -> t.failed(code));
            }

            @Override
            public void pushed(Status status) {
                each(t -> t.pushed(status));
            }

            @Override
            public void refused(String reason) {
                each(t -> t.refused(reason));
            }
        };
    }
}
