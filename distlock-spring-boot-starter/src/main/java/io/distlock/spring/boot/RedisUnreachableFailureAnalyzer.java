package io.distlock.spring.boot;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

import io.distlock.core.BackendUnavailableException;

/**
 * Says why the application did not start when distlock could not connect to its Redis: the
 * commonest start failure (Redis not up yet, a wrong host or port, a password Redis refuses, an ACL user without a
 * right distlock needs, a TLS certificate the JVM does not trust), which otherwise ends
 * in a stack trace of some two hundred lines through every bean that needs the lock service.
 * A URL that is not one distlock can use is a configuration error: {@link RedisConfigurationFailureAnalyzer}'s.
 */
class RedisUnreachableFailureAnalyzer extends AbstractFailureAnalyzer<BackendUnavailableException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, BackendUnavailableException cause) {
        // The message never holds the URL itself (it may carry a password), only host and port at most.
        return new FailureAnalysis(
                "distlock (distlock-spring-boot-starter) could not connect to its Redis while starting: " + cause.getMessage(),
                "Check that Redis is running and reachable at distlock.redis.url (or spring.data.redis.url, or the address "
                        + "of the application's RedissonClient bean), and that the URL is redis://host:port or rediss://host:port, "
                        + "with the password Redis wants (redis://:password@host:port, or redis://user:password@host:port for an "
                        + "ACL user, which needs the rights in docs/operations.md; a user name or password percent-encoded, % as %25); for rediss://, that this JVM trusts Redis's "
                        + "certificate (-Djavax.net.ssl.trustStore). "
                        + "The application does not start without its Redis.",
                cause);
    }
}
