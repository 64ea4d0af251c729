package io.distlock.spring.boot;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Says what to set when distlock has no Redis to keep its locks in. */
class DistLockFailureAnalyzer extends AbstractFailureAnalyzer<RedisNotConfiguredException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, RedisNotConfiguredException cause) {
        // An application configured for Spring Data by host and port believes it has configured Redis: say why it has not.
        String springData = cause.springDataHost() == null ? ""
                : " spring.data.redis.host is set, but distlock reads only spring.data.redis.url of Spring Data's properties.";
        return new FailureAnalysis(
                "distlock (distlock-spring-boot-starter) keeps its locks in Redis, and no Redis is configured: "
                        + "the property distlock.redis.url is not set and the application has no RedissonClient bean." + springData,
                "Set distlock.redis.url, for example in application.properties:\n\n"
                        + "    distlock.redis.url=redis://localhost:6379\n\n"
                        + "or define a RedissonClient bean (for Sentinel, Cluster or settings of your own), "
                        + "which distlock then uses.",
                cause);
    }
}
