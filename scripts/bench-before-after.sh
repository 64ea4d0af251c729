#!/usr/bin/env bash
# Measures two server jars side by side on this machine: one node from each on one Redis, the
# same bench against them in turns (before, after, before, after...), so that both see the
# same machine load. For "did this change cost anything?", e.g. the uncontended path before
# and after the queue of protocol version 2:
#
#   git archive c7c4e6f | tar -x -C /tmp/before && (cd /tmp/before && mvn -B -q package -DskipTests -pl distlock-server -am)
#   mvn -B -q package -DskipTests
#   scripts/bench-before-after.sh /tmp/before/distlock-server/target/distlock-server.jar \
#       distlock-server/target/distlock-server.jar [OUT_DIR]
#
# Each round runs, against each node: 1 session and 64 sessions uncontended over WebSocket, with
# AFTER_JAR's bench for both (one load generator; it speaks version 1 unless told otherwise),
# with --redis-stats; then the same with --direct, each jar's own bench and core in the bench's
# JVM. Writes OUT_DIR/<before|after>-<sessions>-<round>.json and
# <before|after>-direct-<sessions>-<round>.json, and prints a table of the medians with the
# load averages. Stops only what it started, by pid.
#
# Knobs (environment): ROUNDS (3), WARMUP (3s), DURATION (5s), SESSIONS ("1 64"), MAX_LOAD (0:
# off; else each round first waits, at most 10 minutes, for the 1-minute load average to fall
# below it), JAVA.
set -euo pipefail

BEFORE=${1:?usage: bench-before-after.sh BEFORE_JAR AFTER_JAR [OUT_DIR]}
AFTER=${2:?usage: bench-before-after.sh BEFORE_JAR AFTER_JAR [OUT_DIR]}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${3:-$ROOT/target/before-after-$(date +%Y%m%d-%H%M%S)}
JAVA=${JAVA:-java}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-3s}
DURATION=${DURATION:-5s}
SESSIONS=${SESSIONS:-"1 64"}
MAX_LOAD=${MAX_LOAD:-0}
mkdir -p "$OUT"
. "$(dirname "$0")/bench-lib.sh"

start_redis "$OUT" "$AFTER"

start_node() { # NAME JAR: sets NODE_URL
  local log=$OUT/$1.log
  "$JAVA" -jar "$2" --host 127.0.0.1 --port 0 --redis "$REDIS" --rate-limit 1000000 > "$log" 2>&1 &
  STARTED+=($!)
  for _ in $(seq 150); do grep -q "listening on" "$log" && break; sleep 0.2; done
  local port
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$log" | head -1)
  [ -n "$port" ] || { echo "node $1 did not start:" >&2; cat "$log" >&2; exit 1; }
  NODE_URL=ws://127.0.0.1:$port/distlock/lock
}
start_node before "$BEFORE"; BEFORE_URL=$NODE_URL
start_node after "$AFTER"; AFTER_URL=$NODE_URL
echo "Redis $REDIS; before $BEFORE_URL ($BEFORE), after $AFTER_URL ($AFTER); results in $OUT"

for which in before after; do # JIT warm-up, not recorded
  jar=$BEFORE; url=$BEFORE_URL
  [ "$which" = after ] && { jar=$AFTER; url=$AFTER_URL; }
  "$JAVA" -jar "$jar" bench --url "$url" --sessions 64 --warmup 0s --duration 15s > /dev/null || true
done
quiet() {
  [ "$MAX_LOAD" = 0 ] && return 0
  for _ in $(seq 120); do
    awk -v max="$MAX_LOAD" '{ exit !($1 < max) }' /proc/loadavg && return 0
    sleep 5
  done
  echo "load average still $(cut -d' ' -f1-3 /proc/loadavg) after 10 minutes; measuring anyway" >&2
}
for round in $(seq "$ROUNDS"); do
  quiet
  for n in $SESSIONS; do
    for which in before after; do
      jar=$BEFORE; url=$BEFORE_URL
      [ "$which" = after ] && { jar=$AFTER; url=$AFTER_URL; }
      echo "== round $round, $n sessions, $which"
      "$JAVA" -jar "$AFTER" bench --url "$url" --sessions "$n" --warmup "$WARMUP" --duration "$DURATION" \
        --redis-stats "$REDIS" --json "$OUT/$which-$n-$round.json" | grep -v '^\[' || true
      "$JAVA" -jar "$jar" bench --direct "$REDIS" --sessions "$n" --warmup "$WARMUP" --duration "$DURATION" \
        --json "$OUT/$which-direct-$n-$round.json" | grep -v '^\[' || true
    done
  done
done

python3 - "$OUT" "$SESSIONS" <<'EOF'
import glob, json, os, statistics, sys
out, sessions = sys.argv[1], sys.argv[2].split()
def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None
def f(v, d=0):
    return "–" if v is None else f"{v:,.{d}f}"
print("| sessions | | WebSocket pairs/s | p50 µs | p99 µs | server CPU µs/pair | Redis cmds sent/pair | executed/pair "
      "| Redis CPU µs/pair | core pairs/s | core p50 µs | load avg (per round) |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for n in sessions:
    for which in ("before", "after"):
        runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, f"{which}-{n}-*.json")))]
        if not runs:
            continue
        core = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, f"{which}-direct-{n}-*.json")))]
        print(f"| {n} | {which} | {f(med([r['pairs_per_s'] for r in runs]))} | {f(med([r['pair_p50_us'] for r in runs]))} | "
              f"{f(med([r['pair_p99_us'] for r in runs]))} | {f(med([r.get('server_cpu_us_per_pair') for r in runs]))} | "
              f"{f(med([r.get('redis_commands_per_pair') for r in runs]), 2)} | "
              f"{f(med([r.get('redis_commands_executed_per_pair') for r in runs]), 1)} | "
              f"{f(med([r.get('redis_cpu_us_per_pair') for r in runs]), 1)} | {f(med([c['pairs_per_s'] for c in core if c]))} | "
              f"{f(med([c['pair_p50_us'] for c in core if c]))} | "
              f"{', '.join(f(r.get('load_average_start'), 1) for r in runs)} |")
EOF
