package io.distlock.core;

import java.util.Optional;

/** The rules for session and lock names (and prefixes of lock names): length in characters, no control characters. */
final class Names {

    private Names() { }

    /** What is wrong with {@code name} ({@code what}: "lock name", "prefix"...), or empty if it is acceptable. */
    static Optional<String> problem(String what, String name, int maxLength) {
        if (name == null || name.isEmpty()) {
            return Optional.of(what + " is empty");
        }
        int length = name.codePointCount(0, name.length());
        if (length > maxLength) {
            return Optional.of(what + " is longer than " + maxLength + " characters");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (Character.isISOControl(c)) {
                return Optional.of(what + " contains a control character");
            }
            if (Character.isSurrogate(c)) {
                boolean paired = Character.isHighSurrogate(c) && i + 1 < name.length()
                        && Character.isLowSurrogate(name.charAt(i + 1));
                if (!paired) {
                    return Optional.of(what + " contains an unpaired surrogate");
                }
                i++;
            }
        }
        return Optional.empty();
    }
}
