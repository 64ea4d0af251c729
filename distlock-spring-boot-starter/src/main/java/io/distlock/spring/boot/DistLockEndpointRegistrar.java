package io.distlock.spring.boot;

import java.lang.System.Logger.Level;
import java.util.Objects;

import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.cloud.CloudPlatform;
import org.springframework.boot.web.server.autoconfigure.ServerProperties;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContext;
import org.springframework.context.ApplicationContextAware;
import org.springframework.context.ApplicationListener;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.util.ClassUtils;
import org.springframework.web.context.ServletContextAware;

import io.distlock.websocket.DistLockEndpoints;
import jakarta.servlet.ServletContext;
import jakarta.websocket.DeploymentException;
import jakarta.websocket.server.ServerContainer;

/**
 * Registers the endpoint in the embedded container's {@link ServerContainer} once the servlet
 * context is up (an embedded server without one fails the start: it would serve nothing at the
 * endpoint's path while looking healthy), and closes it first thing on shutdown: before the web
 * server's graceful shutdown and stop, every connection is closed with 1001 and its locks
 * released, so waiters on other nodes get their RETRY at once.
 */
public class DistLockEndpointRegistrar implements ServletContextAware, ApplicationContextAware, SmartInitializingSingleton, SmartLifecycle,
        ApplicationListener<ContextClosedEvent> {

    private static final System.Logger LOG = System.getLogger(DistLockEndpointRegistrar.class.getName());

    private final DistLockEndpoints endpoint;
    private ServletContext servletContext;
    private ApplicationContext applicationContext;
    private volatile boolean running;
    private volatile boolean contextClosing;

    public DistLockEndpointRegistrar(DistLockEndpoints endpoint) {
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    }

    /** The endpoint this registers. */
    DistLockEndpoints endpoint() {
        return endpoint;
    }

    @Override
    public void setApplicationContext(ApplicationContext applicationContext) {
        this.applicationContext = applicationContext;
    }

    @Override
    public void setServletContext(ServletContext servletContext) {
        this.servletContext = servletContext;
    }

    @Override
    public void afterSingletonsInstantiated() {
        Object container = servletContext == null ? null : servletContext.getAttribute(ServerContainer.class.getName());
        if (!(container instanceof ServerContainer server)) {
            String webServer = embeddedWebServer(applicationContext);
            if (webServer != null) {
                // A real server that cannot take the endpoint: starting would serve 404 at distlock.path
                // while the health and the client script looked fine.
                throw new IllegalStateException("The distlock endpoint cannot be served at " + endpoint.options().path()
                        + ": the embedded web server (" + webServer + ") has no Jakarta WebSocket container in its servlet"
                        + " context (no " + ServerContainer.class.getName() + " attribute). Spring Boot sets one up when the"
                        + " server's Jakarta WebSocket implementation is on the class path: tomcat-embed-websocket on Tomcat,"
                        + " org.eclipse.jetty.ee11.websocket:jetty-ee11-websocket-jakarta-server on Jetty (spring-boot-starter-tomcat"
                        + " and spring-boot-starter-jetty bring them); do not exclude it, nor replace Boot's"
                        + " websocketServletWebServerCustomizer bean");
            }
            // A mock servlet environment (@SpringBootTest without a port, MockMvc): nothing to serve.
            LOG.log(Level.INFO, "No WebSocket container in this servlet context; the distlock endpoint is not served");
            return;
        }
        try {
            server.addEndpoint(endpoint.config());
        } catch (DeploymentException e) {
            throw new IllegalStateException("Cannot register the distlock endpoint at " + endpoint.options().path(), e);
        }
        String warning = nativeForwardedHeadersOnJetty(applicationContext);
        if (warning != null) {
            LOG.log(Level.WARNING, warning);
        }
    }

    /**
     * A warning where the application runs on Jetty with Boot's forward-headers strategy NATIVE,
     * set ({@code server.forward-headers-strategy=native}) or deduced as Boot deduces it (no
     * strategy set, on a cloud platform that uses forward headers: Kubernetes, Cloud Foundry,
     * Heroku...): Boot then adds Jetty's {@code ForwardedRequestCustomizer}, which makes the
     * left-most {@code X-Forwarded-For} of any sender the connection's remote address, the address
     * the endpoint counts for {@code distlock.max-connections-per-address} and the detached-session
     * cap; {@code distlock.trusted-proxies} never sees the header. Null otherwise (Tomcat's
     * {@code RemoteIpValve} trusts only internal proxies, and the endpoint gets no address from
     * Tomcat's handshake anyway).
     */
    static String nativeForwardedHeadersOnJetty(ApplicationContext context) {
        String webServer = embeddedWebServer(context);
        if (webServer == null || !webServer.startsWith("Jetty")
                || !ClassUtils.isPresent(ForwardHeaders.SERVER_PROPERTIES, DistLockEndpointRegistrar.class.getClassLoader())) {
            return null;
        }
        String why = ForwardHeaders.nativeBecause(context);
        if (why == null) {
            return null;
        }
        return "distlock: Boot's forward-headers strategy is NATIVE on Jetty (" + why + "): Jetty takes each connection's"
                + " client address from the left-most X-Forwarded-For, sent by anyone, so distlock.max-connections-per-address"
                + " and the detached-session cap per address count an address the client chose, and distlock.trusted-proxies"
                + " is not consulted. Set server.forward-headers-strategy=none (or framework), and list the proxies in front"
                + " in distlock.trusted-proxies; see docs/spring-boot.md, \"Jetty instead of Tomcat\"";
    }

    /** Kept apart so that its references to Boot's ServerProperties are loaded only when the class is there. */
    private static final class ForwardHeaders {
        static final String SERVER_PROPERTIES = "org.springframework.boot.web.server.autoconfigure.ServerProperties";

        /** Why the strategy is NATIVE, as Boot's JettyWebServerFactoryCustomizer decides it, or null where it is not. */
        static String nativeBecause(ApplicationContext context) {
            ServerProperties server = context.getBeanProvider(ServerProperties.class).getIfAvailable();
            if (server == null) {
                return null;
            }
            ServerProperties.ForwardHeadersStrategy strategy = server.getForwardHeadersStrategy();
            if (strategy == null) {
                CloudPlatform platform = CloudPlatform.getActive(context.getEnvironment());
                return platform != null && platform.isUsingForwardHeaders()
                        ? "server.forward-headers-strategy is not set, and Boot turns it on for the cloud platform " + platform
                        : null;
            }
            return strategy == ServerProperties.ForwardHeadersStrategy.NATIVE ? "server.forward-headers-strategy=native" : null;
        }
    }

    /**
     * The class of the embedded web server the application runs on, or null where it has none:
     * a mock servlet environment, or a war deployed in a container (which starts no embedded
     * server). Looked up by name: spring-boot-web-server is on the class path of every
     * application with an embedded server, not necessarily of the others.
     */
    static String embeddedWebServer(ApplicationContext context) {
        String type = "org.springframework.boot.web.server.context.WebServerApplicationContext";
        if (context == null || !ClassUtils.isPresent(type, DistLockEndpointRegistrar.class.getClassLoader())) {
            return null;
        }
        return EmbeddedServer.of(context);
    }

    /** Kept apart so that its reference to WebServerApplicationContext is loaded only when the class is there. */
    private static final class EmbeddedServer {
        static String of(ApplicationContext context) {
            if (context instanceof WebServerApplicationContext web && web.getWebServer() != null) {
                return web.getWebServer().getClass().getSimpleName();
            }
            return null;
        }
    }

    @Override
    public void start() {
        running = true;
    }

    /** Published before the lifecycle stops: the stop that follows is for good. */
    @Override
    public void onApplicationEvent(ContextClosedEvent event) {
        if (event.getApplicationContext() == applicationContext) {
            contextClosing = true;
        }
    }

    /**
     * Closes the endpoint's connections and sessions (locks released, waiters told); when the
     * context is closing, also the endpoint itself (later handshakes 503) and its threads. A
     * plain stop ({@code context.stop()}, a checkpoint) leaves the endpoint open for the
     * {@link #start()} that follows: a closed endpoint cannot reopen, and would refuse every
     * handshake with 503 after the restart while the application looked healthy.
     */
    @Override
    public void stop() {
        running = false;
        if (contextClosing) {
            endpoint.close();
        } else {
            endpoint.closeAll();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** The highest: stopped before the web server's graceful shutdown and stop. */
    @Override
    public int getPhase() {
        return SmartLifecycle.DEFAULT_PHASE;
    }
}
