package io.distlock.spring.boot;

import java.util.Optional;

import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.env.Environment;

import io.distlock.core.BackendUnavailableException;
import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.core.LockServiceMetrics;
import io.distlock.websocket.Authenticator;
import io.distlock.websocket.Authorizer;
import io.distlock.websocket.DistLockEndpoints;
import io.distlock.websocket.EndpointMetrics;
import io.distlock.websocket.EndpointOptions;
import io.micrometer.core.instrument.binder.MeterBinder;
import jakarta.websocket.server.ServerContainer;

/**
 * distlock on a Spring Boot servlet application: a {@link LockService} on Redis
 * ({@code distlock.redis.url}, or the application's {@link RedissonClient}), the WebSocket
 * endpoint at {@code distlock.path} on the embedded container, a filter that answers refused
 * handshakes with their status, the JavaScript client at {@code /distlock/distlock.js}, a
 * health indicator and meters when the application has Actuator and Micrometer. Every bean
 * backs off when the application defines its own of the same type.
 */
@AutoConfiguration(afterName = "org.redisson.spring.starter.RedissonAutoConfigurationV2")
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnClass({ LockService.class, DistLockEndpoints.class, ServerContainer.class })
@EnableConfigurationProperties(DistLockProperties.class)
public class DistLockAutoConfiguration {

    /**
     * A Redisson client of distlock's own for {@code distlock.redis.url} (or Spring Data's
     * {@code spring.data.redis.url}), shut down with the context. Sized as the runnable
     * server's: Redisson's defaults are for big machines. Not made when the application has a
     * {@link RedissonClient} or a {@link LockService} of its own (which has its Redis).
     */
    @Bean(destroyMethod = "shutdown")
    @ConditionalOnMissingBean({ RedissonClient.class, LockService.class })
    public RedissonClient distlockRedissonClient(DistLockProperties properties, Environment environment) {
        String url = Optional.ofNullable(properties.getRedis().getUrl())
                .or(() -> Optional.ofNullable(environment.getProperty("spring.data.redis.url")))
                .filter(u -> !u.isBlank())
                .orElseThrow(() -> new RedisNotConfiguredException(environment.getProperty("spring.data.redis.host")));
        try {
            return Redisson.create(LockService.redissonConfig(url));
        } catch (RuntimeException e) {
            // Not the URL itself: it may hold a password, and this message reaches the log.
            throw new BackendUnavailableException("Cannot connect to Redis at distlock.redis.url (or spring.data.redis.url): "
                    + e.getMessage(), e);
        }
    }

    @Bean
    @ConditionalOnMissingBean
    public LockConfig distlockLockConfig(DistLockProperties properties) {
        return LockConfig.builder()
                .keyPrefix(properties.getKeyPrefix())
                .lease(properties.getLease())
                .watching(properties.isWatching())
                .build();
    }

    /**
     * Closed with the context, after the endpoint; the Redisson client stays the application's (or the bean above's).
     * With {@code distlock.redis.url} set and a RedissonClient of the application's (which may be on another Redis,
     * a cache's, say), the property wins: the service connects a client of its own there, not a bean (the
     * application's injection points keep their one RedissonClient), shut down when the service closes.
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public LockService distlockLockService(RedissonClient redisson, LockConfig config,
                                           DistLockProperties properties, BeanFactory beans) {
        // The RedissonClient is a parameter even when unused below: the dependency keeps the
        // application's client alive until this service has closed (its sessions' releases).
        String url = properties.getRedis().getUrl();
        if (url != null && !url.isBlank() && !beans.containsBean("distlockRedissonClient")) {
            return LockService.connect(url, config);
        }
        return LockService.create(redisson, config);
    }

    /**
     * The endpoint's options from {@code distlock.*}. The principal of the HTTP request (Spring
     * Security's {@code Authentication}, or whatever the container authenticated) becomes the
     * connection's principal, unless the application has an {@link Authenticator} bean; an
     * {@link Authorizer} bean decides which principal may take which lock.
     */
    @Bean
    @ConditionalOnMissingBean
    public EndpointOptions distlockEndpointOptions(DistLockProperties properties,
                                                   ObjectProvider<Authenticator> authenticator,
                                                   ObjectProvider<Authorizer> authorizer) {
        EndpointOptions.Builder options = EndpointOptions.builder()
                .path(properties.getPath())
                .allowedOrigins(properties.getAllowedOrigins())
                .allowMissingOrigin(properties.isAllowMissingOrigin())
                .hideHolder(properties.isHideHolder())
                .pingInterval(properties.getPingInterval())
                .rateLimit(properties.getRateLimit(), DistLockProperties.burst(properties.getRateLimit()))
                .maxConnections(properties.getMaxConnections())
                .maxConnectionsPerAddress(properties.getMaxConnectionsPerAddress())
                .trustedProxies(properties.getTrustedProxies())
                .authenticator(authenticator.getIfAvailable(DistLockAutoConfiguration::requestPrincipal));
        authorizer.ifAvailable(options::authorizer);
        return options.build();
    }

    /** The request's authenticated user, or none (anonymous connections are accepted). */
    static Authenticator requestPrincipal() {
        Authenticator anonymous = EndpointOptions.defaults().authenticator();
        return handshake -> handshake.userPrincipal() != null
                ? Optional.of(handshake.userPrincipal())
                : anonymous.authenticate(handshake);
    }

    /** Closed by the registrar before the web server stops; again (a no-op) at destroy. */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public DistLockEndpoints distlockEndpoints(LockService service, EndpointOptions options) {
        return DistLockEndpoints.create(service, options);
    }

    @Bean
    @ConditionalOnMissingBean
    public DistLockEndpointRegistrar distlockEndpointRegistrar(DistLockEndpoints endpoint) {
        return new DistLockEndpointRegistrar(endpoint);
    }

    /**
     * Refused handshakes answered with their status (Tomcat alone would answer 500). Late in
     * the filter chain, after Spring Security's, so that the request's principal is known.
     */
    @Bean
    @ConditionalOnMissingBean(name = "distlockHandshakeFilter")
    public FilterRegistrationBean<DistLockHandshakeFilter> distlockHandshakeFilter(DistLockEndpoints endpoint) {
        FilterRegistrationBean<DistLockHandshakeFilter> registration =
                new FilterRegistrationBean<>(new DistLockHandshakeFilter(endpoint), new ServletRegistrationBean<?>[0]);
        registration.addUrlPatterns(endpoint.options().path());
        registration.setName("distlockHandshakeFilter");
        registration.setOrder(Ordered.LOWEST_PRECEDENCE - 100);
        return registration;
    }

    @Bean
    @ConditionalOnMissingBean(name = "distlockClientServlet")
    @ConditionalOnBooleanProperty(name = "distlock.client.enabled", matchIfMissing = true)
    public ServletRegistrationBean<ClientScriptServlet> distlockClientServlet() {
        ClientScriptServlet servlet = ClientScriptServlet.load(DistLockAutoConfiguration.class.getClassLoader());
        ServletRegistrationBean<ClientScriptServlet> registration =
                new ServletRegistrationBean<>(servlet, servlet.paths().toArray(String[]::new));
        registration.setName("distlockClientServlet");
        registration.setEnabled(!servlet.paths().isEmpty());
        return registration;
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HealthIndicator.class)
    static class Health {

        @Bean
        @ConditionalOnMissingBean(name = "distlockHealthIndicator")
        public DistLockHealthIndicator distlockHealthIndicator(LockService service, DistLockEndpoints endpoint) {
            return new DistLockHealthIndicator(service, endpoint);
        }
    }

    /** Meter binders: Spring Boot binds them to the application's MeterRegistry (with Actuator). */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(MeterBinder.class)
    static class Metrics {

        @Bean
        @ConditionalOnMissingBean
        public LockServiceMetrics distlockLockServiceMetrics(LockService service) {
            return new LockServiceMetrics(service);
        }

        @Bean
        @ConditionalOnMissingBean
        public EndpointMetrics distlockEndpointMetrics(DistLockEndpoints endpoint) {
            return new EndpointMetrics(endpoint);
        }
    }
}
