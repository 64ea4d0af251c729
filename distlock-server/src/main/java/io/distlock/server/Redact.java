package io.distlock.server;

import java.util.regex.Pattern;

/** Hides passwords in Redis URLs and configuration files before they are printed or logged. */
final class Redact {

    /**
     * SnakeYAML quotes the source line of a parse error under its position, and a caret under
     * that: {@code line 3, column 19:\n    password: s3cr3t: oops\n    ^}. The line may hold a password.
     */
    private static final Pattern YAML_SNIPPET = Pattern.compile("(line \\d+, column \\d+):[ \\t]*\\R[^\\r\\n]*\\R[ \\t]*\\^");

    private Redact() { }

    /** A message about a YAML file without the file's text: positions stay, quoted source lines go. */
    static String yamlMessage(String message) {
        return message == null ? null : YAML_SNIPPET.matcher(message).replaceAll("$1");
    }

    /**
     * {@code redis://user:secret@host:6379} becomes {@code redis://user:***@host:6379}; null stays
     * null. Also without {@code ://} (a scheme forgotten or mistyped, {@code user:secret@host:6379},
     * {@code redis:/:secret@host}): everything before the {@code @} after the first colon goes,
     * since that is the URL an error message quotes (review 2026-12-07: it was printed whole).
     */
    static String url(String url) {
        if (url == null) {
            return null;
        }
        int at = url.lastIndexOf('@');
        if (at < 0) {
            return url;
        }
        int scheme = url.indexOf("://");
        int start = scheme >= 0 && scheme < at ? scheme + 3 : 0;
        String userInfo = url.substring(start, at);
        int colon = userInfo.indexOf(':');
        String user = colon < 0 ? "" : userInfo.substring(0, colon);
        return url.substring(0, start) + user + ":***" + url.substring(at);
    }
}
