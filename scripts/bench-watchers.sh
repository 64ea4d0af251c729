#!/usr/bin/env bash
# What watching costs a lock operation (issue 14), on the core in-process (--direct), in turns on
# one Redis so that every variant sees the same machine load:
#
#   before     BEFORE_JAR's core (no change notices at all), no watchers
#   after      AFTER_JAR's core, no watchers: every change of a lock PUBLISHes to a channel nobody
#              listens to; this is what an application that watches nothing pays
#   names      AFTER_JAR, WATCHERS watchers on a second node, each watching every name of the run
#   prefix     AFTER_JAR, WATCHERS watchers on a second node, each watching the run's name prefix
#   off        AFTER_JAR with watching turned off (bench --no-watching: LockConfig.watching(false)),
#              no watchers: nothing is published; what watching costs is "after" against this
#
#   git clone -q . /tmp/before && (cd /tmp/before && git checkout -q 0e94855 && mvn -B -q package -DskipTests -pl distlock-server -am)
#   mvn -B -q package -DskipTests -pl distlock-server -am
#   scripts/bench-watchers.sh /tmp/before/distlock-server/target/distlock-server.jar \
#       distlock-server/target/distlock-server.jar [OUT_DIR]
#
# Odd rounds run the variants in VARIANTS' order, even rounds backwards. Writes
# OUT_DIR/<variant>-<sessions>-<round>.json and prints the medians over the rounds with the load
# average at the start of each run, and the per-round ratios (each watching variant against
# "after" of the same round, "after" against "before" and against "off"), whose medians
# are the figures to quote on a busy machine. Stops only what it started, by pid.
#
# Knobs (environment): ROUNDS (5), WARMUP (3s), DURATION (8s), SESSIONS ("1 16"), WATCHERS (1000),
# VARIANTS ("before after off names prefix"), REDIS_PORT (a free one), JAVA.
set -euo pipefail

BEFORE=${1:?usage: bench-watchers.sh BEFORE_JAR AFTER_JAR [OUT_DIR]}
AFTER=${2:?usage: bench-watchers.sh BEFORE_JAR AFTER_JAR [OUT_DIR]}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${3:-$ROOT/target/watchers-$(date +%Y%m%d-%H%M%S)}
JAVA=${JAVA:-java}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-3s}
DURATION=${DURATION:-8s}
SESSIONS=${SESSIONS:-"1 16"}
WATCHERS=${WATCHERS:-1000}
VARIANTS=${VARIANTS:-"before after off names prefix"}
mkdir -p "$OUT"
. "$(dirname "$0")/bench-lib.sh"

start_redis "$OUT" "$AFTER"
echo "Redis $REDIS; before $BEFORE, after $AFTER; results in $OUT"

# A new Redis is quarantined for 10 s (it may have lost locks); then JIT warm-up of both, not recorded.
"$JAVA" -jar "$AFTER" bench --direct "$REDIS" --sessions 16 --warmup 0s --duration 15s > /dev/null || true
"$JAVA" -jar "$BEFORE" bench --direct "$REDIS" --sessions 16 --warmup 0s --duration 5s > /dev/null || true

for round in $(seq "$ROUNDS"); do
  order=$VARIANTS
  [ $((round % 2)) = 0 ] && order=$(echo "$VARIANTS" | tr ' ' '\n' | tac | tr '\n' ' ')
  for n in $SESSIONS; do
    for variant in $order; do
      jar=$AFTER; extra=()
      case $variant in
        before) jar=$BEFORE ;;
        off) extra=(--no-watching) ;;
        names) extra=(--watchers "$WATCHERS" --watch-by names) ;;
        prefix) extra=(--watchers "$WATCHERS" --watch-by prefix) ;;
      esac
      echo "== round $round, $n sessions, $variant (load $(cut -d' ' -f1-3 /proc/loadavg))"
      "$JAVA" -jar "$jar" bench --direct "$REDIS" --sessions "$n" --warmup "$WARMUP" --duration "$DURATION" \
        --redis-stats "$REDIS" "${extra[@]}" --json "$OUT/$variant-$n-$round.json" \
        | grep -E '^(pairs/s|lock\+unlock p(50|99) |Redis|\.\.|CHANGED|watch|load|errors|violations)' || true
    done
  done
done

python3 - "$OUT" "$SESSIONS" "$VARIANTS" <<'EOF'
import glob, json, os, re, statistics, sys
out, sessions, variants = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
def load(path):
    return json.load(open(path))
def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None
def f(v, d=0):
    return "–" if v is None else f"{v:,.{d}f}"
def runs(variant, n):
    found = {}
    for p in glob.glob(os.path.join(out, f"{variant}-{n}-*.json")):
        found[int(re.search(r"-(\d+)\.json$", p).group(1))] = load(p)
    return found
print("| sessions | variant | runs | pairs/s | p50 µs | p99 µs | Redis cmds sent/pair | executed/pair | PUBLISH/pair "
      "| Redis CPU µs/pair | bench JVM CPU µs/pair | CHANGED told/s | watch reads/s | reads/pair | load avg (per run) |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for n in sessions:
    for v in variants:
        r = runs(v, n)
        if not r:
            continue
        rs = [r[k] for k in sorted(r)]
        pub = [x.get("redis_commands_executed", {}).get("publish", 0.0) if x.get("redis_commands_executed") is not None else None for x in rs]
        watched = rs[0].get("watchers", 0) > 0
        print(f"| {n} | {v} | {len(rs)} | {f(med([x['pairs_per_s'] for x in rs]))} | {f(med([x['pair_p50_us'] for x in rs]))} | "
              f"{f(med([x['pair_p99_us'] for x in rs]))} | {f(med([x.get('redis_commands_per_pair') for x in rs]), 2)} | "
              f"{f(med([x.get('redis_commands_executed_per_pair') for x in rs]), 2)} | {f(med(pub), 2)} | "
              f"{f(med([x.get('redis_cpu_us_per_pair') for x in rs]), 1)} | {f(med([x.get('bench_cpu_us_per_pair') for x in rs]))} | "
              f"{f(med([x.get('watch_deliveries_per_s') for x in rs])) if watched else '–'} | "
              f"{f(med([x.get('watch_reads_per_s') for x in rs])) if watched else '–'} | "
              f"{f(med([x.get('watch_reads_per_pair') for x in rs]), 2) if watched else '–'} | "
              f"{', '.join(f(x.get('load_average_start'), 1) for x in rs)} |")
print()
print("Per-round ratios (same round, runs seconds apart), median and range over the rounds:")
print()
print("| sessions | ratio | pairs/s | p50 | p99 | rounds |")
print("|---:|---|---:|---:|---:|---:|")
pairs = [("after", "before"), ("off", "before"), ("after", "off")] \
    + [(v, "after") for v in variants if v not in ("before", "after", "off")]
for n in sessions:
    for a, b in pairs:
        ra, rb = runs(a, n), runs(b, n)
        common = sorted(set(ra) & set(rb))
        if not common:
            continue
        cells = []
        for key in ("pairs_per_s", "pair_p50_us", "pair_p99_us"):
            q = [ra[k][key] / rb[k][key] for k in common if ra[k].get(key) and rb[k].get(key)]
            cells.append(f"{statistics.median(q):.2f} ({min(q):.2f}–{max(q):.2f})" if q else "–")
        print(f"| {n} | {a} / {b} | {cells[0]} | {cells[1]} | {cells[2]} | {len(common)} |")
EOF
