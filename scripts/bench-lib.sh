# Shared by the benchmark scripts; sourced, not run:
#
#   . "$(dirname "$0")/bench-lib.sh"
#   start_redis "$OUT" "$JAR"      # sets REDIS (redis://127.0.0.1:<port>) and REDIS_PORT
#
# Whatever a script starts goes into STARTED (pids) and is stopped when it exits, by pid, and
# nothing else.

STARTED=()
cleanup() {
  for pid in "${STARTED[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  for pid in "${STARTED[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_redis OUT_DIR JAR: a redis-server on loopback (the one on the PATH, or the one JAR ships),
# on REDIS_PORT if set, else a free port; its log in OUT_DIR/redis.log.
start_redis() {
  local out=$1 jar=$2 bin entry
  bin=$(command -v redis-server || true)
  if [ -z "$bin" ]; then
    case "$(uname -m)" in
      x86_64) entry=redis-server-6.2.6-v5-linux-amd64 ;;
      aarch64|arm64) entry=redis-server-6.2.7-linux-arm64 ;;
      *) echo "no redis-server on the PATH and none shipped for $(uname -m)" >&2; exit 1 ;;
    esac
    bin=$out/redis-server
    unzip -p "$jar" "$entry" > "$bin"
    chmod +x "$bin"
  fi
  REDIS_PORT=${REDIS_PORT:-$(free_port)}
  "$bin" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --protected-mode yes > "$out/redis.log" 2>&1 &
  STARTED+=($!)
  REDIS=redis://127.0.0.1:$REDIS_PORT
  for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/"$REDIS_PORT") 2>/dev/null && break; sleep 0.1; done
}
