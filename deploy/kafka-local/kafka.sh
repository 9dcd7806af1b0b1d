#!/usr/bin/env bash
# Run a real single-node Apache Kafka broker (KRaft, combined broker+controller)
# on loopback, without Docker: Apache Kafka's own jars from Maven Central, run
# with the local JDK (17+).
#
#   kafka.sh start | stop | restart | status | version | fetch | log | env
#   kafka.sh halt | resume      stop the broker keeping its data, and start it
#                               again on that data (tests of a broker restart)
#   kafka.sh env                the running broker's addresses (and, when
#                               secured, certificate and credential files) as
#                               shell assignments: eval "$(kafka.sh env)"
#   kafka.sh kafka-acls ARGS    Apache Kafka's kafka-acls.sh, from the same jars
#
# KAFKA_SECURITY=secure starts a broker that accepts no anonymous client: a
# SASL_SSL listener (SCRAM-SHA-512) on KAFKA_PORT, a mutual-TLS listener on
# KAFKA_MTLS_PORT, an SSL controller listener, the StandardAuthorizer with
# allow.everyone.if.no.acl.found=false and one super user, admin (SCRAM
# password and client certificate written at start). Certificates are made at
# start with openssl: a CA, the broker's (for 127.0.0.1 and localhost) and
# admin's; clients' certificates are signed with the CA key (tls/ca-key.pem).
#
# Several brokers can run side by side, each with its own KAFKA_RUN_DIR,
# KAFKA_PORT and KAFKA_CONTROLLER_PORT (and KAFKA_MTLS_PORT).
#
# Environment (all optional):
#   KAFKA_VERSION          Apache Kafka release from Maven Central (default: pom.xml's, 4.1.2)
#   KAFKA_SECURITY         plaintext (default) or secure
#   KAFKA_PORT             client listener port on 127.0.0.1: PLAINTEXT (default 9092),
#                          or SASL_SSL when secure (default 9192)
#   KAFKA_MTLS_PORT        secure only: the mutual-TLS (SSL, client certificate
#                          required) listener port (default 9193)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port (default 9093; secure 9194)
#   KAFKA_AUTO_CREATE_TOPICS  auto.create.topics.enable (default false)
#   KAFKA_HEAP_OPTS        JVM heap flags (default -Xms256m -Xmx1g)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to answer (default 90)
#   RECKON_KAFKA_HOME      jar cache (default $HOME/.cache/reckon-kafka); a second
#                          start on the same machine needs no network
#   KAFKA_RUN_DIR          config, data, log, pid (and tls/) of the running broker
#                          (default deploy/kafka-local/.run, secure .run-secure);
#                          removed by stop
#   JAVA_HOME / MVN        which java and mvn to use
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

KAFKA_SECURITY="${KAFKA_SECURITY:-plaintext}"
case "$KAFKA_SECURITY" in
  plaintext) KAFKA_PORT="${KAFKA_PORT:-9092}"; KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"; run_default="$here/.run" ;;
  secure)    KAFKA_PORT="${KAFKA_PORT:-9192}"; KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9194}"; run_default="$here/.run-secure" ;;
  *) printf 'kafka.sh: error: KAFKA_SECURITY=%s (want plaintext or secure)\n' "$KAFKA_SECURITY" >&2; exit 2 ;;
esac
KAFKA_MTLS_PORT="${KAFKA_MTLS_PORT:-9193}"
KAFKA_AUTO_CREATE_TOPICS="${KAFKA_AUTO_CREATE_TOPICS:-false}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
RECKON_KAFKA_HOME="${RECKON_KAFKA_HOME:-${HOME:-/root}/.cache/reckon-kafka}"
KAFKA_RUN_DIR="${KAFKA_RUN_DIR:-$run_default}"
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
# What start chose (security, ports); resume and env read it back.
brokerenv="$KAFKA_RUN_DIR/broker.env"
tlsdir="$KAFKA_RUN_DIR/tls"

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

# stamp identifies what fetch fetched: the version and the pom's jar list.
stamp() { echo "$KAFKA_VERSION $(cksum < "$here/pom.xml")"; }

fetch() {
  if [[ -f "$libs/.complete" && "$(cat "$libs/.complete")" == "$(stamp)" ]]; then return 0; fi
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
  stamp > "$libs/.complete"
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
  local listeners
  if [[ "$KAFKA_SECURITY" == secure ]]; then
    listeners="$(secure_listeners)"
  else
    listeners="# Anyone on loopback may do anything: a broker for tests and development.
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT"
  fi
  cat > "$props" <<EOF
# Written by deploy/kafka-local/kafka.sh; removed by 'kafka.sh stop'.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
$listeners
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
  cat > "$brokerenv" <<EOF
KAFKA_SECURITY=$KAFKA_SECURITY
KAFKA_PORT=$KAFKA_PORT
KAFKA_MTLS_PORT=$KAFKA_MTLS_PORT
KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT
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

# secure_listeners prints the listener and security settings of a secured
# broker. Every listener is encrypted and authenticated: clients use SASL_SSL
# (SCRAM-SHA-512) or MTLS (a client certificate signed by the CA); the broker
# talks to itself (controller, inter-broker) over TLS with its own
# certificate, as User:broker. A certificate's principal is its CN.
secure_listeners() {
  local pw; pw="$(cat "$tlsdir/keystore.password")"
  cat <<EOF
# No anonymous client: SASL_SSL (SCRAM-SHA-512) and mutual TLS, and an
# authorizer that denies whatever no ACL allows.
listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT,MTLS://127.0.0.1:$KAFKA_MTLS_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT,MTLS://127.0.0.1:$KAFKA_MTLS_PORT
listener.security.protocol.map=SASL_SSL:SASL_SSL,MTLS:SSL,CONTROLLER:SSL
inter.broker.listener.name=MTLS
ssl.keystore.type=PKCS12
ssl.keystore.location=$tlsdir/broker.p12
ssl.keystore.password=$pw
ssl.key.password=$pw
ssl.truststore.type=PEM
ssl.truststore.location=$tlsdir/ca.pem
listener.name.mtls.ssl.client.auth=required
listener.name.controller.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^CN=([a-zA-Z0-9._-]+).*\$/\$1/,DEFAULT
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:broker
EOF
}

# make_certs writes, in $tlsdir, a CA valid for 30 days and certificates it
# signed: the broker's (CN=broker, for 127.0.0.1 and localhost; its keystore
# broker.p12) and the admin client's (CN=admin). EC P-256 keys, PKCS#8 PEM.
make_certs() {
  command -v openssl >/dev/null 2>&1 || die "openssl not found; a secured broker needs it to make certificates (Debian: apt-get install openssl)"
  mkdir -p "$tlsdir" "$KAFKA_RUN_DIR/logs"
  chmod 700 "$tlsdir"
  cat > "$tlsdir/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[v3_local_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_broker]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[v3_client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
EOF
  secret > "$tlsdir/keystore.password"
  secret > "$tlsdir/admin.password"
  local log="$KAFKA_RUN_DIR/logs/certs.log"
  {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tlsdir/ca-key.pem" &&
    openssl req -x509 -new -key "$tlsdir/ca-key.pem" -subj "/CN=reckon kafka-local CA" -days 30 \
      -config "$tlsdir/openssl.cnf" -extensions v3_local_ca -out "$tlsdir/ca.pem" &&
    sign broker v3_broker && sign admin v3_client &&
    admin_properties &&
    openssl pkcs12 -export -in "$tlsdir/broker.pem" -inkey "$tlsdir/broker-key.pem" -certfile "$tlsdir/ca.pem" \
      -name broker -passout "file:$tlsdir/keystore.password" -out "$tlsdir/broker.p12"
  } > "$log" 2>&1 || { cat "$log" >&2; die "making certificates with openssl failed"; }
}

# admin_properties writes the client configuration of the super user over
# SASL_SSL (kafka-acls.sh --command-config, kafka-topics.sh ...).
admin_properties() {
  cat > "$tlsdir/admin.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(cat "$tlsdir/admin.password")";
ssl.truststore.type=PEM
ssl.truststore.location=$tlsdir/ca.pem
EOF
}

# kafka_acls runs Apache Kafka's kafka-acls.sh (AclCommand) with the
# arguments given, from the fetched jars.
kafka_acls() {
  check_java
  fetch
  exec "$JAVA" -Xmx128m -Djava.awt.headless=true -cp "$(classpath)" org.apache.kafka.tools.AclCommand "$@"
}

# sign NAME EXT makes NAME-key.pem and NAME.pem (CN=NAME, extensions EXT),
# signed by the CA.
sign() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tlsdir/$1-key.pem" &&
  openssl req -new -key "$tlsdir/$1-key.pem" -subj "/CN=$1" -config "$tlsdir/openssl.cnf" -out "$tlsdir/$1.csr" &&
  openssl x509 -req -in "$tlsdir/$1.csr" -CA "$tlsdir/ca.pem" -CAkey "$tlsdir/ca-key.pem" \
    -set_serial "0x$(secret)" -days 30 \
    -extfile "$tlsdir/openssl.cnf" -extensions "$2" -out "$tlsdir/$1.pem" &&
  rm -f "$tlsdir/$1.csr"
}

# secret prints 32 random hex digits.
secret() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# client_env prints what a client needs to reach the broker, as shell
# assignments: the variables the integration tests read (see README.md).
client_env() {
  if [[ "$KAFKA_SECURITY" != secure ]]; then
    printf 'KAFKA_BROKERS=%q\n' "127.0.0.1:$KAFKA_PORT"
    return
  fi
  printf '%s=%q\n' \
    KAFKA_SASL_SSL_BROKERS "127.0.0.1:$KAFKA_PORT" \
    KAFKA_MTLS_BROKERS "127.0.0.1:$KAFKA_MTLS_PORT" \
    KAFKA_TLS_CA_FILE "$tlsdir/ca.pem" \
    KAFKA_TLS_CA_KEY_FILE "$tlsdir/ca-key.pem" \
    KAFKA_ADMIN_USER admin \
    KAFKA_ADMIN_PASSWORD_FILE "$tlsdir/admin.password" \
    KAFKA_ADMIN_CERT_FILE "$tlsdir/admin.pem" \
    KAFKA_ADMIN_KEY_FILE "$tlsdir/admin-key.pem" \
    KAFKA_ADMIN_CONFIG "$tlsdir/admin.properties"
}

jvm_common() {
  echo "-Djava.awt.headless=true -Dlog4j2.configurationFile=$KAFKA_RUN_DIR/log4j2.properties -Dkafka.logs.dir=$KAFKA_RUN_DIR/logs"
}

start() {
  if pid="$(running_pid)"; then
    say "already running (pid $pid, Apache Kafka $(broker_version), 127.0.0.1:$KAFKA_PORT)"
    return 0
  fi
  check_ports "(another Kafka?); set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
  check_java
  fetch
  rm -rf "$KAFKA_RUN_DIR"
  local t0=$SECONDS
  local scram=()
  if [[ "$KAFKA_SECURITY" == secure ]]; then
    make_certs
    # The super user's SCRAM credential is part of the formatted metadata:
    # with no anonymous access, nobody could create it afterwards.
    scram=(--add-scram "SCRAM-SHA-512=[name=admin,password=$(cat "$tlsdir/admin.password")]")
  fi
  write_config
  local cp; cp="$(classpath)"

  # shellcheck disable=SC2046
  "$JAVA" -Xmx256m $(jvm_common) -cp "$cp" kafka.tools.StorageTool \
    format --config "$props" --cluster-id "$(cluster_id)" --ignore-formatted "${scram[@]}" \
    > "$KAFKA_RUN_DIR/logs/format.log" 2>&1 \
    || { cat "$KAFKA_RUN_DIR/logs/format.log" >&2; die "formatting the log directory failed"; }
  launch "$t0"
}

# check_ports dies if a port the broker would listen on is taken.
check_ports() {
  local p ports=("$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT")
  [[ "$KAFKA_SECURITY" == secure ]] && ports+=("$KAFKA_MTLS_PORT")
  for p in "${ports[@]}"; do
    port_open "$p" && die "port 127.0.0.1:$p is already in use $1"
  done
  return 0
}

# load_broker_env reads back what start chose for KAFKA_RUN_DIR (security
# and ports), whatever the environment says now.
load_broker_env() {
  [[ -f "$brokerenv" ]] || return 1
  # shellcheck disable=SC1090
  source "$brokerenv"
}

# resume starts the broker of an existing KAFKA_RUN_DIR (left by halt) on its
# data, with the configuration it was formatted with.
resume() {
  if pid="$(running_pid)"; then
    say "already running (pid $pid, Apache Kafka $(broker_version), 127.0.0.1:$KAFKA_PORT)"
    return 0
  fi
  # The ports are those the data was formatted with, whatever the environment says.
  load_broker_env || die "no broker to resume in $KAFKA_RUN_DIR (start one first)"
  check_ports ""
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
  local where="127.0.0.1:$KAFKA_PORT"
  [[ "$KAFKA_SECURITY" == secure ]] && where="SASL_SSL 127.0.0.1:$KAFKA_PORT, mTLS 127.0.0.1:$KAFKA_MTLS_PORT, ACLs enforced; kafka.sh env for certificates and credentials"
  say "Apache Kafka $(broker_version) (KRaft, broker+controller) on $where, pid $pid, up in $((SECONDS - t0))s; log $logfile"
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
  load_broker_env || true
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
  env)     load_broker_env && running_pid >/dev/null || die "no broker running in $KAFKA_RUN_DIR"; client_env ;;
  kafka-acls) shift; kafka_acls "$@" ;;
  *) echo "usage: $0 start|stop|restart|status|version|fetch|halt|resume|log [N]|env|kafka-acls ARGS..." >&2; exit 2 ;;
esac
