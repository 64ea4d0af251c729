package io.distlock.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.regex.Pattern;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

import org.glassfish.grizzly.http.Method;
import org.glassfish.grizzly.http.server.HttpHandler;
import org.glassfish.grizzly.http.server.Request;
import org.glassfish.grizzly.http.server.Response;
import org.glassfish.grizzly.http.util.Header;
import org.glassfish.grizzly.http.util.HttpStatus;

/**
 * Serves the files of one classpath folder at one URL prefix: the JavaScript client from its
 * webjar at {@code /distlock/}, the demo page's script and style sheet at {@code /demo/}.
 *
 * <p>Each file is read once, on its first request, and kept in memory with a gzipped copy
 * (only the files that exist are kept, so the memory is bounded by the folder). A response is
 * gzipped when the request accepts {@code gzip} and that is smaller; it carries a strong
 * {@code ETag} (a hash of the bytes, another one for the gzipped copy, since they are different
 * representations), {@code Vary: Accept-Encoding} and {@code Cache-Control: no-cache}: the URLs
 * are not versioned, so browsers keep the file but ask every time, and a matching
 * {@code If-None-Match} gets {@code 304 Not Modified} with no body.
 *
 * <p>Only plain names ({@code distlock.js}, not {@code a/b} or {@code %2e%2e}) are looked up:
 * anything else is a 404, so no request reaches outside the folder. GET and HEAD only.
 * Thread-safe.
 */
final class ClasspathFiles extends HttpHandler {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Map<String, String> TYPES = Map.of(
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "map", "application/json; charset=utf-8",
            "ts", "text/plain; charset=utf-8",
            "html", "text/html; charset=utf-8");

    private final ClassLoader loader;
    private final String folder;
    private final String prefix;
    private final ConcurrentMap<String, File> files = new ConcurrentHashMap<>();

    /**
     * @param folder the classpath folder, like {@code /META-INF/resources/distlock/}
     * @param prefix the URL path it is served at, like {@code /distlock/}
     */
    ClasspathFiles(ClassLoader loader, String folder, String prefix) {
        if (!folder.startsWith("/") || !folder.endsWith("/")) {
            throw new IllegalArgumentException("folder must start and end with '/': " + folder);
        }
        if (!prefix.startsWith("/") || !prefix.endsWith("/")) {
            throw new IllegalArgumentException("prefix must start and end with '/': " + prefix);
        }
        this.loader = loader;
        this.folder = folder.substring(1); // ClassLoader names have no leading slash
        this.prefix = prefix;
    }

    @Override
    public void service(Request request, Response response) throws IOException {
        Method method = request.getMethod();
        String uri = request.getRequestURI();
        String name = uri.startsWith(prefix) ? uri.substring(prefix.length()) : "";
        File file = NAME.matcher(name).matches() ? file(name) : null;
        if (file == null) {
            response.sendError(404);
            return;
        }
        if (!Method.GET.equals(method) && !Method.HEAD.equals(method)) {
            response.setHeader(Header.Allow, "GET, HEAD");
            response.sendError(HttpStatus.METHOD_NOT_ALLOWED_405.getStatusCode());
            return;
        }
        boolean gzip = file.gzipped != null && acceptsGzip(request.getHeader(Header.AcceptEncoding));
        String etag = gzip ? file.gzipEtag : file.etag;
        response.setHeader(Header.ETag, etag);
        response.setHeader(Header.Vary, "Accept-Encoding");
        response.setHeader(Header.CacheControl, "no-cache");
        response.setHeader("X-Content-Type-Options", "nosniff");
        if (file.type.startsWith("text/html")) {
            Html.denyFraming(response);
        }
        if (matches(request.getHeader(Header.IfNoneMatch), etag)) {
            response.setStatus(HttpStatus.NOT_MODIFIED_304);
            return;
        }
        byte[] body = gzip ? file.gzipped : file.bytes;
        response.setStatus(200);
        response.setContentType(file.type);
        if (gzip) {
            response.setHeader(Header.ContentEncoding, "gzip");
        }
        response.setContentLength(body.length);
        if (Method.GET.equals(method)) {
            response.getOutputStream().write(body);
        }
    }

    /** The file, read on first use; null if the folder has none of that name. */
    private File file(String name) {
        File file = files.get(name);
        if (file != null) {
            return file;
        }
        try (InputStream in = loader.getResourceAsStream(folder + name)) {
            if (in == null) {
                return null; // not remembered: the names asked for are the client's to choose
            }
            return files.computeIfAbsent(name, ignored -> File.of(name, readAll(in)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + folder + name + " from the classpath", e);
        }
    }

    private static byte[] readAll(InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Whether an {@code Accept-Encoding} value accepts gzip: {@code gzip} (or {@code x-gzip}, or
     * {@code *} when gzip is not named) with a quality above 0.
     */
    static boolean acceptsGzip(String acceptEncoding) {
        if (acceptEncoding == null) {
            return false;
        }
        Boolean star = null;
        for (String part : acceptEncoding.split(",")) {
            String[] fields = part.split(";", -1); // ";" alone: two empty fields, not none
            String coding = fields[0].trim().toLowerCase(Locale.ROOT);
            boolean accepted = quality(fields) > 0;
            if (coding.equals("gzip") || coding.equals("x-gzip")) {
                return accepted;
            }
            if (coding.equals("*")) {
                star = accepted;
            }
        }
        return Boolean.TRUE.equals(star);
    }

    private static double quality(String[] fields) {
        for (int i = 1; i < fields.length; i++) {
            String parameter = fields[i].trim();
            if (parameter.regionMatches(true, 0, "q=", 0, 2)) {
                try {
                    return Double.parseDouble(parameter.substring(2).trim());
                } catch (NumberFormatException e) {
                    return 0; // a quality we cannot read accepts nothing
                }
            }
        }
        return 1;
    }

    /** Whether an {@code If-None-Match} value names {@code etag} (weak comparison, as RFC 9110 asks for it) or is {@code *}. */
    static boolean matches(String ifNoneMatch, String etag) {
        if (ifNoneMatch == null) {
            return false;
        }
        for (String candidate : ifNoneMatch.split(",")) {
            String tag = candidate.trim();
            if (tag.equals("*")) {
                return true;
            }
            if (tag.startsWith("W/")) {
                tag = tag.substring(2);
            }
            if (tag.equals(etag)) {
                return true;
            }
        }
        return false;
    }

    /** A file's bytes, its gzipped copy (null when that is not smaller), their ETags and its content type. */
    private record File(byte[] bytes, String etag, byte[] gzipped, String gzipEtag, String type) {

        static File of(String name, byte[] bytes) {
            String hash = hash(bytes);
            byte[] gzipped = gzip(bytes);
            int dot = name.lastIndexOf('.');
            String type = TYPES.getOrDefault(dot < 0 ? "" : name.substring(dot + 1), "application/octet-stream");
            return new File(bytes, '"' + hash + '"', gzipped.length < bytes.length ? gzipped : null,
                    '"' + hash + "-gzip\"", type);
        }

        private static String hash(byte[] bytes) {
            try {
                byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
                return Base64.getUrlEncoder().withoutPadding().encodeToString(digest).substring(0, 22);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("every JVM has SHA-256", e);
            }
        }

        private static byte[] gzip(byte[] bytes) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length / 3 + 64);
            try (GZIPOutputStream gzip = new GZIPOutputStream(out) {
                {
                    def.setLevel(Deflater.BEST_COMPRESSION); // once per file: the smallest copy is worth it
                }
            }) {
                gzip.write(bytes);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // never: the stream is in memory
            }
            return out.toByteArray();
        }
    }
}
