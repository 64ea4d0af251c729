package io.distlock.websocket;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.websocket.server.WsSci;

import io.distlock.spring.boot.DistLockHandshakeFilter;
import jakarta.servlet.http.HttpServlet;
import jakarta.websocket.DeploymentException;
import jakarta.websocket.server.ServerContainer;
import jakarta.websocket.server.ServerEndpointConfig;

/**
 * Embedded Tomcat (the version Spring Boot brings) on a loopback port: a context with Tomcat's
 * WebSocket container ({@link WsSci}) serving the given configs, and optionally
 * {@link DistLockHandshakeFilter} in front of each distlock endpoint's path.
 */
final class TomcatTestServer implements TestServer {

    private final Tomcat tomcat;
    private final int port;
    private final Path baseDir;

    private TomcatTestServer(Tomcat tomcat, int port, Path baseDir) {
        this.tomcat = tomcat;
        this.port = port;
        this.baseDir = baseDir;
    }

    /** Tomcat serving {@code configs}, nothing in front of them. */
    static TomcatTestServer start(List<ServerEndpointConfig> configs) {
        return start(configs, List.of());
    }

    /** Tomcat serving {@code endpoints}, each behind a {@link DistLockHandshakeFilter}. */
    static TomcatTestServer startFiltered(List<DistLockEndpoints> endpoints) {
        return start(endpoints.stream().map(DistLockEndpoints::config).toList(), endpoints);
    }

    private static TomcatTestServer start(List<ServerEndpointConfig> configs, List<DistLockEndpoints> filtered) {
        Path baseDir;
        try {
            baseDir = Files.createTempDirectory("distlock-tomcat");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(baseDir.toString());
        Connector connector = new Connector();
        connector.setPort(0);
        connector.setProperty("address", "127.0.0.1");
        tomcat.setConnector(connector);
        Context context = tomcat.addContext("", baseDir.toString());
        // A servlet for every path: Tomcat runs filters (its WebSocket filter among them) only
        // for requests that map to a servlet.
        Tomcat.addServlet(context, "none", new HttpServlet() {
            private static final long serialVersionUID = 1L;
        });
        context.addServletMappingDecoded("/", "none");
        context.addServletContainerInitializer(new WsSci(), null);
        context.addServletContainerInitializer((classes, servletContext) -> {
            int i = 0;
            for (DistLockEndpoints endpoint : filtered) {
                servletContext.addFilter("distlock-" + i++, new DistLockHandshakeFilter(endpoint))
                        .addMappingForUrlPatterns(null, false, endpoint.options().path());
            }
            ServerContainer container = (ServerContainer) servletContext.getAttribute(ServerContainer.class.getName());
            for (ServerEndpointConfig config : configs) {
                try {
                    container.addEndpoint(config);
                } catch (DeploymentException e) {
                    throw new IllegalStateException(e);
                }
            }
        }, null);
        try {
            tomcat.start();
        } catch (LifecycleException e) {
            throw new IllegalStateException("Tomcat did not start", e);
        }
        return new TomcatTestServer(tomcat, connector.getLocalPort(), baseDir);
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public void close() {
        try {
            tomcat.stop();
            tomcat.destroy();
        } catch (LifecycleException e) {
            throw new IllegalStateException(e);
        } finally {
            org.springframework.util.FileSystemUtils.deleteRecursively(baseDir.toFile());
        }
    }

    @Override
    public String toString() {
        return "Tomcat on port " + port;
    }
}
