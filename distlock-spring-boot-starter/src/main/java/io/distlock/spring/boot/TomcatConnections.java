package io.distlock.spring.boot;

import java.lang.System.Logger.Level;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.tomcat.autoconfigure.TomcatServerProperties;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.context.ApplicationContext;
import org.springframework.util.ClassUtils;
import org.springframework.web.context.WebApplicationContext;

import jakarta.servlet.ServletContext;

/**
 * {@code distlock.max-connections} beside Tomcat's own cap. An upgraded WebSocket keeps its place
 * in Tomcat's connection count ({@code server.tomcat.max-connections}, 8,192 by default), and
 * once that count is full Tomcat accepts nothing more, page loads and health probes included: the
 * endpoint's cap, answered with 503, must come first, with room left for HTTP.
 */
final class TomcatConnections {

    private static final System.Logger LOG = System.getLogger(TomcatConnections.class.getName());
    /** Tomcat's own maxConnections, where Boot does not set it. */
    private static final int TOMCAT_DEFAULT = 8192;

    private TomcatConnections() {
    }

    /**
     * The endpoint's cap: the property where it is set (with a warning where it leaves Tomcat no
     * room), else its default lowered to nine tenths of Tomcat's cap where the application runs
     * on Tomcat.
     */
    static int maxConnections(DistLockProperties properties, ApplicationContext context) {
        int configured = properties.getMaxConnections();
        int tomcat = tomcatMaxConnections(context);
        if (tomcat == 0) {
            return configured;
        }
        boolean set = Binder.get(context.getEnvironment()).bind("distlock.max-connections", Integer.class).isBound();
        if (!set) {
            return Math.max(1, Math.min(configured, tomcat - Math.max(1, tomcat / 10)));
        }
        if (configured >= tomcat) {
            LOG.log(Level.WARNING, "distlock: distlock.max-connections=" + configured + " is not below Tomcat's"
                    + " server.tomcat.max-connections=" + tomcat + ": WebSockets can fill Tomcat's connections before"
                    + " the endpoint answers 503, and Tomcat then accepts nothing more, page loads and health probes"
                    + " included. Set distlock.max-connections below it, with room for HTTP (docs/spring-boot.md)");
        }
        return configured;
    }

    /** Tomcat's cap where the application runs on an embedded Tomcat; 0 elsewhere. */
    private static int tomcatMaxConnections(ApplicationContext context) {
        ClassLoader loader = TomcatConnections.class.getClassLoader();
        if (context == null || !ClassUtils.isPresent("org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory", loader)
                || !ClassUtils.isPresent("org.springframework.boot.tomcat.autoconfigure.TomcatServerProperties", loader)
                || servedByAnotherContainer(context)) {
            return 0;
        }
        return OnTomcat.maxConnections(context);
    }

    /**
     * Whether a container other than Tomcat serves the application: a war deployed to Jetty or
     * WildFly with Boot's Tomcat module in its {@code WEB-INF/lib} has the Tomcat factory bean
     * too (Boot configures it, and never starts it), and Tomcat's cap does not apply there.
     */
    private static boolean servedByAnotherContainer(ApplicationContext context) {
        ServletContext servletContext = context instanceof WebApplicationContext web ? web.getServletContext() : null;
        return servletContext != null && !String.valueOf(servletContext.getServerInfo()).startsWith("Apache Tomcat");
    }

    /** Kept apart so that its references to Tomcat's classes are loaded only when they are there. */
    private static final class OnTomcat {
        static int maxConnections(ApplicationContext context) {
            if (context.getBeanNamesForType(TomcatServletWebServerFactory.class, false, false).length == 0) {
                return 0;
            }
            TomcatServerProperties tomcat = context.getBeanProvider(TomcatServerProperties.class).getIfAvailable();
            if (tomcat == null) {
                return 0;
            }
            // Boot hands Tomcat only a positive value: with -1 ("unlimited") or 0 Tomcat keeps its own default.
            return tomcat.getMaxConnections() > 0 ? tomcat.getMaxConnections() : TOMCAT_DEFAULT;
        }
    }
}
