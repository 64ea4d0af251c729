#!/usr/bin/env bash
# Reproduces the tables of docs/benchmarks.md on this machine, on loopback only.
#
#   mvn -B -q package -DskipTests            # builds distlock-server/target/distlock-server.jar
#   scripts/run-benchmarks.sh [OUT_DIR]      # default: target/benchmarks-<date>
#
# It starts its own redis-server (the one on the PATH, or the one the server jar ships) and
# two server nodes from the jar, warms them up, runs `bench` for every table, and writes
# OUT_DIR/*.json, *.hgrm, latency.svg and results.md (the tables, ready to paste). It stops
# what it started, by pid, and nothing else. 20 to 30 minutes with the defaults on a quiet machine (each multi-target run warms every target first).
#
# Knobs (environment): WARMUP (2s) and DURATION (5s) per table cell; TARGET_WARMUP (5s),
# TARGET_DURATION (10s) and RUNS (3) for the target measurements; SESSIONS ("1 16 64 256");
# SCENARIOS ("uncontended contended mixed shared"); IDLE ("1000 10000"); QUEUE_SESSIONS ("16 64")
# for the queue targets; SETS ("tables targets queue idle"): which parts to run, e.g.
# SETS=queue for the protocol version 2 queue measurements alone (about 10 minutes); MAX_LOAD
# (the core count; 0: off): before each measured run, wait up to 10 minutes for the 1-minute
# load average to fall below it; JAR; JAVA. Every bench run records the load average at its
# start and end in its JSON (load_average_start, load_average_end) and the CPU that processes
# outside the benchmark used (others_cpu_cores, steal_cpu_cores); bench-tables.py prints the load
# beside each figure, marks (*) a phase in which others used a tenth of the cores or more (where
# unknown, one that began or ended at a load of the core count or more), and puts a warning above
# results.md if any did: such figures are not published as they are.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=${JAR:-$ROOT/distlock-server/target/distlock-server.jar}
JAVA=${JAVA:-java}
OUT=${1:-$ROOT/target/benchmarks-$(date +%Y%m%d-%H%M%S)}
WARMUP=${WARMUP:-2s}
DURATION=${DURATION:-5s}
TARGET_WARMUP=${TARGET_WARMUP:-5s}
TARGET_DURATION=${TARGET_DURATION:-10s}
RUNS=${RUNS:-3}
SESSIONS=${SESSIONS:-"1 16 64 256"}
SCENARIOS=${SCENARIOS:-"uncontended contended mixed shared"}
IDLE=${IDLE:-"1000 10000"}
QUEUE_SESSIONS=${QUEUE_SESSIONS:-"16 64"}
SETS=${SETS:-"tables targets queue idle"}
MAX_LOAD=${MAX_LOAD:-$(nproc)}
has_set() { case " $SETS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

[ -f "$JAR" ] || { echo "no $JAR: run 'mvn -B -q package -DskipTests' first" >&2; exit 1; }
mkdir -p "$OUT"
. "$(dirname "$0")/bench-lib.sh"

# --- Redis ---
start_redis "$OUT" "$JAR"

# --- server nodes ---
# start_node NAME [JVM flags...]: sets NODE_URL and NODE_PID
start_node() {
  local name=$1; shift
  local log=$OUT/$name.log
  # every bench session comes from 127.0.0.1: lift the per-address cap (256) for the idle runs
  "$JAVA" "$@" -jar "$JAR" --host 127.0.0.1 --port 0 --redis "$REDIS" --rate-limit 1000000 \
    --max-connections-per-address 100000 > "$log" 2>&1 &
  NODE_PID=$!
  STARTED+=($NODE_PID)
  for _ in $(seq 150); do grep -q "listening on" "$log" && break; sleep 0.2; done
  local port
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$log" | head -1)
  [ -n "$port" ] || { echo "node $name did not start:" >&2; cat "$log" >&2; exit 1; }
  NODE_URL=ws://127.0.0.1:$port/distlock/lock
}
stop_node() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# Waits (at most 10 minutes) for the machine to be quieter than MAX_LOAD, if set.
quiet() {
  [ "$MAX_LOAD" = 0 ] && return 0
  for _ in $(seq 120); do
    awk -v max="$MAX_LOAD" '{ exit !($1 < max) }' /proc/loadavg && return 0
    sleep 5
  done
  echo "load average still $(cut -d' ' -f1-3 /proc/loadavg) after 10 minutes; measuring anyway" >&2
}
bench() { quiet; "$JAVA" -jar "$JAR" bench "$@"; }

start_node node-a; A_URL=$NODE_URL; A_PID=$NODE_PID
start_node node-b; B_URL=$NODE_URL; B_PID=$NODE_PID
echo "Redis $REDIS, nodes $A_URL (pid $A_PID) and $B_URL (pid $B_PID); results in $OUT"

# JIT warm-up of both nodes (not recorded): what a long-running server has behind it.
for scenario in uncontended mixed; do
  bench --url "$A_URL" --url "$B_URL" --sessions 64 --scenario "$scenario" --warmup 0s --duration 10s > /dev/null || true
done
# The queue's code paths too (a node's first queued hand-overs run interpreted: 3-5x the CPU per pair).
if has_set queue; then
  bench --url "$A_URL" --url "$B_URL" --sessions 16 --hot-locks 1 --scenario contended --wait --also-retry \
    --warmup 0s --duration 10s > /dev/null || true
  bench --url "$A_URL" --url "$B_URL" --sessions 16 --hot-locks 1 --scenario shared --wait --warmup 0s --duration 10s > /dev/null || true
fi

# --- the tables: every scenario at every session count, one node with the baselines, two nodes ---
has_set tables && for scenario in $SCENARIOS; do
  for n in $SESSIONS; do
    echo "== $scenario, $n sessions, 1 node (with --direct and --redisson)"
    bench --url "$A_URL" --sessions "$n" --scenario "$scenario" --warmup "$WARMUP" --duration "$DURATION" \
      --direct "$REDIS" --redisson "$REDIS" --redis-stats "$REDIS" \
      --json "$OUT/$scenario-$n-1node.json" --hgrm "$OUT/$scenario-$n-1node.hgrm" | grep -v '^\[' || true
    echo "== $scenario, $n sessions, 2 nodes"
    bench --url "$A_URL" --url "$B_URL" --sessions "$n" --scenario "$scenario" --warmup "$WARMUP" --duration "$DURATION" \
      --redis-stats "$REDIS" --json "$OUT/$scenario-$n-2nodes.json" --hgrm "$OUT/$scenario-$n-2nodes.hgrm" | grep -v '^\[' || true
  done
done

# --- the targets, RUNS times each, side by side in one run ---
has_set targets && for run in $(seq "$RUNS"); do
  echo "== target run $run: 1 session, WebSocket vs core vs Redisson"
  bench --url "$A_URL" --sessions 1 --warmup "$TARGET_WARMUP" --duration "$TARGET_DURATION" \
    --direct "$REDIS" --redisson "$REDIS" --redis-stats "$REDIS" \
    --json "$OUT/target-latency-$run.json" --hgrm "$OUT/target-latency-$run.hgrm" | grep -v '^\[' || true
  echo "== target run $run: 64 sessions, server CPU per pair vs core in-process"
  bench --url "$A_URL" --sessions 64 --warmup "$TARGET_WARMUP" --duration "$TARGET_DURATION" \
    --direct "$REDIS" --redisson "$REDIS" --redis-stats "$REDIS" \
    --json "$OUT/target-cpu-$run.json" --hgrm "$OUT/target-cpu-$run.hgrm" | grep -v '^\[' || true
  echo "== target run $run: contended over two nodes, release -> RETRY (4 sessions per lock)"
  bench --url "$A_URL" --url "$B_URL" --sessions 8 --hot-locks 2 --scenario contended --warmup "$TARGET_WARMUP" \
    --duration "$TARGET_DURATION" --redis-stats "$REDIS" --json "$OUT/target-retry-$run.json" | grep -v '^\[' || true
done

# --- protocol version 2, RUNS times each: one hot name over both nodes, queued (--wait) beside the
# RETRY path and Redisson in one run; one node with the core in-process beside it (where the time
# goes); readers and writers with and without the queue ---
has_set queue && for run in $(seq "$RUNS"); do
  for n in $QUEUE_SESSIONS; do
    echo "== queue run $run: contended, $n sessions on one name over two nodes, --wait vs RETRY vs Redisson"
    bench --url "$A_URL" --url "$B_URL" --sessions "$n" --hot-locks 1 --scenario contended --wait --also-retry \
      --warmup "$TARGET_WARMUP" --duration "$TARGET_DURATION" --redisson "$REDIS" --redis-stats "$REDIS" \
      --json "$OUT/queue-$n-$run.json" --hgrm "$OUT/queue-$n-$run.hgrm" | grep -v '^\[' || true
  done
  echo "== queue run $run: contended, 16 sessions on one name, one node, queued over WebSocket vs the core in-process vs Redisson"
  bench --url "$A_URL" --sessions 16 --hot-locks 1 --scenario contended --wait --direct "$REDIS" --redisson "$REDIS" \
    --redis-stats "$REDIS" --warmup "$TARGET_WARMUP" --duration "$TARGET_DURATION" \
    --json "$OUT/queue-parts-16-$run.json" | grep -v '^\[' || true
  echo "== queue run $run: shared, 16 sessions on one name over two nodes, 90% readers, --wait vs not vs Redisson RReadWriteLock"
  bench --url "$A_URL" --url "$B_URL" --sessions 16 --hot-locks 1 --scenario shared --readers 90 --wait --also-retry \
    --warmup "$TARGET_WARMUP" --duration "$TARGET_DURATION" --redisson "$REDIS" --redis-stats "$REDIS" \
    --json "$OUT/queue-shared-16-$run.json" | grep -v '^\[' || true
done

stop_node "$A_PID"
stop_node "$B_PID"

# --- idle sessions: one fresh node with -Xmx512m per size ---
has_set idle && for n in $IDLE; do
  echo "== idle: $n sessions on one node with -Xmx512m"
  start_node "idle-$n" -Xmx512m
  bench --url "$NODE_URL" --scenario idle --sessions "$n" --duration 5s --server-pid "$NODE_PID" \
    --json "$OUT/idle-$n.json" || true
  stop_node "$NODE_PID"
done

# --- chart and tables ---
has_set targets && python3 "$ROOT/scripts/hgrm-to-svg.py" "$OUT/latency.svg" \
  "WebSocket, 1 session=$OUT/target-latency-1.hgrm" \
  "core in-process, 1 session=$OUT/target-latency-1-direct.hgrm" \
  "Redisson, 1 session=$OUT/target-latency-1-redisson.hgrm" \
  "WebSocket, 64 sessions=$OUT/target-cpu-1.hgrm" \
  "core in-process, 64 sessions=$OUT/target-cpu-1-direct.hgrm" \
  "Redisson, 64 sessions=$OUT/target-cpu-1-redisson.hgrm"
python3 "$ROOT/scripts/bench-tables.py" "$OUT" > "$OUT/results.md"
echo "wrote $OUT/results.md and $OUT/latency.svg"
