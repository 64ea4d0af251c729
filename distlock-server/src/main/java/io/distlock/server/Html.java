package io.distlock.server;

import org.glassfish.grizzly.http.server.Response;

/** HTML the server sends: escaping for text put into it, and the headers every HTML response carries. */
final class Html {

    private Html() { }

    /**
     * No other site may show this response in a frame (clickjacking: a page of theirs over the
     * board's buttons): {@code frame-ancestors 'none'} for browsers that read a Content Security
     * Policy, {@code X-Frame-Options} for those that do not. The server sends no other policy.
     */
    static void denyFraming(Response response) {
        response.setHeader("X-Frame-Options", "DENY");
        response.setHeader("Content-Security-Policy", "frame-ancestors 'none'");
    }

    /** Escapes {@code & < > " '}; null becomes the empty string. */
    static String escape(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
