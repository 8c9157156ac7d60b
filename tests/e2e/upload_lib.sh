# SPDX-License-Identifier: BSD-2-Clause
# Sourced by tests/e2e/test_upload_*: certificates made with openssl, the
# test HTTPS receiver (upload_server.py), metadata documents, assertions.
# Not a test itself (not executable).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${APISONAR_BIN:-$ROOT/build/apisonar}
SERVER=$ROOT/tests/e2e/upload_server.py
T=$(mktemp -d /tmp/apisonar-upload-e2e.XXXXXX)
PIDS=""
export APISONAR_SPOOL_KEY=6a1f0e3c5b7d9f2e4a6c8e0b2d4f6a8c1e3b5d7f9a2c4e6b8d0f2a4c6e8b0d2f

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP_T:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

[ -x "$BIN" ] || fail "build/apisonar is missing: run make"

# sign NAME CA SAN DAYS [EXT]: a P-256 key and a certificate signed by CA.
sign() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/pki/$1.key" \
		-out "$T/pki/$1.csr" -subj "/CN=$1" 2>/dev/null
	printf 'subjectAltName=%s\n%s\n' "$3" "${5:-}" >"$T/pki/$1.ext"
	openssl x509 -req -in "$T/pki/$1.csr" -CA "$T/pki/$2.pem" -CAkey "$T/pki/$2.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days "$4" -extfile "$T/pki/$1.ext" \
		-out "$T/pki/$1.pem" 2>/dev/null
}

# CA, a good server certificate for 127.0.0.1/localhost, one for the wrong
# host, an expired one, one from an untrusted CA, and a client certificate.
make_certs() {
	mkdir -p "$T/pki"
	for ca in ca otherca; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$T/pki/$ca.key" -out "$T/pki/$ca.pem" -days 2 \
			-subj "/CN=apisonar test $ca" 2>/dev/null
	done
	sign server ca "IP:127.0.0.1,DNS:localhost" 2
	sign wronghost ca "DNS:wrong.example" 2
	sign expired ca "IP:127.0.0.1,DNS:localhost" -1
	sign untrusted otherca "IP:127.0.0.1,DNS:localhost" 2
	sign client ca "DNS:sensor-1" 2 "extendedKeyUsage=clientAuth"
	printf 'test-token-%s\n' "$(openssl rand -hex 16)" >"$T/token"
	chmod 600 "$T/token"
}

# pin_of CERT: the base64 SHA-256 of its public key, as --pin-sha256 wants.
pin_of() {
	openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | openssl base64
}

# start_server NAME [server args...]: runs the receiver in the background;
# sets PORT and SERVER_PID; requests go to $T/NAME.log.
start_server() {
	name=$1
	shift
	rm -f "$T/$name.port"
	python3 "$SERVER" --port "${FIXED_PORT:-0}" --port-file "$T/$name.port" --log "$T/$name.log" \
		"$@" 2>>"$T/$name.stderr" &
	SERVER_PID=$!
	PIDS="$PIDS $SERVER_PID"
	i=0
	while [ ! -s "$T/$name.port" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "test server $name did not start: $(cat "$T/$name.stderr")"
		sleep 0.1
	done
	PORT=$(cat "$T/$name.port")
	touch "$T/$name.log"
}

stop_server() {
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
}

# make_doc N FILE: a small catalog document (no values) with N endpoints.
make_doc() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
eps = [{"method": "GET", "path": "/items/{id}/part%d" % i, "count": i + 1} for i in range(n)]
doc = {"schema": "apisonar.metadata/v1",
       "services": [{"name": "shop", "endpoints": eps}, {"name": "empty", "endpoints": []}]}
json.dump(doc, open(path, "w"))
EOF
}

# make_docs COUNT PREFIX: PREFIX0.json .. PREFIX<COUNT-1>.json in one go
# (python starts slowly on a loaded machine), i % 7 + 1 endpoints each.
make_docs() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
for i in range(int(sys.argv[1])):
    eps = [{"method": "GET", "path": "/items/{id}/part%d" % k} for k in range(i % 7 + 1)]
    doc = {"schema": "apisonar.metadata/v1", "services": [{"name": "shop", "endpoints": eps}]}
    json.dump(doc, open("%s%d.json" % (sys.argv[2], i), "w"))
EOF
}

# spool_count DIR: batch files waiting in a spool.
spool_count() {
	find "$1" -maxdepth 1 -name '*.batch' | wc -l
}

# count_status LOG STATUS: requests answered with STATUS.
count_status() {
	python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    if str(e.get("status")) == sys.argv[2]:
        n += 1
print(n)' "$1" "$2"
}

expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}
