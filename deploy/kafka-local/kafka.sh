#!/usr/bin/env bash
# Run a real single-node Apache Kafka broker (KRaft, combined broker+controller)
# on loopback, without Docker: Apache Kafka's own jars from Maven Central, run
# with the local JDK (17+).
#
#   kafka.sh start | stop | restart | status | version | fetch | log
#   kafka.sh halt | resume      stop the broker keeping its data, and start it
#                               again on that data (tests of a broker restart)
#
# Several brokers can run side by side, each with its own KAFKA_RUN_DIR,
# KAFKA_PORT and KAFKA_CONTROLLER_PORT.
#
# Environment (all optional):
#   KAFKA_VERSION          Apache Kafka release from Maven Central (default: pom.xml's, 4.1.2)
#   KAFKA_PORT             client listener port, PLAINTEXT on 127.0.0.1 (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port (default 9093)
#   KAFKA_AUTO_CREATE_TOPICS  auto.create.topics.enable (default false)
#   KAFKA_HEAP_OPTS        JVM heap flags (default -Xms256m -Xmx1g)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to answer (default 90)
#   RECKON_KAFKA_HOME      jar cache (default $HOME/.cache/reckon-kafka); a second
#                          start on the same machine needs no network
#   KAFKA_RUN_DIR          config, data, log and pid of the running broker
#                          (default deploy/kafka-local/.run); removed by stop
#   JAVA_HOME / MVN        which java and mvn to use
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_AUTO_CREATE_TOPICS="${KAFKA_AUTO_CREATE_TOPICS:-false}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
RECKON_KAFKA_HOME="${RECKON_KAFKA_HOME:-${HOME:-/root}/.cache/reckon-kafka}"
KAFKA_RUN_DIR="${KAFKA_RUN_DIR:-$here/.run}"
MVN="${MVN:-mvn}"
if [[ -n "${JAVA_HOME:-}" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA="java"; fi

default_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml" | head -n1
}
KAFKA_VERSION="${KAFKA_VERSION:-$(default_version)}"
libs="$RECKON_KAFKA_HOME/$KAFKA_VERSION/libs"

pidfile="$KAFKA_RUN_DIR/kafka.pid"
logfile="$KAFKA_RUN_DIR/logs/server.log"   # log4j2 output
stdoutfile="$KAFKA_RUN_DIR/logs/stdout.log" # JVM stdout/stderr
props="$KAFKA_RUN_DIR/server.properties"

say() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# The version of the running broker (from its log), else of the cached jars.
broker_version() {
  local v=""
  if [[ -f "$logfile" ]]; then
    v="$(sed -n 's/.*Kafka version: \([^ ]*\).*/\1/p' "$logfile" | head -n1)"
  fi
  echo "${v:-$KAFKA_VERSION}"
}

check_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (Apache Kafka $KAFKA_VERSION needs JDK 17+; Debian: apt-get install openjdk-17-jre-headless)"
  local major
  major="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1)"
  major="${major#1.}"
  [[ "${major%%.*}" -ge 17 ]] 2>/dev/null || die "java $major found; Apache Kafka 4.x needs 17 or newer"
}

fetch() {
  if [[ -f "$libs/.complete" ]]; then return 0; fi
  command -v "$MVN" >/dev/null 2>&1 || die "mvn not found; needed once to fetch Apache Kafka $KAFKA_VERSION from Maven Central (Debian: apt-get install maven)"
  say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $libs"
  local tmp="$libs.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # copy-dependencies is run on the pom directly: no build, nothing written in the repo.
  if ! "$MVN" -B -q -ntp -Dstyle.color=never -f "$here/pom.xml" \
      -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp"; then
    rm -rf "$tmp"
    die "could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION (is the version on Maven Central?)"
  fi
  ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "kafka_2.13 jar missing after fetch"; }
  rm -rf "$libs"
  mv "$tmp" "$libs"
  echo "$KAFKA_VERSION" > "$libs/.complete"
}

classpath() {
  local cp="" j
  for j in "$libs"/*.jar; do cp="${cp:+$cp:}$j"; done
  echo "$cp"
}

# A Kafka cluster id: 16 random bytes, URL-safe base64 without padding.
cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* ]] && { echo "$id"; return; }
  done
}

write_config() {
  mkdir -p "$KAFKA_RUN_DIR/data" "$KAFKA_RUN_DIR/logs"
  cat > "$props" <<EOF
# Written by deploy/kafka-local/kafka.sh; removed by 'kafka.sh stop'.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_RUN_DIR/data

# One node: every internal topic has replication factor 1, so consumer groups
# and transactions (exactly-once) work.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1

# Tests want answers now, not after the production grace periods.
group.initial.rebalance.delay.ms=0
num.partitions=1

# reckon creates the topics it owns (internal, dead-letter, results) itself, and
# the input topics must be created co-partitioned on purpose; with auto-creation
# off, a missing topic is an error here exactly as on a locked-down production
# cluster, instead of silently becoming a 1-partition topic.
auto.create.topics.enable=$KAFKA_AUTO_CREATE_TOPICS
delete.topic.enable=true
EOF
  cat > "$KAFKA_RUN_DIR/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $logfile
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
}

jvm_common() {
  echo "-Djava.awt.headless=true -Dlog4j2.configurationFile=$KAFKA_RUN_DIR/log4j2.properties -Dkafka.logs.dir=$KAFKA_RUN_DIR/logs"
}

start() {
  if pid="$(running_pid)"; then
    say "already running (pid $pid, Apache Kafka $(broker_version), 127.0.0.1:$KAFKA_PORT)"
    return 0
  fi
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "port 127.0.0.1:$p is already in use (another Kafka?); set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
  done
  check_java
  fetch
  rm -rf "$KAFKA_RUN_DIR"
  write_config
  local cp; cp="$(classpath)"
  local t0=$SECONDS

  # shellcheck disable=SC2046
  "$JAVA" -Xmx256m $(jvm_common) -cp "$cp" kafka.tools.StorageTool \
    format --config "$props" --cluster-id "$(cluster_id)" --ignore-formatted \
    > "$KAFKA_RUN_DIR/logs/format.log" 2>&1 \
    || { cat "$KAFKA_RUN_DIR/logs/format.log" >&2; die "formatting the log directory failed"; }
  launch "$t0"
}

# resume starts the broker of an existing KAFKA_RUN_DIR (left by halt) on its
# data, with the configuration it was formatted with.
resume() {
  if pid="$(running_pid)"; then
    say "already running (pid $pid, Apache Kafka $(broker_version), 127.0.0.1:$KAFKA_PORT)"
    return 0
  fi
  [[ -f "$props" ]] || die "no broker to resume in $KAFKA_RUN_DIR (start one first)"
  # The ports are those the data was formatted with, whatever the environment says.
  KAFKA_PORT="$(sed -n 's/^advertised.listeners=.*:\([0-9]*\)$/\1/p' "$props")"
  KAFKA_CONTROLLER_PORT="$(sed -n 's/^controller.quorum.voters=.*:\([0-9]*\)$/\1/p' "$props")"
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "port 127.0.0.1:$p is already in use"
  done
  check_java
  fetch
  # A fresh log, so that the start-up check below sees this start's line.
  [[ -f "$logfile" ]] && mv "$logfile" "$logfile.$(date +%s%N)"
  launch "$SECONDS"
}

# launch runs the broker of $props in the background and waits until it answers.
launch() {
  local t0=$1 cp; cp="$(classpath)"

  # setsid + nohup: the broker outlives this script and the shell that ran it.
  # shellcheck disable=SC2086,SC2046
  nohup setsid "$JAVA" -server $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    $(jvm_common) -cp "$cp" kafka.Kafka "$props" \
    > "$stdoutfile" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local pid; pid="$(cat "$pidfile")"

  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "broker exited during start-up; last lines of $logfile:"
      tail -n 40 "$logfile" >&2 || true
      say "last lines of the JVM's own output ($stdoutfile):"
      tail -n 20 "$stdoutfile" >&2 || true
      rm -f "$pidfile"
      exit 1
    fi
    if port_open "$KAFKA_PORT" && grep -q "Kafka Server started" "$logfile" 2>/dev/null; then
      break
    fi
    if (( SECONDS >= deadline )); then
      say "broker did not answer on 127.0.0.1:$KAFKA_PORT within ${KAFKA_START_TIMEOUT}s; last lines of its log:"
      tail -n 60 "$logfile" >&2 || tail -n 40 "$stdoutfile" >&2 || true
      stop >/dev/null 2>&1 || true
      exit 1
    fi
    sleep 0.5
  done
  say "Apache Kafka $(broker_version) (KRaft, broker+controller) on 127.0.0.1:$KAFKA_PORT, pid $pid, up in $((SECONDS - t0))s; log $logfile"
}

stop() {
  halt
  rm -rf "$KAFKA_RUN_DIR"
}

# halt stops the broker and keeps KAFKA_RUN_DIR (configuration and data).
halt() {
  local pid
  if ! pid="$(running_pid)"; then
    say "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + ${KAFKA_STOP_TIMEOUT:-30}))
  while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    say "broker (pid $pid) still running after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$pidfile"
  say "stopped (pid $pid)"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    if port_open "$KAFKA_PORT"; then
      echo "running: Apache Kafka $(broker_version), pid $pid, 127.0.0.1:$KAFKA_PORT"
      return 0
    fi
    echo "starting or unhealthy: pid $pid, 127.0.0.1:$KAFKA_PORT not answering"
    return 1
  fi
  echo "not running"
  return 3
}

case "${1:-}" in
  start)   start ;;
  stop)    stop ;;
  restart) stop; start ;;
  status)  status ;;
  version) broker_version ;;
  fetch)   check_java; fetch; echo "$libs" ;;
  halt)    halt ;;
  resume)  resume ;;
  log)     exec tail -n "${2:-100}" "$logfile" ;;
  *) echo "usage: $0 start|stop|restart|status|version|fetch|halt|resume|log [N]" >&2; exit 2 ;;
esac
