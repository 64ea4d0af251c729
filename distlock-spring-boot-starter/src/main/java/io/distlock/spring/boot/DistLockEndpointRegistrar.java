package io.distlock.spring.boot;

import java.lang.System.Logger.Level;
import java.util.Objects;

import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.context.SmartLifecycle;
import org.springframework.web.context.ServletContextAware;

import io.distlock.websocket.DistLockEndpoints;
import jakarta.servlet.ServletContext;
import jakarta.websocket.DeploymentException;
import jakarta.websocket.server.ServerContainer;

/**
 * Registers the endpoint in the embedded container's {@link ServerContainer} once the servlet
 * context is up, and closes it first thing on shutdown: before the web server's graceful
 * shutdown and stop, every connection is closed with 1001 and its locks released, so waiters
 * on other nodes get their RETRY at once.
 */
public class DistLockEndpointRegistrar implements ServletContextAware, SmartInitializingSingleton, SmartLifecycle {

    private static final System.Logger LOG = System.getLogger(DistLockEndpointRegistrar.class.getName());

    private final DistLockEndpoints endpoint;
    private ServletContext servletContext;
    private volatile boolean running;

    public DistLockEndpointRegistrar(DistLockEndpoints endpoint) {
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    }

    @Override
    public void setServletContext(ServletContext servletContext) {
        this.servletContext = servletContext;
    }

    @Override
    public void afterSingletonsInstantiated() {
        Object container = servletContext == null ? null : servletContext.getAttribute(ServerContainer.class.getName());
        if (!(container instanceof ServerContainer server)) {
            // A mock servlet environment (@SpringBootTest without a port, MockMvc): nothing to serve.
            LOG.log(Level.INFO, "No WebSocket container in this servlet context; the distlock endpoint is not served");
            return;
        }
        try {
            server.addEndpoint(endpoint.config());
        } catch (DeploymentException e) {
            throw new IllegalStateException("Cannot register the distlock endpoint at " + endpoint.options().path(), e);
        }
    }

    @Override
    public void start() {
        running = true;
    }

    /** Closes the endpoint's connections and sessions (locks released, waiters told) and stops its threads. */
    @Override
    public void stop() {
        running = false;
        endpoint.close();
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
