package io.distlock.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.distlock.testing.Await;

/** GETs from a test server with a deadline, and one series of its {@code /metrics}. */
final class Http {

    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private Http() { }

    static HttpResponse<String> get(URI uri) {
        try {
            return CLIENT.send(HttpRequest.newBuilder(uri).timeout(Await.seconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /**
     * The value of one series in the server's {@code /metrics}, {@code series} as it appears
     * there ({@code distlock_server_http_timeouts_total}, or with its labels); fails if absent.
     */
    static double metric(URI server, String series) {
        String body = get(server.resolve("/metrics")).body();
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(body);
        if (!m.find()) {
            throw new AssertionError("no " + series + " in /metrics:\n" + body);
        }
        return Double.parseDouble(m.group(1));
    }
}
