#!/usr/bin/env bash
# What a watcher of a lock with a long queue costs everybody else: scripts/WatchLongQueue.java
# against a fresh redis-server per run, not watched then watched, ROUNDS times (default 3).
#
#   mvn -B -q package -DskipTests && scripts/watch-long-queue.sh [QUEUED (default 1000)]
#
# CLASSES (default distlock-core/target/classes) picks the build measured, so that two builds
# can be compared in one invocation: CLASSES="before:/path/a after:/path/b". Stops only what it
# started, by pid.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUEUED=${1:-1000}
ROUNDS=${ROUNDS:-3}
CLASSES=${CLASSES:-"this:$ROOT/distlock-core/target/classes"}
OUT=$(mktemp -d)
. "$ROOT/scripts/bench-lib.sh"
DEPS=$OUT/cp.txt
(cd "$ROOT" && mvn -B -q -o -pl distlock-core dependency:build-classpath -Dmdep.outputFile="$DEPS" > /dev/null)
JAR=$(ls "$ROOT"/distlock-server/target/distlock-server.jar)
for round in $(seq "$ROUNDS"); do
  for build in $CLASSES; do
    for mode in none watch; do
      unset REDIS_PORT
      start_redis "$OUT" "$JAR"
      printf 'round %s, %s, load %s: ' "$round" "${build%%:*}" "$(cut -d' ' -f1 /proc/loadavg)"
      java -cp "${build#*:}:$(cat "$DEPS")" "$ROOT/scripts/WatchLongQueue.java" "$REDIS" "$QUEUED" "$mode" 2>&1 | grep '^queued='
      kill "${STARTED[-1]}"; wait "${STARTED[-1]}" 2>/dev/null || true
    done
  done
done
