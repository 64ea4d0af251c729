package io.distlock.websocket;

import java.net.URI;
import java.security.Principal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What an {@link Authenticator} sees of a WebSocket handshake request. Unmodifiable.
 *
 * @param headers     the request headers; names are matched case-insensitively
 *                    ({@code headers().get("cookie")} finds {@code Cookie})
 * @param parameters  the query parameters
 * @param queryString the raw query string, or {@code null} if there is none
 * @param requestUri  the request URI as the container reports it
 * @param userPrincipal the user the container (or a security filter in front of it, such as
 *                    Spring Security's) authenticated the HTTP request as, or {@code null}
 */
public record HandshakeInfo(Map<String, List<String>> headers, Map<String, List<String>> parameters,
                            String queryString, URI requestUri, Principal userPrincipal) {

    /** A handshake with no authenticated user. */
    public HandshakeInfo(Map<String, List<String>> headers, Map<String, List<String>> parameters,
                         String queryString, URI requestUri) {
        this(headers, parameters, queryString, requestUri, null);
    }

    public HandshakeInfo {
        headers = Collections.unmodifiableMap(copyInto(new TreeMap<>(String.CASE_INSENSITIVE_ORDER), headers));
        parameters = Collections.unmodifiableMap(copyInto(new LinkedHashMap<>(), parameters));
    }

    /** The first value of a header, or {@code null}. */
    public String header(String name) {
        List<String> values = headers.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    private static Map<String, List<String>> copyInto(Map<String, List<String>> copy, Map<String, List<String>> source) {
        if (source != null) {
            source.forEach((name, values) -> {
                if (name != null) {
                    List<String> all = new ArrayList<>(copy.getOrDefault(name, List.of()));
                    if (values != null) {
                        values.stream().filter(Objects::nonNull).forEach(all::add);
                    }
                    copy.put(name, List.copyOf(all));
                }
            });
        }
        return copy;
    }
}
