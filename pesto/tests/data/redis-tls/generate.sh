#!/usr/bin/env bash
# Regenerates the TEST-ONLY certificates used by tests/redis_store.rs (TLS test): a throwaway CA
# and a server certificate for localhost / 127.0.0.1, valid for 100 years. The CA key is not
# kept. Never use these files outside tests: the server key is public.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500 \
  -subj "/CN=pesto test CA" -keyout "$tmp/ca.key" -out ca.crt \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=localhost" -keyout server.key -out "$tmp/server.csr"
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" > "$tmp/ext"
openssl x509 -req -in "$tmp/server.csr" -CA ca.crt -CAkey "$tmp/ca.key" -CAserial "$tmp/ca.srl" -CAcreateserial \
  -days 36500 -extfile "$tmp/ext" -out server.crt
chmod 0644 server.key
