package io.distlock.spring.boot;

import java.lang.System.Logger.Level;
import java.util.Collection;
import java.util.Optional;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.autoconfigure.condition.NoneNestedConditions;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;

import io.distlock.core.LockService;
import io.distlock.websocket.Authenticator;
import io.distlock.websocket.Authorizer;
import io.distlock.websocket.DistLockEndpoints;
import io.distlock.websocket.EndpointMetrics;
import io.distlock.websocket.EndpointOptions;
import io.micrometer.core.instrument.binder.MeterBinder;
import jakarta.websocket.server.ServerContainer;

/**
 * distlock's browser side on a Spring Boot servlet web application, on the {@link LockService}
 * of {@link DistLockAutoConfiguration} (or the application's): the WebSocket endpoint at
 * {@code distlock.path} in the embedded container's Jakarta WebSocket {@link ServerContainer}, a
 * filter that answers refused handshakes with their status, the JavaScript client at
 * {@code /distlock/distlock.js}, the endpoint's {@link EndpointOptions} and its meters when the
 * application has Micrometer. Every bean backs off when the application defines its own of the
 * same type (or name).
 *
 * <p>The pieces that serve one endpoint (its registrar, handshake filter, path servlet and meters)
 * serve the application's {@code DistLockEndpoints} bean, or its {@code @Primary} one where it
 * has several; with several and none {@code @Primary} they back off, say so at start, and the
 * application registers its endpoints itself.
 *
 * <p>Not on a non-web or a reactive application: they have no servlet container to serve the
 * endpoint in. Excluding this class keeps the {@code LockService} for the application's Java
 * code and serves no browser.
 */
@AutoConfiguration(after = DistLockAutoConfiguration.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnClass({ DistLockEndpoints.class, ServerContainer.class })
@ConditionalOnBean(LockService.class)
@EnableConfigurationProperties(DistLockProperties.class)
public class DistLockEndpointAutoConfiguration {

    private static final System.Logger LOG = System.getLogger(DistLockEndpointAutoConfiguration.class.getName());

    /**
     * The endpoint's options from {@code distlock.*}. The principal of the HTTP request (Spring
     * Security's {@code Authentication}, or whatever the container authenticated) becomes the
     * connection's principal, unless the application has an {@link Authenticator} bean; an
     * {@link Authorizer} bean decides which principal may take which lock. Then every
     * {@link DistLockEndpointOptionsCustomizer} bean, for the options without a property.
     */
    @Bean
    @ConditionalOnMissingBean
    public EndpointOptions distlockEndpointOptions(DistLockProperties properties,
                                                   ObjectProvider<Authenticator> authenticator,
                                                   ObjectProvider<Authorizer> authorizer,
                                                   ObjectProvider<DistLockEndpointOptionsCustomizer> customizers,
                                                   ApplicationContext context) {
        EndpointOptions.Builder options = EndpointOptions.builder()
                .path(properties.getPath())
                .allowedOrigins(properties.getAllowedOrigins())
                .allowedHosts(properties.getAllowedHosts())
                .allowMissingOrigin(properties.isAllowMissingOrigin())
                .hideHolder(properties.isHideHolder())
                .pingInterval(properties.getPingInterval())
                .rateLimit(properties.getRateLimit(), DistLockProperties.burst(properties.getRateLimit()))
                .maxConnections(TomcatConnections.maxConnections(properties, context))
                .maxConnectionsPerAddress(properties.getMaxConnectionsPerAddress())
                .trustedProxies(properties.getTrustedProxies());
        Authenticator own = authenticator.getIfAvailable();
        Authenticator principal = own != null ? own : requestPrincipal();
        options.authenticator(principal);
        authorizer.ifAvailable(options::authorizer);
        customizers.orderedStream().forEach(customizer -> customizer.customize(options));
        EndpointOptions built = options.build();
        warnOfAnyOriginWithTheRequestsUser(built, own == null && built.authenticator() == principal);
        return built;
    }

    /**
     * {@code distlock.allowed-origins=*} while the connection's user is the request's (its session
     * cookie, which a browser sends to this host from any site's page): any site can open a
     * connection as a logged-in user and take or steal their locks (cross-site WebSocket hijacking).
     */
    static void warnOfAnyOriginWithTheRequestsUser(EndpointOptions options, boolean requestsUser) {
        if (requestsUser && options.allowedOrigins().contains("*")) {
            LOG.log(Level.WARNING, "distlock: distlock.allowed-origins=* with the request's user as the connection's:"
                    + " a page of any site can open a connection as a user logged in here (the browser sends the session"
                    + " cookie) and take that user's locks. List the origins instead, or authenticate connections with"
                    + " something a foreign page cannot send (an Authenticator bean reading a token) (docs/spring-boot.md)");
        }
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
    public DistLockEndpoints distlockEndpoints(LockService service, EndpointOptions options,
                                               ObjectProvider<Authenticator> authenticator,
                                               ObjectProvider<Authorizer> authorizer) {
        warnOfUnusedSecurityBeans(options, authenticator.getIfUnique(), authorizer.getIfUnique());
        return DistLockEndpoints.create(service, options);
    }

    /**
     * An application's own {@code EndpointOptions} bean starts from the builder's defaults, which
     * accept everyone anonymously and allow every lock: its {@code Authorizer} bean left out of
     * it is a lock anyone may take, which nothing else would show.
     */
    static void warnOfUnusedSecurityBeans(EndpointOptions options, Authenticator authenticator, Authorizer authorizer) {
        String unused = authorizer != null && options.authorizer() != authorizer ? "Authorizer"
                : authenticator != null && options.authenticator() != authenticator ? "Authenticator"
                : null;
        if (unused != null) {
            LOG.log(Level.WARNING, "distlock: the endpoint's options do not use the application's " + unused + " bean"
                    + (unused.equals("Authorizer") ? ", and allow what they allow to every connection" : "")
                    + ". An EndpointOptions bean of the application's replaces the starter's options, distlock.* properties,"
                    + " the request's principal and the Authenticator and Authorizer beans included (to change an option"
                    + " without losing them, define a DistLockEndpointOptionsCustomizer bean instead); a customizer that sets"
                    + " its own " + unused + " replaces the bean (docs/spring-boot.md)");
        }
    }

    @Bean
    @ConditionalOnMissingBean
    @Conditional(OneEndpointToServe.class)
    public DistLockEndpointRegistrar distlockEndpointRegistrar(DistLockEndpoints endpoint) {
        return new DistLockEndpointRegistrar(endpoint);
    }

    /**
     * Refused handshakes answered with their status (Tomcat alone would answer 500). Late in
     * the filter chain, after Spring Security's, so that the request's principal is known.
     */
    @Bean
    @ConditionalOnMissingBean(name = "distlockHandshakeFilter")
    @Conditional(OneEndpointToServe.class)
    public FilterRegistrationBean<DistLockHandshakeFilter> distlockHandshakeFilter(DistLockEndpoints endpoint) {
        FilterRegistrationBean<DistLockHandshakeFilter> registration =
                new FilterRegistrationBean<>(new DistLockHandshakeFilter(endpoint), new ServletRegistrationBean<?>[0]);
        registration.addUrlPatterns(endpoint.options().path());
        registration.setName("distlockHandshakeFilter");
        registration.setOrder(Ordered.LOWEST_PRECEDENCE - 100);
        return registration;
    }

    /**
     * A servlet mapped exactly to the endpoint's path, answering anything but a WebSocket
     * handshake with 426: without it the path maps to no servlet when Spring MVC's
     * {@code DispatcherServlet} is not at "/" ({@code spring.mvc.servlet.path}), and Tomcat then
     * runs no filter for it, its WebSocket filter included (every handshake 404). See
     * {@link EndpointPathServlet}.
     */
    @Bean
    @ConditionalOnMissingBean(name = "distlockEndpointServlet")
    @Conditional(OneEndpointToServe.class)
    public ServletRegistrationBean<EndpointPathServlet> distlockEndpointServlet(DistLockEndpoints endpoint) {
        ServletRegistrationBean<EndpointPathServlet> registration =
                new ServletRegistrationBean<>(new EndpointPathServlet(), endpoint.options().path());
        registration.setName("distlockEndpointServlet");
        return registration;
    }

    @Bean
    @ConditionalOnMissingBean(name = "distlockClientServlet")
    @ConditionalOnBooleanProperty(name = "distlock.client.enabled", matchIfMissing = true)
    public ServletRegistrationBean<ClientScriptServlet> distlockClientServlet() {
        ClientScriptServlet servlet = ClientScriptServlet.load(DistLockEndpointAutoConfiguration.class.getClassLoader());
        ServletRegistrationBean<ClientScriptServlet> registration =
                new ServletRegistrationBean<>(servlet, servlet.paths().toArray(String[]::new));
        registration.setName("distlockClientServlet");
        registration.setEnabled(!servlet.paths().isEmpty());
        return registration;
    }

    /** The endpoint's meter binder: Spring Boot binds it to the application's MeterRegistry (with Actuator). */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(MeterBinder.class)
    @Conditional(OneEndpointToServe.class)
    static class Metrics {

        @Bean
        @ConditionalOnMissingBean
        public EndpointMetrics distlockEndpointMetrics(DistLockEndpoints endpoint) {
            return new EndpointMetrics(endpoint);
        }
    }

    /**
     * Several {@code DistLockEndpoints} beans and none {@code @Primary}: nothing above serves any
     * of them, and without this line the application would answer 404 at their paths silently.
     */
    @Bean
    @Conditional(SeveralEndpointsWithoutAPrimary.class)
    SeveralEndpointsNotice distlockSeveralEndpointsNotice(ApplicationContext context) {
        return new SeveralEndpointsNotice(context);
    }

    /**
     * The endpoint the starter serves, which a registrar of the application's replaced the
     * starter's registrar for, but does not register itself: no WebSocket could open at its path, silently.
     */
    @Bean
    @Conditional(OneEndpointToServe.class)
    UnregisteredEndpointNotice distlockUnregisteredEndpointNotice(ApplicationContext context) {
        return new UnregisteredEndpointNotice(context);
    }

    /**
     * One endpoint to serve: the starter's own (the application has no {@code DistLockEndpoints}
     * bean), or the application's one, or its {@code @Primary} one among several. The application's
     * beans are known before this auto-configuration is read, so the answer is the same wherever it
     * is asked: before the starter's bean is registered (the nested {@link Metrics}, read first), the
     * first branch holds, after it the second does.
     */
    static final class OneEndpointToServe extends AnyNestedCondition {

        OneEndpointToServe() {
            super(ConfigurationPhase.REGISTER_BEAN);
        }

        @ConditionalOnMissingBean(DistLockEndpoints.class)
        static final class TheStartersOwn {
        }

        @ConditionalOnSingleCandidate(DistLockEndpoints.class)
        static final class OneOrAPrimary {
        }
    }

    /** The opposite of {@link OneEndpointToServe}: the application has several endpoints and none {@code @Primary}. */
    static final class SeveralEndpointsWithoutAPrimary extends NoneNestedConditions {

        SeveralEndpointsWithoutAPrimary() {
            super(ConfigurationPhase.REGISTER_BEAN);
        }

        @ConditionalOnMissingBean(DistLockEndpoints.class)
        static final class TheStartersOwn {
        }

        @ConditionalOnSingleCandidate(DistLockEndpoints.class)
        static final class OneOrAPrimary {
        }
    }

    static final class UnregisteredEndpointNotice implements SmartInitializingSingleton {

        private final ApplicationContext context;

        UnregisteredEndpointNotice(ApplicationContext context) {
            this.context = context;
        }

        @Override
        public void afterSingletonsInstantiated() {
            DistLockEndpoints served = context.getBeanProvider(DistLockEndpoints.class).getIfUnique();
            Collection<DistLockEndpointRegistrar> registrars = context.getBeansOfType(DistLockEndpointRegistrar.class).values();
            if (served != null && !registrars.isEmpty() && registrars.stream().noneMatch(r -> r.endpoint() == served)) {
                LOG.log(Level.WARNING, "distlock: the application's DistLockEndpointRegistrar beans replace the starter's, and none"
                        + " registers the endpoint the starter serves at " + served.options().path() + ": no WebSocket can open there."
                        + " Register it too, with a DistLockEndpointRegistrar of its own (docs/spring-boot.md, \"Several endpoints\")");
            }
        }
    }

    static final class SeveralEndpointsNotice implements SmartInitializingSingleton {

        private final ApplicationContext context;

        SeveralEndpointsNotice(ApplicationContext context) {
            this.context = context;
        }

        @Override
        public void afterSingletonsInstantiated() {
            String endpoints = String.join(", ", context.getBeanNamesForType(DistLockEndpoints.class));
            // Registrars of the application's: it serves its endpoints itself, as docs/spring-boot.md says.
            boolean ownRegistrars = context.getBeanNamesForType(DistLockEndpointRegistrar.class).length > 0;
            String backedOff = "distlock: the application has several DistLockEndpoints beans (" + endpoints + ") and none"
                    + " is @Primary, so the starter serves none of them (no registrar, handshake filter, path servlet or meters of"
                    + " its own, no connections in the health)";
            if (ownRegistrars) {
                LOG.log(Level.INFO, backedOff + "; the application's DistLockEndpointRegistrar beans register its endpoints");
            } else {
                LOG.log(Level.WARNING, backedOff + ", and no DistLockEndpointRegistrar bean registers them: their paths answer"
                        + " 404. Mark one @Primary for the starter to serve it, or register each (docs/spring-boot.md, \"Several"
                        + " endpoints\")");
            }
        }
    }
}
