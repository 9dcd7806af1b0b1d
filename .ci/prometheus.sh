#!/usr/bin/env bash
# Start/stop a throwaway Prometheus (Debian's `prometheus` package) on loopback
# for the integration tests.
#
#   .ci/prometheus.sh start | stop | status
#
# It scrapes one job, `reckon`, every second from the targets listed in the
# file_sd file $RECKON_PROM_SD_FILE (JSON, created as `[]` by start). Tests put the
# address of the reckon under test there, e.g.
#     [{"targets": ["127.0.0.1:9464"], "labels": {"instance": "reckon-1"}}]
# (write a temporary file and rename it over the old one, so Prometheus never
# reads half a file); Prometheus picks it up within ~1s.
#
# Environment (all optional):
#   PROMETHEUS_PORT        listen port on 127.0.0.1 (default 9090)
#   RECKON_PROM_SD_FILE    file_sd file (default <state dir>/reckon-targets.json)
#   RECKON_PROM_RULES_DIR  if set, every *.yml / *.yaml in it is loaded as rule files
#                          (POST /-/reload after changing them; lifecycle API is on)
#   PROMETHEUS_NATIVE_HISTOGRAMS  1 (default) or 0; see the note in write_config
#   PROMETHEUS_STATE_DIR   config, data, log and pid (default ${TMPDIR:-/tmp}/reckon-prometheus-$PORT);
#                          removed by stop
#   PROMETHEUS_BIN         the prometheus binary (default: prometheus on PATH)
set -euo pipefail

PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
PROMETHEUS_BIN="${PROMETHEUS_BIN:-prometheus}"
PROMETHEUS_NATIVE_HISTOGRAMS="${PROMETHEUS_NATIVE_HISTOGRAMS:-1}"
STATE="${PROMETHEUS_STATE_DIR:-${TMPDIR:-/tmp}/reckon-prometheus-$PROMETHEUS_PORT}"
SD_FILE="${RECKON_PROM_SD_FILE:-$STATE/reckon-targets.json}"
pidfile="$STATE/prometheus.pid"
logfile="$STATE/prometheus.log"
config="$STATE/prometheus.yml"
url="http://127.0.0.1:$PROMETHEUS_PORT"

say() { printf 'prometheus.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# "2.42.0" from "prometheus, version 2.42.0+ds (branch: …)"
prom_version() {
  "$PROMETHEUS_BIN" --version 2>&1 | sed -n 's/^prometheus, version \([0-9][0-9.]*\).*/\1/p' | head -n1
}

# ver_ge 2.45 → true when the installed Prometheus is at least 2.45.
ver_ge() {
  local have="$1" want="$2"
  [[ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" == "$want" ]]
}

FEATURES=()

write_config() {
  local v="$1" global_extra="" job_extra=""
  FEATURES=()
  if [[ "$PROMETHEUS_NATIVE_HISTOGRAMS" == 1 ]]; then
    if ver_ge "$v" 3.8; then
      # 3.8+: native histograms are stable and switched on per scrape config.
      global_extra+=$'\n  scrape_native_histograms: true'
    else
      # 2.40 – 3.7: behind a feature flag; with it, scrapes negotiate the
      # protobuf format, which is the only one that carries native histograms.
      FEATURES+=(native-histograms)
    fi
    # With native histograms on, a histogram that has native buckets is stored
    # ONLY as a native histogram, unless classic buckets are asked for as well.
    # reckon exports both (docs/metrics.md), and tests query both, so keep both where
    # this Prometheus can (2.45+). Prometheus 2.42 (Debian 12) cannot: there the
    # _bucket/_sum/_count series of such histograms are absent, and queries must
    # use histogram_quantile/histogram_count/histogram_sum on the native series.
    if ver_ge "$v" 3.0; then
      job_extra+=$'\n    always_scrape_classic_histograms: true'
    elif ver_ge "$v" 2.45; then
      job_extra+=$'\n    scrape_classic_histograms: true'
    fi
  fi

  local rules=""
  if [[ -n "${RECKON_PROM_RULES_DIR:-}" ]]; then
    rules=$'rule_files:\n'"  - $RECKON_PROM_RULES_DIR/*.yml"$'\n'"  - $RECKON_PROM_RULES_DIR/*.yaml"
  fi

  cat > "$config" <<EOF
# Written by .ci/prometheus.sh for Prometheus $v; removed by 'prometheus.sh stop'.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s$global_extra
$rules
scrape_configs:
  - job_name: reckon
    metrics_path: /metrics
    file_sd_configs:
      - files: ['$SD_FILE']
        refresh_interval: 1s$job_extra
EOF
}

start() {
  if pid="$(running_pid)"; then
    say "already running (pid $pid, $url)"
    return 0
  fi
  command -v "$PROMETHEUS_BIN" >/dev/null 2>&1 || die "prometheus not found (Debian: apt-get install prometheus)"
  port_open "$PROMETHEUS_PORT" && die "127.0.0.1:$PROMETHEUS_PORT is already in use (Debian's prometheus service? 'service prometheus stop'); set PROMETHEUS_PORT"
  local v; v="$(prom_version)"
  [[ -n "$v" ]] || die "cannot tell the version of $PROMETHEUS_BIN"

  rm -rf "$STATE"
  mkdir -p "$STATE/data"
  mkdir -p "$(dirname "$SD_FILE")"
  echo '[]' > "$SD_FILE.tmp.$$" && mv -f "$SD_FILE.tmp.$$" "$SD_FILE"
  write_config "$v"
  if command -v promtool >/dev/null 2>&1; then
    promtool check config "$config" > "$STATE/promtool.log" 2>&1 \
      || { cat "$STATE/promtool.log" >&2; die "generated config rejected by promtool"; }
  fi

  local args=(
    --config.file="$config"
    --storage.tsdb.path="$STATE/data"
    --storage.tsdb.retention.time=1d
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"
    --web.enable-lifecycle
    --web.enable-admin-api
    --log.level=info
  )
  if ((${#FEATURES[@]})); then
    args+=(--enable-feature="$(IFS=,; echo "${FEATURES[*]}")")
  fi

  # Started directly (there is no systemd here), detached from this shell.
  nohup setsid "$PROMETHEUS_BIN" "${args[@]}" > "$logfile" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local pid; pid="$(cat "$pidfile")"

  local t0=$SECONDS deadline=$((SECONDS + ${PROMETHEUS_START_TIMEOUT:-60}))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "prometheus exited during start-up; last lines of its log:"
      tail -n 40 "$logfile" >&2 || true
      rm -f "$pidfile"
      exit 1
    fi
    if curl -fsS -o /dev/null --max-time 2 "$url/-/ready" 2>/dev/null; then break; fi
    if (( SECONDS >= deadline )); then
      say "prometheus not ready at $url within ${PROMETHEUS_START_TIMEOUT:-60}s; last lines of its log:"
      tail -n 40 "$logfile" >&2 || true
      stop >/dev/null 2>&1 || true
      exit 1
    fi
    sleep 0.3
  done
  say "Prometheus $v on $url (pid $pid, features: ${FEATURES[*]:-none}), ready in $((SECONDS - t0))s; targets from $SD_FILE"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    say "not running"
    rm -rf "$STATE"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 20))
  while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "prometheus (pid $pid) still running after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$STATE"
  say "stopped (pid $pid)"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    if curl -fsS -o /dev/null --max-time 2 "$url/-/ready" 2>/dev/null; then
      echo "running: Prometheus $(prom_version), pid $pid, $url"
      return 0
    fi
    echo "not ready: pid $pid, $url"
    return 1
  fi
  echo "not running"
  return 3
}

case "${1:-}" in
  start)   start ;;
  stop)    stop ;;
  status)  status ;;
  version) prom_version ;;
  *) echo "usage: $0 start|stop|status|version" >&2; exit 2 ;;
esac
