#!/usr/bin/env bash
# Jetty 12 against the runnable server's Tyrus/Grizzly as the container of a node (issue 16), on
# one Redis, in turns so that both see the same machine load:
#
#   server   distlock-server.jar (Tyrus on a Grizzly listener built by hand: WebSocket frames
#            handled on the selector threads), --rate-limit 1000000
#   jetty    JettyBenchNode (distlock-examples' tests): the endpoint in Jetty 12 wired as
#            JettyExample wires it, the same rate limit, and a /metrics the bench reads
#
#   mvn -B -q package -DskipTests
#   scripts/bench-containers.sh [OUT_DIR]        # about 8 minutes
#
# Uncontended lock+unlock at 1 and 64 sessions on one node of each (pairs/s, p50, the node's CPU
# per pair from its /metrics), then the idle scenario (IDLE sessions, each holding one lock) on a
# fresh -Xmx512m node of each: heap per session after a full GC, time to open them. Odd rounds
# run server first, even rounds jetty first. Writes OUT_DIR/<variant>-<sessions>-<round>.json and
# idle-<variant>-<round>.json, prints medians and the per-round jetty/server ratios. Stops only
# what it started, by pid.
#
# Knobs (environment): ROUNDS (3), SESSIONS ("1 64"), WARMUP (3s), DURATION (8s), IDLE (2000),
# JAR, JAVA.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=${JAR:-$ROOT/distlock-server/target/distlock-server.jar}
JAVA=${JAVA:-java}
OUT=${1:-$ROOT/target/containers-$(date +%Y%m%d-%H%M%S)}
ROUNDS=${ROUNDS:-3}
SESSIONS=${SESSIONS:-"1 64"}
WARMUP=${WARMUP:-3s}
DURATION=${DURATION:-8s}
IDLE=${IDLE:-2000}
[ -f "$JAR" ] || { echo "no $JAR: run 'mvn -B -q package -DskipTests' first" >&2; exit 1; }
mkdir -p "$OUT"

echo "== the classpath of distlock-examples' tests (a build of the modules it needs)"
(cd "$ROOT" && mvn -B -q package dependency:build-classpath -DskipTests -pl distlock-examples -am \
  -Dmdep.outputFile="$OUT/classpath" > "$OUT/maven.log" 2>&1) || { cat "$OUT/maven.log" >&2; exit 1; }
CP=$ROOT/distlock-examples/target/test-classes:$ROOT/distlock-examples/target/classes:$(cat "$OUT/classpath")

. "$(dirname "$0")/bench-lib.sh"

start_redis "$OUT" "$JAR"

# start_node VARIANT LOG [JVM flags...]: sets NODE_URL and NODE_PID
start_node() {
  local variant=$1 log=$2; shift 2
  local port
  port=$(free_port)
  if [ "$variant" = jetty ]; then
    "$JAVA" "$@" -cp "$CP" io.distlock.examples.JettyBenchNode "$REDIS" "$port" > "$log" 2>&1 &
  else
    "$JAVA" "$@" -jar "$JAR" --host 127.0.0.1 --port "$port" --redis "$REDIS" --rate-limit 1000000 \
      --max-connections-per-address 1000000 > "$log" 2>&1 &
  fi
  NODE_PID=$!
  STARTED+=($NODE_PID)
  for _ in $(seq 150); do grep -q "listening on" "$log" && break; sleep 0.2; done
  grep -q "listening on" "$log" || { echo "node $variant did not start:" >&2; cat "$log" >&2; exit 1; }
  NODE_URL=ws://127.0.0.1:$port/distlock/lock
}
stop_node() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

declare -A URL
start_node server "$OUT/server.log"; URL[server]=$NODE_URL
start_node jetty "$OUT/jetty.log"; URL[jetty]=$NODE_URL
echo "Redis $REDIS; server ${URL[server]}, jetty ${URL[jetty]}; results in $OUT"
echo "== warm-up (a new Redis's quarantine, the JIT of both nodes; not recorded)"
for v in server jetty; do
  "$JAVA" -jar "$JAR" bench --url "${URL[$v]}" --sessions 64 --warmup 0s --duration 15s > /dev/null || true
done

for round in $(seq "$ROUNDS"); do
  order="server jetty"; [ $((round % 2)) = 0 ] && order="jetty server"
  for n in $SESSIONS; do
    for v in $order; do
      echo "== round $round, $n sessions, $v (load $(cut -d' ' -f1-3 /proc/loadavg))"
      "$JAVA" -jar "$JAR" bench --url "${URL[$v]}" --sessions "$n" --warmup "$WARMUP" --duration "$DURATION" \
        --json "$OUT/$v-$n-$round.json" | grep -E '^(pairs/s|lock\+unlock p50 |server CPU|errors|violations)' || true
    done
  done
done

for round in $(seq "$ROUNDS"); do
  order="server jetty"; [ $((round % 2)) = 0 ] && order="jetty server"
  for v in $order; do
    start_node "$v" "$OUT/idle-$v-$round.log" -Xmx512m
    echo "== idle, round $round, $IDLE sessions, $v (load $(cut -d' ' -f1-3 /proc/loadavg))"
    "$JAVA" -jar "$JAR" bench --url "$NODE_URL" --scenario idle --sessions "$IDLE" --server-pid "$NODE_PID" \
      --json "$OUT/idle-$v-$round.json" | grep -E '^(heap per session|time to open|errors)' || true
    stop_node "$NODE_PID"
  done
done

python3 - "$OUT" "$SESSIONS" <<'EOF'
import glob, json, os, re, statistics, sys
out, sessions = sys.argv[1], sys.argv[2].split()
def runs(pattern):
    found = {}
    for p in glob.glob(os.path.join(out, pattern)):
        found[int(re.search(r"-(\d+)\.json$", p).group(1))] = json.load(open(p))
    return found
def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None
def f(v, d=0):
    return "–" if v is None else f"{v:,.{d}f}"
def ratio(a, b, key):
    q = [a[k][key] / b[k][key] for k in sorted(set(a) & set(b)) if a[k].get(key) and b[k].get(key)]
    return f"{statistics.median(q):.2f} ({min(q):.2f}–{max(q):.2f})" if q else "–"
print("| sessions | container | pairs/s | p50 µs | p99 µs | node CPU µs per pair | errors | violations | load average (per run) |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
for n in sessions:
    for v in ("server", "jetty"):
        r = [x for _, x in sorted(runs(f"{v}-{n}-*.json").items())]
        if r:
            print(f"| {n} | {v} | {f(med([x['pairs_per_s'] for x in r]))} | {f(med([x['pair_p50_us'] for x in r]))} | "
                  f"{f(med([x['pair_p99_us'] for x in r]))} | {f(med([x.get('server_cpu_us_per_pair') for x in r]))} | "
                  f"{sum(x['errors'] for x in r)} | {sum(x['violations'] for x in r)} | "
                  f"{', '.join(f(x.get('load_average_start'), 1) for x in r)} |")
print()
print("| sessions | jetty / server, per round | pairs/s | p50 | node CPU per pair |")
print("|---:|---|---:|---:|---:|")
for n in sessions:
    a, b = runs(f"jetty-{n}-*.json"), runs(f"server-{n}-*.json")
    print(f"| {n} | median (range) | {ratio(a, b, 'pairs_per_s')} | {ratio(a, b, 'pair_p50_us')} | {ratio(a, b, 'server_cpu_us_per_pair')} |")
print()
print("| idle | heap per session, bytes (per run) | median | time to open, s (per run) | errors |")
print("|---|---|---:|---|---:|")
for v in ("server", "jetty"):
    r = [x for _, x in sorted(runs(f"idle-{v}-*.json").items())]
    if r:
        print(f"| {v} | {', '.join(f(x.get('heap_per_session_bytes')) for x in r)} | {f(med([x.get('heap_per_session_bytes') for x in r]))} | "
              f"{', '.join(f(x.get('open_s'), 1) for x in r)} | {sum(x['errors'] for x in r)} |")
EOF
