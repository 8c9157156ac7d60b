# SPDX-License-Identifier: BSD-2-Clause
# Sourced by tests/e2e/test_nats_* (not a test itself): a scratch
# directory, nats-server with JetStream on loopback, satellite replicas,
# uploaders, metadata documents, the raw publisher (nats_tool.c).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${APISONAR_BIN:-$ROOT/build/apisonar}
T=$(mktemp -d /tmp/apisonar-nats.XXXXXX)
export APISONAR_SPOOL_KEY=6a1f0e3c5b7d9f2e4a6c8e0b2d4f6a8c1e3b5d7f9a2c4e6b8d0f2a4c6e8b0d2f
NS_PID=
NS_PORT=
NATS_URL=
NS_EXTRA=
# replica i: R_PID_i, R_MPORT_i
PIDS=

cleanup() {
	for p in $NS_PID $PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP_T:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	[ -n "$NATS_URL" ] && echo "stream: $("$TOOL" info "$NATS_URL" 2>&1)"
	for r in 1 2 3; do
		eval "mp=\${R_MPORT_$r:-}"
		[ -n "$mp" ] && curl -sf "http://127.0.0.1:$mp/metrics" 2>/dev/null |
			grep -E '^apisonar_satellite_nats_(messages|consumer|fetch|connected)' | sed "s/^/    r$r: /"
	done
	for f in "$T"/r*.log "$T"/ns.log "$T"/up*.log; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f" | sed 's/^/    /'; }
	done
	echo "FAIL: $*" # again, below the logs
	exit 1
}

expect_eq() { # what got want
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}

command -v nats-server >/dev/null || fail "nats-server is missing (Debian package nats-server: make deps)"
pkg-config --exists libnats || fail "libnats is missing (Debian package libnats-dev: make deps)"
[ -x "$BIN" ] || fail "build/apisonar is missing: run make"
cc -O1 -o "$T/nats_tool" "$ROOT/tests/e2e/nats_tool.c" $(pkg-config --cflags --libs libnats) ||
	fail "cannot build nats_tool"
TOOL=$T/nats_tool

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ns_start [nats-server options...]: JetStream on loopback, its store in
# $T/js (kept across restarts); the same port on a restart.
ns_start() {
	[ -n "$NS_PORT" ] || NS_PORT=$(free_port)
	[ -n "$NATS_URL" ] || NATS_URL=nats://127.0.0.1:$NS_PORT
	[ $# -gt 0 ] && NS_EXTRA="$*"
	# shellcheck disable=SC2086
	nats-server -js -sd "$T/js" -a 127.0.0.1 -p "$NS_PORT" $NS_EXTRA >>"$T/ns.log" 2>&1 &
	NS_PID=$!
	i=0
	while ! grep -q "Server is ready" "$T/ns.log" 2>/dev/null; do
		[ $i -ge 100 ] && fail "nats-server did not start"
		kill -0 "$NS_PID" 2>/dev/null || fail "nats-server exited at start"
		sleep 0.1
		i=$((i + 1))
	done
}

ns_kill9() {
	kill -9 "$NS_PID" 2>/dev/null
	wait "$NS_PID" 2>/dev/null
	NS_PID=
	: >"$T/ns.log"
}

# rep_start I [options...]: replica rI with its own out-dir and metrics port.
rep_start() {
	n=$1
	shift
	eval "mp=\${R_MPORT_$n:-}"
	[ -n "$mp" ] || mp=$(free_port)
	eval "R_MPORT_$n=$mp"
	"$BIN" satellite --nats "$NATS_URL" --replica-id "r$n" --out-dir "$T/r$n" \
		--flush-interval 1 --nats-ack-wait "${ACK_WAIT:-30}" --metrics-port "$mp" "$@" \
		>>"$T/r$n.log" 2>&1 &
	eval "R_PID_$n=$!"
	PIDS="$PIDS $!"
}

# rep_wait I: until its metrics answer (it is consuming).
rep_wait() {
	eval "mp=\$R_MPORT_$1 pid=\$R_PID_$1"
	i=0
	while ! curl -sf "http://127.0.0.1:$mp/healthz" >/dev/null 2>&1; do
		[ $i -ge 300 ] && fail "replica r$1 did not start"
		kill -0 "$pid" 2>/dev/null || fail "replica r$1 exited at start"
		sleep 0.1
		i=$((i + 1))
	done
}

rep_stop() { # I: SIGTERM, exit 0 within 10 s
	eval "pid=\$R_PID_$1"
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		[ $i -ge 100 ] && fail "replica r$1 did not stop within 10 s"
		sleep 0.1
		i=$((i + 1))
	done
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || fail "replica r$1 exited $rc after SIGTERM"
}

# rmetric I NAME: a value from replica I's /metrics.
rmetric() {
	eval "mp=\$R_MPORT_$1"
	curl -sf "http://127.0.0.1:$mp/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}

# sum_metric NAME I...: the sum over replicas.
sum_metric() {
	m=$1
	shift
	s=0
	for r in "$@"; do
		v=$(rmetric "$r" "$m")
		s=$((s + ${v:-0}))
	done
	echo $s
}

# wait_for DESC SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
	desc=$1
	lim=$(($2 * 10))
	shift 2
	i=0
	until "$@"; do
		[ $i -ge $lim ] && fail "timed out waiting for $desc"
		sleep 0.1
		i=$((i + 1))
	done
}

# stream_idle: nothing left in the stream nor waiting for an ack.
stream_idle() {
	[ "$("$TOOL" info "$NATS_URL" 2>/dev/null)" = "msgs=0 pending=0 ack_pending=0" ]
}

# consumer_idle: every message delivered and acknowledged. (After a kill -9
# of nats-server 2.9, messages the consumer had acknowledged can stay in
# the work-queue stream: its removal was not on disk yet. They are never
# delivered again; docs/nats.md.)
consumer_idle() {
	"$TOOL" info "$NATS_URL" 2>/dev/null | grep -q ' pending=0 ack_pending=0$'
}

# gen_docs DIR SENSORS PER_SENSOR: metadata documents; the services of the
# sensors overlap, so merges combine counts, parameters, statuses and
# schemas, not only disjoint sets. Each endpoint's objects keep one set of
# keys: objects whose keys vary (two of five at random) meet the catalog's
# map heuristic (a key seen in one object of several joins the map's
# "additional" node), whose outcome depends on how merges are grouped, so
# two groupings of the same batches can differ (docs/nats.md, "Found").
gen_docs() {
	python3 - "$@" <<'PY'
import json, os, random, sys
d, sensors, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(d, exist_ok=True)
rnd = random.Random(19)
FIELDS = ["id", "name", "qty", "note", "tag"]
for s in range(1, sensors + 1):
    for j in range(per):
        services = {}
        for k in rnd.sample(range(4), 2):
            eps = {}
            for e in rnd.sample(range(6), 3):
                method = ["GET", "POST", "PUT"][e % 3]
                path = "/api/v%d/items%s" % (k, "/{item}" if e % 2 else "")
                n = rnd.randint(1, 9)
                props = {f: {"n": n, "types": [rnd.choice(["string", "integer"])]}
                         for f in (FIELDS[e % 5], FIELDS[(e + k + 1) % 5], "id")}
                ep = {"method": method, "path": path, "count": n, "auth": {"bearer": n},
                      "responses": {str(rnd.choice([200, 201, 404])): {"count": n, "bodies": {
                          "application/json": {"count": n, "schema": {
                              "n": n, "types": ["object"], "objects": n, "properties": props}}}}}}
                if e % 2:
                    ep["parameters"] = {"path": {"item": {"n": n, "types": ["integer"]}}}
                eps["%s %s" % (method, path)] = ep
            services["svc-%d" % k] = {"endpoints": eps}
        with open(os.path.join(d, "s%d-%02d.json" % (s, j)), "w") as f:
            json.dump({"schema": "apisonar.metadata/v1", "services": services}, f)
PY
}

# A CA, a server certificate for localhost, one for another name, a second
# CA nobody trusts.
mkcerts() {
	(
		cd "$T" || exit 1
		for ca in ca rogue; do
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout $ca.key -out $ca.pem -days 2 -subj "/CN=test $ca" 2>/dev/null || exit 1
		done
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
			-out server.csr -subj "/CN=localhost" 2>/dev/null || exit 1
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-out server.pem -extfile server.ext 2>/dev/null || exit 1
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout wrong.key \
			-out wrong.csr -subj "/CN=wrong.example" 2>/dev/null || exit 1
		printf 'subjectAltName=DNS:wrong.example\n' >wrong.ext
		openssl x509 -req -in wrong.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-out wrong.pem -extfile wrong.ext 2>/dev/null || exit 1
		printf 's3cret-token-for-tests\n' >token
	) || fail "cannot make certificates"
}
