package io.distlock.spring.boot;

import io.distlock.websocket.EndpointOptions;

/**
 * Changes the endpoint's options the starter builds, after the {@code distlock.*} properties,
 * the request's principal and the application's {@code Authenticator} and {@code Authorizer}
 * beans are applied: the way to set an option that has no property ({@code maxFrameBytes},
 * {@code maxWatchedLocks}, {@code askInterval}...) without losing those. Every such bean is
 * applied, in {@link org.springframework.core.annotation.Order} order.
 *
 * <pre>{@code
 * @Bean
 * DistLockEndpointOptionsCustomizer smallFrames() {
 *     return options -> options.maxFrameBytes(4096);
 * }
 * }</pre>
 */
@FunctionalInterface
public interface DistLockEndpointOptionsCustomizer {

    void customize(EndpointOptions.Builder options);
}
