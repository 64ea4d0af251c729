package io.distlock.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Reads a server node's {@code /metrics} (Prometheus text, as the runnable server serves
 * it) for its process CPU time and its heap in use, since the bench cannot see into the
 * server's JVM. With the node's pid (a server on this machine), {@link #gc} asks that JVM for
 * a full collection first ({@code jcmd <pid> GC.run}), so that the heap read is what is live.
 */
final class ServerProbe {

    /** One reading of one node; NaN where the node did not say. */
    record Reading(double cpuSeconds, double heapBytes) { }

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private final List<URI> metrics = new ArrayList<>();

    ServerProbe(List<URI> webSocketUrls) {
        for (URI ws : webSocketUrls) {
            String scheme = "wss".equalsIgnoreCase(ws.getScheme()) ? "https" : "http";
            metrics.add(URI.create(scheme + "://" + ws.getRawAuthority() + "/metrics"));
        }
    }

    int nodes() {
        return metrics.size();
    }

    /** One reading per node, in URL order; a node without {@code /metrics} reads NaN. */
    List<Reading> read() {
        List<Reading> readings = new ArrayList<>();
        for (URI uri : metrics) {
            readings.add(read(uri));
        }
        return readings;
    }

    private static Reading read(URI uri) {
        try {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                return new Reading(Double.NaN, Double.NaN);
            }
            return parse(response.body());
        } catch (IOException e) {
            return new Reading(Double.NaN, Double.NaN);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Reading(Double.NaN, Double.NaN);
        }
    }

    /** {@code process_cpu_time_*} and the sum of {@code jvm_memory_used_bytes{area="heap",...}}. */
    static Reading parse(String text) {
        double cpu = Double.NaN;
        double heap = Double.NaN;
        for (String line : text.split("\n")) {
            if (line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("process_cpu_time")) {
                double v = value(line);
                int end = line.indexOf('{') >= 0 ? line.indexOf('{') : line.indexOf(' ');
                String name = line.substring(0, end < 0 ? line.length() : end);
                cpu = name.contains("_ns") ? v / 1e9 : name.contains("_ms") ? v / 1e3 : v;
            } else if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                heap = (Double.isNaN(heap) ? 0 : heap) + value(line);
            }
        }
        return new Reading(cpu, heap);
    }

    /** The sample value of {@code name{labels} value [timestamp]}; label values may hold spaces. */
    private static double value(String line) {
        int close = line.lastIndexOf('}');
        String rest = (close >= 0 ? line.substring(close + 1) : line.substring(line.indexOf(' '))).trim();
        int space = rest.indexOf(' ');
        return Double.parseDouble(space < 0 ? rest : rest.substring(0, space));
    }

    /** {@code jcmd <pid> GC.run}: a full collection in that JVM; false if it could not be done. */
    static boolean gc(long pid) {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        String command = Files.isExecutable(jcmd) ? jcmd.toString() : "jcmd";
        try {
            Process p = new ProcessBuilder(command, Long.toString(pid), "GC.run").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
