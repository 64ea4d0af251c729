package io.distlock.server;

/** Hides passwords in Redis URLs before they are printed or logged. */
final class Redact {

    private Redact() { }

    /** {@code redis://user:secret@host:6379} becomes {@code redis://user:***@host:6379}; null stays null. */
    static String url(String url) {
        if (url == null) {
            return null;
        }
        int scheme = url.indexOf("://");
        int at = url.lastIndexOf('@');
        if (scheme < 0 || at < scheme) {
            return url;
        }
        String userInfo = url.substring(scheme + 3, at);
        int colon = userInfo.indexOf(':');
        String user = colon < 0 ? "" : userInfo.substring(0, colon);
        return url.substring(0, scheme + 3) + user + ":***" + url.substring(at);
    }
}
