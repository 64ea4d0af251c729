package io.distlock.spring.boot;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Says which property to correct when distlock's Redis is configured in a way it cannot use: a
 * configuration error, which {@link RedisUnreachableFailureAnalyzer}'s "could not connect, check
 * that Redis is running" would send the user looking for on the network.
 */
class RedisConfigurationFailureAnalyzer extends AbstractFailureAnalyzer<RedisConfigurationException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, RedisConfigurationException cause) {
        return new FailureAnalysis(
                "distlock (distlock-spring-boot-starter) cannot use the Redis configuration it was given: " + cause.getMessage(),
                cause.action(), cause);
    }
}
