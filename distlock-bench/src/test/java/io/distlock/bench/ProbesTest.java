package io.distlock.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/** Reading Redis's INFO and MONITOR lines and a server's Prometheus text. */
class ProbesTest {

    @Test
    void readsCommandStatsAndCpu() {
        RedisStats.Snapshot before = RedisStats.parse("# Commandstats\r\ncmdstat_evalsha:calls=10,usec=50,usec_per_call=5.00,"
                + "rejected_calls=0,failed_calls=0\r\ncmdstat_info:calls=3,usec=9\r\n", "used_cpu_sys:1.5\r\nused_cpu_user:2.25\r\n");
        RedisStats.Snapshot after = RedisStats.parse("cmdstat_evalsha:calls=30,usec=150\r\ncmdstat_hmget:calls=40,usec=1\r\n"
                + "cmdstat_info:calls=5,usec=9\r\n", "used_cpu_sys:2\r\nused_cpu_user:3\r\n");

        assertThat(before.cpuSeconds()).isEqualTo(3.75);
        assertThat(after.since(before)).isEqualTo(Map.of("evalsha", 20L, "hmget", 40L));
    }

    @Test
    void tellsCommandsOfClientsFromThoseOfScripts() {
        Map<String, long[]> seen = new TreeMap<>();
        RedisStats.countMonitorLine("+1764144000.123456 [0 127.0.0.1:5555] \"EVALSHA\" \"ab\" \"1\" \"k\"", seen);
        RedisStats.countMonitorLine("+1764144000.123460 [0 lua] \"HMGET\" \"k\" \"owner\"", seen);
        RedisStats.countMonitorLine("+1764144000.123470 [0 unix:/tmp/r.sock] \"DEL\" \"x\"", seen);
        RedisStats.countMonitorLine("+1764144000.123480 [0 lua] \"DEL\" \"y\"", seen);
        RedisStats.countMonitorLine("OK", seen);

        RedisStats.Origins origins = new RedisStats.Origins(seen);

        assertThat(origins.sentByClients(Map.of("evalsha", 100L, "hmget", 100L, "del", 10L, "ping", 1L))).isEqualTo(106.0);
    }

    @Test
    void readsTheMachinesBusyAndStolenTimeFromProcStat() {
        // cpu user nice system idle iowait irq softirq steal guest guest_nice, in hundredths of a second
        MachineCpu before = MachineCpu.parse("cpu  1000 20 300 90000 50 7 40 5 0 0");
        MachineCpu after = MachineCpu.parse("cpu  1150 20 330 90100 50 9 60 25 0 0");

        assertThat(before.busySeconds()).isEqualTo(13.2); // user + nice + system; interrupts left out
        MachineCpu used = after.since(before);
        assertThat(used.busySeconds()).isCloseTo(1.8, within(1e-9));
        assertThat(used.stealSeconds()).isCloseTo(0.2, within(1e-9));
        assertThat(MachineCpu.parse("cpu0 1 2 3 4 5 6 7 8").busySeconds()).as("one core's line").isNaN();
        assertThat(MachineCpu.parse("cpu  1 2 3").busySeconds()).as("too short").isNaN();
        assertThat(MachineCpu.parse("cpu  a b c d e f g h").stealSeconds()).isNaN();
    }

    @Test
    void readsCpuAndHeapFromPrometheusText() {
        ServerProbe.Reading r = ServerProbe.parse("""
                # HELP process_cpu_time_ns_total The "cpu time" used by the Java Virtual Machine process
                # TYPE process_cpu_time_ns_total counter
                process_cpu_time_ns_total 2.5E9
                jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 1000000.0
                jvm_memory_used_bytes{area="heap",id="G1 Old Gen"} 3000000.0
                jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 7.0E7
                """);
        assertThat(r.cpuSeconds()).isEqualTo(2.5);
        assertThat(r.heapBytes()).isEqualTo(4_000_000.0);
        assertThat(ServerProbe.parse("process_cpu_time_seconds_total 1.5\n").cpuSeconds()).isEqualTo(1.5);
        assertThat(ServerProbe.parse("nothing here").heapBytes()).isNaN();
    }
}
