package io.distlock.spring.boot;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * Serves the JavaScript client from the distlock-js jar ({@code META-INF/resources/distlock/})
 * at {@code /distlock/<file>}: read once, with an ETag so browsers revalidate cheaply. The ETag
 * is weak ({@code W/"..."}): Tomcat does not compress a response with a strong one (with
 * {@code server.compression.enabled=true} the client went out whole, 150 KB), and a gzipped copy
 * is the same script.
 */
class ClientScriptServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    static final String RESOURCES = "META-INF/resources/distlock/";
    /** Where the files are served, as servlet paths. */
    static final String PREFIX = "/distlock/";
    /** The files of the webjar that are served, and their types. */
    static final Map<String, String> FILES = Map.of(
            "distlock.js", "text/javascript;charset=utf-8",
            "distlock.min.js", "text/javascript;charset=utf-8",
            "distlock.min.js.map", "application/json",
            "distlock.d.ts", "text/plain;charset=utf-8");

    private final transient Map<String, Resource> resources;

    private record Resource(byte[] body, String type, String etag) { }

    private ClientScriptServlet(Map<String, Resource> resources) {
        this.resources = resources;
    }

    /** The servlet for the files present on the class path of {@code loader}, with their URL paths. */
    static ClientScriptServlet load(ClassLoader loader) {
        Map<String, Resource> found = new LinkedHashMap<>();
        for (Map.Entry<String, String> file : FILES.entrySet()) {
            try (InputStream in = loader.getResourceAsStream(RESOURCES + file.getKey())) {
                if (in != null) {
                    byte[] body = in.readAllBytes();
                    found.put(PREFIX + file.getKey(), new Resource(body, file.getValue(), etag(body)));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read " + RESOURCES + file.getKey(), e);
            }
        }
        return new ClientScriptServlet(found);
    }

    List<String> paths() {
        return List.copyOf(resources.keySet());
    }

    /** Whether {@code path} is one this servlet maps when its file is present. */
    static boolean isClientPath(String path) {
        return path.startsWith(PREFIX) && FILES.containsKey(path.substring(PREFIX.length()));
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        Resource resource = resources.get(request.getServletPath());
        if (resource == null) {
            response.sendError(HttpServletResponse.SC_NOT_FOUND);
            return;
        }
        response.setHeader("ETag", resource.etag());
        response.setHeader("Cache-Control", "no-cache");
        response.setHeader("X-Content-Type-Options", "nosniff");
        if (noneMatchMatches(request.getHeaders("If-None-Match"), resource.etag())) {
            response.setStatus(HttpServletResponse.SC_NOT_MODIFIED);
            return;
        }
        response.setContentType(resource.type());
        response.setContentLength(resource.body().length);
        response.getOutputStream().write(resource.body());
    }

    /**
     * Whether an {@code If-None-Match} field (one or more lines) names {@code etag}, by weak
     * comparison as RFC 9110 (13.1.2) wants for it: a {@code W/} prefix does not count. A proxy
     * that gzips (nginx) weakens the ETag to {@code W/"..."}, and the browser sends that back.
     * {@code *} matches, as the file exists.
     */
    private static boolean noneMatchMatches(Enumeration<String> lines, String etag) {
        for (String line : lines == null ? List.<String>of() : Collections.list(lines)) {
            // Split on commas: a tag with a comma in it is never this servlet's (hex).
            for (String tag : line.split(",")) {
                tag = tag.strip();
                if (tag.equals("*") || opaque(tag).equals(opaque(etag))) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String opaque(String tag) {
        return tag.startsWith("W/") ? tag.substring(2) : tag;
    }

    private static String etag(byte[] body) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(body);
            return "W/\"" + HexFormat.of().formatHex(digest, 0, 12) + "\"";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
