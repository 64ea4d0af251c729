package io.distlock.examples;

import java.io.IOException;
import java.lang.management.ManagementFactory;

import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketServletContainerInitializer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.websocket.DistLockEndpoints;
import io.distlock.websocket.EndpointOptions;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * A node for {@code scripts/bench-containers.sh}: the endpoint in Jetty 12 wired as
 * {@link JettyExample} wires it, with the options the runnable server gets from the benchmark
 * scripts ({@code --rate-limit 1000000}, no cap per client address: every bench session comes
 * from 127.0.0.1), and a {@code /metrics} with the two figures the bench reads from the runnable
 * server's (process CPU time, heap in use). Arguments: the Redis URL and the port; it prints
 * {@code listening on <port>} when it serves.
 */
public final class JettyBenchNode {

    private JettyBenchNode() {
    }

    public static void main(String[] args) throws Exception {
        LockService service = LockService.connect(args[0], LockConfig.defaults());
        EndpointOptions options = EndpointOptions.builder().rateLimit(1_000_000, 2_000_000)
                .maxConnectionsPerAddress(1_000_000).build();
        DistLockEndpoints endpoint = DistLockEndpoints.create(service, options);
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(Integer.parseInt(args[1]));
        connector.setIdleTimeout(JettyExample.HTTP_IDLE_TIMEOUT.toMillis());
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler("/");
        context.addServlet(new ServletHolder(new Metrics()), "/metrics");
        server.setHandler(context);
        JakartaWebSocketServletContainerInitializer.configure(context, (servletContext, container) ->
                container.addEndpoint(endpoint.config()));
        server.start();
        System.out.println("listening on " + connector.getLocalPort());
        server.join();
    }

    /** The bench's {@code ServerProbe} reads {@code process_cpu_time*} and {@code jvm_memory_used_bytes{area="heap"}}. */
    private static final class Metrics extends HttpServlet {
        @Override
        protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
            long cpuNanos = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
            long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            response.setContentType("text/plain");
            response.getWriter().print("process_cpu_time_ns_total " + cpuNanos + "\n"
                    + "jvm_memory_used_bytes{area=\"heap\",id=\"all\"} " + heap + "\n");
        }
    }
}
