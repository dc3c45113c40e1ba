# Sourced by the benchmark scripts.
# start_tls_broker WORK: a throw-away CA, a server certificate for localhost and 127.0.0.1 and a client certificate
# (EC P-256: fast) in WORK/pki, and a Mosquitto on a free loopback port that requires the client certificate.
# Sets PKI and PORT, appends Mosquitto's pid to PIDS; Mosquitto logs to WORK/mosquitto.log.
start_tls_broker() {
    local work="$1"
    PKI="$work/pki"
    mkdir -p "$PKI"
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
    key "$PKI/ca.key"
    openssl req -x509 -new -key "$PKI/ca.key" -days 2 -subj "/CN=Bench CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$PKI/ca.pem" 2>/dev/null
    issue() { # name commonName extensions
        key "$PKI/$1.key"
        printf '%b' "$3" > "$PKI/$1.ext"
        openssl req -new -key "$PKI/$1.key" -subj "/CN=$2" -out "$PKI/$1.csr" 2>/dev/null
        openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -days 2 \
            -extfile "$PKI/$1.ext" -out "$PKI/$1.pem" 2>/dev/null
    }
    issue server localhost 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n'
    issue client bench 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n'
    # Mosquitto started as root reads its files as the user `mosquitto` (throw-away keys, loopback only).
    chmod -R a+rX "$work"

    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat > "$work/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
cafile $PKI/ca.pem
certfile $PKI/server.pem
keyfile $PKI/server.key
require_certificate true
allow_anonymous true
log_dest stdout
connection_messages true
CONF
    setsid stdbuf -oL /usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
    PIDS+=($!)
}

# write_nucleus_config FILE THING ENDPOINT: the nucleus configuration that connects to the broker over mutual TLS,
# trusting the throw-away CA only.
write_nucleus_config() {
    cat > "$1" <<CONF
system:
  thingName: $2
  rootCaPath: $PKI/ca.pem
  certificateFilePath: $PKI/client.pem
  privateKeyPath: $PKI/client.key
services:
  aws.greengrass.Nucleus:
    configuration:
      iotDataEndpoint: $3
      mqtt:
        port: $PORT
      logging:
        level: ${GG_BENCH_LOG_LEVEL:-INFO}
CONF
}
