# SPDX-License-Identifier: BSD-2-Clause
# Sourced by tests/e2e/test_satellite_* (not a test itself): a scratch
# directory, certificates made with openssl, and start/stop/post helpers.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${APISONAR_BIN:-$ROOT/build/apisonar}
TOOL="python3 $ROOT/tests/e2e/test_satellite_tool.py"
T=$(mktemp -d /tmp/apisonar-sat.XXXXXX)
SAT_PID=
PORT=
MPORT=

cleanup() {
	if [ -n "$SAT_PID" ]; then kill -9 "$SAT_PID" 2>/dev/null; wait "$SAT_PID" 2>/dev/null; fi
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	if grep -qs "missing services array" "$T/resp"; then
		echo "    (batch_decode refuses the metadata format of docs/metadata.md, where"
		echo "     services is an object keyed by name: src/transport/batch.c must accept it)"
	fi
	[ -f "$T/sat.log" ] && sed 's/^/    satellite: /' "$T/sat.log" | tail -n 20
	exit 1
}

# A CA, a server certificate for localhost, a client certificate (CN
# node-7) from that CA, and a client certificate from a CA nobody trusts.
mkcerts() {
	(
		cd "$T" || exit 1
		for ca in ca rogue; do
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout $ca.key -out $ca.pem -days 2 -subj "/CN=test $ca" 2>/dev/null || exit 1
		done
		mk() { # name cn signer ext
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
				-out "$1.csr" -subj "/CN=$2" 2>/dev/null || exit 1
			printf '%s\n' "$4" >"$1.ext"
			openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial \
				-days 2 -out "$1.pem" -extfile "$1.ext" 2>/dev/null || exit 1
		}
		mk server localhost ca "subjectAltName=DNS:localhost,IP:127.0.0.1"
		mk client node-7 ca "extendedKeyUsage=clientAuth"
		mk rogueclient node-7 rogue "extendedKeyUsage=clientAuth"
		printf 's3cret-token-for-tests\n' >token
		printf 'wrong-token\n' >wrongtoken
	) || fail "cannot make certificates"
}

# sat_start [options...]: starts the satellite on a free port, with its
# metrics listener on another free loopback port; sets PORT and MPORT.
sat_start() {
	# Emptied here, not by the background job's redirection: that may come
	# after the first read below, which would then see the last run's port.
	: >"$T/sat.log"
	"$BIN" satellite --listen 127.0.0.1:0 --tls-cert "$T/server.pem" --tls-key "$T/server.key" \
		--out-dir "$T/out" --metrics-port 0 "$@" >"$T/sat.log" 2>&1 &
	SAT_PID=$!
	i=0
	while [ $i -lt 50 ]; do
		PORT=$(sed -n 's/.*listening on .* port \([0-9]*\)$/\1/p' "$T/sat.log")
		MPORT=$(sed -n 's/.*metrics on .* port \([0-9]*\) .*/\1/p' "$T/sat.log")
		[ -n "$PORT" ] && return 0
		kill -0 "$SAT_PID" 2>/dev/null || fail "satellite exited at start"
		sleep 0.1
		i=$((i + 1))
	done
	fail "satellite did not start listening"
}

# sat_stop [SIGNAL]: stops it and checks it exits 0 within 5 s.
sat_stop() {
	kill -"${1:-TERM}" "$SAT_PID"
	i=0
	while kill -0 "$SAT_PID" 2>/dev/null; do
		[ $i -ge 50 ] && fail "satellite did not stop within 5 s of SIG${1:-TERM}"
		sleep 0.1
		i=$((i + 1))
	done
	wait "$SAT_PID"
	rc=$?
	SAT_PID=
	[ "$rc" -eq 0 ] || fail "satellite exited $rc after SIG${1:-TERM}"
}

sat_kill9() {
	kill -9 "$SAT_PID"
	wait "$SAT_PID" 2>/dev/null
	SAT_PID=
}

# post FILE [curl options...]: POST /v1/batches with the right headers
# unless CT or CE (content type, encoding; empty = none) say otherwise, and the token unless AUTH says otherwise ("none" for
# no Authorization header); prints "CODE BODY".
post() {
	f=$1
	shift
	auth=${AUTH:-Bearer s3cret-token-for-tests}
	[ "$auth" = none ] && set -- -H 'X-No-Auth: 1' "$@" || set -- -H "Authorization: $auth" "$@"
	ct=${CT-application/json}
	ce=${CE-gzip}
	[ -n "$ce" ] && set -- -H "Content-Encoding: $ce" "$@"
	# curl sends a form type unless told; an empty value removes the header.
	set -- -H "Content-Type: $ct" "$@"
	code=$(curl -sS --cacert "$T/ca.pem" -o "$T/resp" -w '%{http_code}' "$@" \
		--data-binary "@$f" "https://localhost:$PORT/v1/batches")
	printf '%s %s\n' "$code" "$(cat "$T/resp")"
}

get() {
	curl -sS --cacert "$T/ca.pem" "$@"
}

# metrics: the metrics listener's /metrics (plain HTTP, no token).
metrics() {
	curl -sS "http://127.0.0.1:$MPORT/metrics"
}

# metric NAME_WITH_LABELS: its value from /metrics.
metric() {
	metrics | awk -v m="$1" '$1 == m { print $2 }'
}

expect_eq() { # what got want
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$SAT_PID/status"
}
