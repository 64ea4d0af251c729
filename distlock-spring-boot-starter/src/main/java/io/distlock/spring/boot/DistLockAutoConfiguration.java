package io.distlock.spring.boot;

import java.lang.System.Logger.Level;
import java.util.Optional;

import org.redisson.api.RedissonClient;
import org.redisson.misc.RedisURI;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.BindResult;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.web.context.reactive.ConfigurableReactiveWebEnvironment;
import org.springframework.boot.web.context.reactive.ReactiveWebApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;

import io.distlock.core.BackendUnavailableException;
import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.core.LockServiceMetrics;
import io.distlock.websocket.DistLockEndpoints;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * distlock's core in every Spring Boot application, web or not (a batch worker, a scheduler, a
 * WebFlux application, a servlet one): a {@link LockService} on Redis ({@code distlock.redis.url},
 * or the application's {@link RedissonClient}) for the application's Java code to take the same
 * locks as the browsers, its {@link LockConfig}, a health indicator and the service's meters when
 * the application has Actuator and Micrometer. Every bean backs off when the application defines
 * its own of the same type.
 *
 * <p>The browser side (the WebSocket endpoint, its handshake filter, the JavaScript client) is
 * {@link DistLockEndpointAutoConfiguration}'s, on a servlet web application only: it needs the
 * servlet container's Jakarta WebSocket. A reactive application is told so at startup, in one
 * line at INFO. Excluding this class turns distlock off, unless the application has a
 * {@code LockService} of its own (which the endpoint's configuration then serves); excluding the
 * other keeps the Java side only.
 */
// Redisson's starter makes its client in RedissonAutoConfigurationV2 on Spring Boot 2 and 3, in
// RedissonAutoConfigurationV4 on Spring Boot 4: after either, so that its client is there to back off from.
@AutoConfiguration(afterName = { "org.redisson.spring.starter.RedissonAutoConfigurationV2",
        "org.redisson.spring.starter.RedissonAutoConfigurationV4" })
@ConditionalOnClass(LockService.class)
@EnableConfigurationProperties(DistLockProperties.class)
public class DistLockAutoConfiguration {

    private static final System.Logger LOG = System.getLogger(DistLockAutoConfiguration.class.getName());
    private static final String DISTLOCK_URL = "distlock.redis.url";
    private static final String SPRING_DATA_URL = "spring.data.redis.url";

    /**
     * A Redisson client of distlock's own for {@code distlock.redis.url} (or Spring Data's
     * {@code spring.data.redis.url}), shut down with the context. Sized as the runnable
     * server's: Redisson's defaults are for big machines. Not made when the application has a
     * {@link RedissonClient} or a {@link LockService} of its own (which has its Redis). A URL it
     * cannot use, and Spring Data settings that would make Spring Data connect otherwise than the
     * URL says, fail the start naming the property (a {@code RedisConfigurationException}).
     */
    @Bean(destroyMethod = "shutdown")
    @ConditionalOnMissingBean({ RedissonClient.class, LockService.class })
    public RedissonClient distlockRedissonClient(DistLockProperties properties, Environment environment) {
        // A blank distlock.redis.url (set empty, say by an environment variable) counts as unset: Spring Data's then.
        String property = DISTLOCK_URL;
        String url = properties.getRedis().getUrl();
        if (url == null || url.isBlank()) {
            property = SPRING_DATA_URL;
            url = environment.getProperty(SPRING_DATA_URL);
            if (url == null || url.isBlank()) {
                throw new RedisNotConfiguredException(environment.getProperty("spring.data.redis.host"));
            }
            refuseWhatSpringDataWouldDoDifferently(environment, url);
        }
        checkUrl(property, url);
        try {
            return LockService.connectRedisson(url); // gives up after LockService.CONNECT_DEADLINE, saying what it saw
        } catch (RuntimeException e) {
            // Not the URL itself: it may hold a password, and this message reaches the log.
            throw new BackendUnavailableException("Cannot connect to Redis at " + property + ": " + LockService.connectFailure(e),
                    LockService.connectFailureCause(e));
        }
    }

    /**
     * Checks {@code url}'s shape before any connection: a URL
     * Redisson cannot parse, or one that names a database other than 0, is a mistake in
     * {@code property}, and is reported as one (Redisson would refuse it only inside
     * {@code Redisson.create}, where it read as "could not connect").
     */
    private static void checkUrl(String property, String url) {
        try {
            new RedisURI(url); // Redisson's parser, which Redisson.create runs on the address
            LockService.redissonConfig(url);
        } catch (RuntimeException e) {
            // connectFailure: the core's words for it, which never quote the URL (it may hold a password). Redisson's
            // parser throws other exceptions too (an empty host after the password: ArrayIndexOutOfBoundsException).
            String problem = e instanceof IllegalArgumentException ? LockService.connectFailure(e)
                    : "the URL cannot be parsed (" + e.getClass().getSimpleName() + ")";
            throw new RedisConfigurationException(property, problem, "Correct " + property
                    + ": redis://host:port, redis://user:password@host:port, or rediss://host:port for TLS, with no database"
                    + " other than 0 (/0 or no path; applications sharing a Redis are told apart by distlock.key-prefix), and"
                    + " a user name or password percent-encoded (% as %25).");
        }
    }

    /**
     * Falling back to {@code spring.data.redis.url}, distlock reads that URL alone. Where Spring
     * Data would use other settings instead or besides (TLS on a {@code redis://} URL, Sentinel,
     * Cluster), distlock would talk to Redis differently from the application, in plaintext while
     * the operator believes TLS is on, or to another server: the start fails naming the setting.
     * Where distlock connects as Spring Data would, only not quite (another database, an SSL
     * bundle's certificates on a {@code rediss://} URL), the start says so at WARN.
     */
    private static void refuseWhatSpringDataWouldDoDifferently(Environment environment, String url) {
        String springData = " (distlock reads only spring.data.redis.url of Spring Data's properties)";
        Binder binder = Binder.get(environment);
        if (url.regionMatches(true, 0, "redis://", 0, "redis://".length())) {
            // Spring Data's rule: TLS when ssl.enabled is true, or when a bundle is named and ssl.enabled is not set.
            BindResult<Boolean> enabled = binder.bind("spring.data.redis.ssl.enabled", Boolean.class);
            boolean bundle = binder.bind("spring.data.redis.ssl.bundle", String.class).isBound();
            if (enabled.isBound() ? enabled.get() : bundle) {
                String property = enabled.isBound() ? "spring.data.redis.ssl.enabled" : "spring.data.redis.ssl.bundle";
                String turnsOn = enabled.isBound() ? "turns TLS on" : "is set (and ssl.enabled is not), which turns TLS on";
                throw new RedisConfigurationException(property, turnsOn + " for Spring Data, but spring.data.redis.url is a"
                        + " redis:// URL, on which distlock would connect in plaintext" + springData,
                        "Write spring.data.redis.url as rediss://host:port (distlock then uses TLS, trusting the JVM's trust store:"
                        + " -Djavax.net.ssl.trustStore), or set distlock.redis.url for distlock's own connection.");
            }
        } else if (url.regionMatches(true, 0, "rediss://", 0, "rediss://".length())) {
            // Warned of, not refused: TLS is on as the operator meant, and distlock still checks Redis's certificate and
            // host name, against the JVM's trust store. Where that trusts the certificate (a public CA, or one imported),
            // the application works today; where it does not, the start fails saying the certificate is not trusted, and
            // this line says why the bundle did not count.
            BindResult<String> bundle = binder.bind("spring.data.redis.ssl.bundle", String.class);
            if (bundle.isBound()) {
                LOG.log(Level.WARNING, "distlock: spring.data.redis.ssl.bundle=" + bundle.get() + " is not used by distlock:"
                        + " it connects to spring.data.redis.url over TLS with the JVM's trust store (-Djavax.net.ssl.trustStore)"
                        + " and no client certificate, not with the bundle's certificates. Give the JVM a trust store holding"
                        + " the CA of Redis's certificate, or define a RedissonClient bean configured as the bundle is"
                        + " (docs/spring-boot.md)");
            }
        }
        // Not refused: the setting may be there for the application's own data. But applications told apart by their
        // database alone share their locks in distlock's database 0.
        BindResult<Integer> database = binder.bind("spring.data.redis.database", Integer.class);
        if (database.isBound() && database.get() != 0) {
            LOG.log(Level.WARNING, "distlock: spring.data.redis.database=" + database.get() + " is not distlock's: it keeps"
                    + " its keys in database 0 of spring.data.redis.url's Redis, so applications told apart by their database"
                    + " share locks of the same names there. Give each its own distlock.key-prefix (docs/spring-boot.md)");
        }
        for (String group : new String[] { "sentinel", "cluster" }) {
            String set = firstPropertyUnder(environment, "spring.data.redis." + group);
            if (set != null) {
                throw new RedisConfigurationException(set, "is set, and Spring Data then uses Redis " + capitalized(group)
                        + ", which distlock would ignore, connecting to spring.data.redis.url alone" + springData,
                        "Define a RedissonClient bean configured for " + capitalized(group) + " (distlock then uses it; see"
                        + " docs/spring-boot.md), or set distlock.redis.url for distlock's own single Redis server.");
            }
        }
    }

    private static String capitalized(String group) {
        return Character.toUpperCase(group.charAt(0)) + group.substring(1);
    }

    /** The name of a property set under {@code prefix} in any property source (an environment variable's too), or null. */
    private static String firstPropertyUnder(Environment environment, String prefix) {
        ConfigurationPropertyName parent = ConfigurationPropertyName.of(prefix);
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
            if (source instanceof IterableConfigurationPropertySource names) {
                Optional<ConfigurationPropertyName> found = names.stream().filter(parent::isAncestorOf).findFirst();
                if (found.isPresent()) {
                    return found.get().toString();
                }
            }
        }
        return null;
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
     * Closed with the context, after the endpoint where there is one (the endpoint needs it); the Redisson client stays
     * the application's (or the bean above's).
     * With {@code distlock.redis.url} set and a RedissonClient of the application's (which may be on another Redis,
     * a cache's, say), the property wins: the service connects a client of its own there, not a bean (the
     * application's injection points keep their RedissonClients, one or several), shut down when the service closes.
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public LockService distlockLockService(ObjectProvider<RedissonClient> redissons, LockConfig config,
                                           DistLockProperties properties, BeanFactory beans) {
        String url = properties.getRedis().getUrl();
        if (url != null && !url.isBlank() && !beans.containsBean("distlockRedissonClient")) {
            // No RedissonClient bean is asked for: the application may have several (found by review: two, neither
            // @Primary, failed the start with NoUniqueBeanDefinitionException although the property names the Redis).
            checkUrl(DISTLOCK_URL, url); // a mistake in the URL reported as one, before connect reads it as an outage
            return LockService.connect(url, config);
        }
        // Without the URL: the one RedissonClient (the application's, or the bean above); several and none @Primary
        // fail here with Boot's report of the candidates.
        RedissonClient redisson = redissons.getObject();
        // An ObjectProvider records no dependency: record it, so that the client is destroyed after this service
        // has closed (its sessions' releases need it).
        if (beans instanceof ConfigurableListableBeanFactory factory) {
            for (String name : factory.getBeanNamesForType(RedissonClient.class, false, false)) {
                // Only the clients already made: getBean would make a @Lazy one (for an optional Redis, maybe down) just to
                // compare it (found by review). The one injected has been made.
                // getBean of a made singleton makes nothing, and gives a FactoryBean's product (getSingleton: the factory).
                if (factory.containsSingleton(name) && factory.getBean(name) == redisson) {
                    factory.registerDependentBean(name, "distlockLockService");
                }
            }
        }
        return LockService.create(redisson, config);
    }

    /** Off with {@code management.health.distlock.enabled=false} (or {@code management.health.defaults.enabled=false}). */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HealthIndicator.class)
    @ConditionalOnEnabledHealthIndicator("distlock")
    static class Health {

        /**
         * With the endpoint's connections where {@link DistLockEndpointAutoConfiguration} (or the application) made one;
         * of the {@code @Primary} one where the application has several; with several and none {@code @Primary}, none.
         * Backs off for the application's own {@link DistLockHealthIndicator}, whatever its name, or any bean of this name.
         */
        @Bean
        @ConditionalOnMissingBean(value = DistLockHealthIndicator.class, name = "distlockHealthIndicator")
        public DistLockHealthIndicator distlockHealthIndicator(LockService service, ObjectProvider<DistLockEndpoints> endpoint) {
            DistLockEndpoints served = endpoint.getIfUnique();
            return served == null ? new DistLockHealthIndicator(service) : new DistLockHealthIndicator(service, served);
        }
    }

    /**
     * The service's meter binder: Spring Boot binds it to the application's MeterRegistry (with
     * Actuator). The endpoint's is in {@link DistLockEndpointAutoConfiguration}.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(MeterBinder.class)
    static class Metrics {

        @Bean
        @ConditionalOnMissingBean
        public LockServiceMetrics distlockLockServiceMetrics(LockService service) {
            return new LockServiceMetrics(service);
        }
    }

    /**
     * A reactive application has no Jakarta WebSocket container for the browser endpoint (Netty
     * has none; Tomcat and Jetty have one, under a servlet application): say so once, so that
     * nobody looks for {@code /distlock/lock} in vain. The lock service is there all the same.
     */
    @Configuration(proxyBeanMethods = false)
    @Conditional(OnReactiveApplication.class)
    static class Reactive {

        @Bean
        ReactiveEndpointNotice distlockReactiveEndpointNotice() {
            return new ReactiveEndpointNotice();
        }
    }

    /**
     * The application context (or its environment) is a reactive web one: the checks of
     * {@code @ConditionalOnWebApplication(type = REACTIVE)} without its test for WebFlux's classes.
     * What tells that the endpoint has no servlet container is the kind of application, whichever
     * reactive stack made it (and this module's tests run a reactive context without WebFlux).
     */
    static final class OnReactiveApplication extends SpringBootCondition {

        @Override
        public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
            if (context.getResourceLoader() instanceof ReactiveWebApplicationContext) {
                return ConditionOutcome.match("a ReactiveWebApplicationContext");
            }
            if (context.getEnvironment() instanceof ConfigurableReactiveWebEnvironment) {
                return ConditionOutcome.match("a ConfigurableReactiveWebEnvironment");
            }
            return ConditionOutcome.noMatch("not a reactive web application");
        }
    }

    static final class ReactiveEndpointNotice implements SmartInitializingSingleton {

        private static final System.Logger LOG = System.getLogger(DistLockAutoConfiguration.class.getName());

        @Override
        public void afterSingletonsInstantiated() {
            LOG.log(Level.INFO, "distlock: the browser endpoint (WebSocket and JavaScript client) needs a servlet container "
                    + "(Tomcat or Jetty, a servlet web application) and was not registered in this reactive application; "
                    + "its LockService is available to Java code");
        }
    }
}
