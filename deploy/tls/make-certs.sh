#!/bin/bash
# make-certs.sh: a private CA for one hall's Mosquitto, its server certificate and the kiosks'
# client certificates (mutual TLS: a kiosk's certificate CN is its device id, which the broker
# takes as its user name; see deploy/mosquitto/ceval.d/tls.conf.example).
#
#   make-certs.sh ca     DIR                   DIR/ca.key, DIR/ca.crt (10 years)
#   make-certs.sh server DIR HOSTNAME [IP...]  DIR/server.key, DIR/server.crt (signed by DIR's CA)
#   make-certs.sh device DIR DEVICE_ID         DIR/devices/DEVICE_ID.key, .crt (signed by DIR's CA)
#   make-certs.sh revoke DIR DEVICE_ID         DEVICE_ID's certificate into DIR/crl.pem (the broker's crlfile)
#
# Keys are EC P-256, written with mode 0600 and never overwritten.
set -euo pipefail

PROG=${0##*/}
CA_DAYS=3650
DAYS=825

usage() {
    cat <<EOF
Usage: $PROG [--days N] ca DIR
       $PROG [--days N] server DIR HOSTNAME [IP...]
       $PROG [--days N] device DIR DEVICE_ID
       $PROG revoke DIR DEVICE_ID

Make the certificates of a hall's MQTT TLS listener with openssl.

  ca DIR                    a new CA: DIR/ca.key and DIR/ca.crt, valid $CA_DAYS days, and
                            its (empty) revocation list DIR/crl.pem.
                            Keep ca.key off the network (only this script needs it).
  server DIR HOSTNAME [IP]  the broker's key and certificate, DIR/server.key and
                            DIR/server.crt, for HOSTNAME (a DNS name) and each IP
                            address given; kiosks must connect to one of these names.
  device DIR DEVICE_ID      a kiosk's client certificate with CN = DEVICE_ID (its
                            MQTT user name): DIR/devices/DEVICE_ID.key and .crt.
                            The server's collector gets one the same way, named
                            after its broker account: device DIR ceval-collector.
  revoke DIR DEVICE_ID      add DEVICE_ID's certificate to DIR/crl.pem and move its
                            files to DIR/revoked/; copy crl.pem to the broker and
                            restart Mosquitto (a reload does not re-read it).

Options:
  --days N                  validity of a server or device certificate in days
                            (default $DAYS; the CA always gets $CA_DAYS)
  -h, --help                show this help

Existing keys are never overwritten: delete or move them first to replace them.
Copy to the broker: ca.crt, crl.pem, server.crt, server.key; to a kiosk: ca.crt and its
devices/DEVICE_ID.crt and .key. Both keys must be readable by the service's user.
EOF
}

die() {
    echo "$PROG: $*" >&2
    exit 1
}

need_openssl() {
    command -v openssl >/dev/null 2>&1 || die "openssl is not installed (Debian: apt-get install openssl)"
}

# refuse to clobber: a key that exists may already be deployed
refuse_existing() {
    local path
    for path in "$@"; do
        [ ! -e "$path" ] || die "$path exists already; delete or move it first to make a new one"
    done
}

# a new EC private key, mode 0600 from the moment it exists
new_key() {
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null) \
        || die "openssl could not make the key $1"
    chmod 0600 "$1"
}

serial() {
    echo "0x$(openssl rand -hex 16)"
}

need_ca() {
    if [ ! -r "$1/ca.crt" ] || [ ! -r "$1/ca.key" ]; then
        die "no CA in $1 (ca.crt and ca.key): run '$PROG ca $1' first"
    fi
}

# sign_cert DIR NAME_BASE SUBJECT EXTFILE: a CSR from NAME_BASE.key, signed by DIR's CA into NAME_BASE.crt
sign_cert() {
    local dir=$1 base=$2 subject=$3 ext=$4 err
    if ! openssl req -new -key "$base.key" -subj "$subject" -out "$WORK/req.csr" 2>/dev/null; then
        rm -f "$base.key"
        die "openssl could not make a signing request for $base.key"
    fi
    if ! err=$(openssl x509 -req -in "$WORK/req.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
            -set_serial "$(serial)" -days "$DAYS" -sha256 -extfile "$ext" -out "$base.crt" 2>&1); then
        rm -f "$base.key" "$base.crt"
        die "the CA in $dir could not sign $base.crt: $err"
    fi
    chmod 0644 "$base.crt"
}

cmd_ca() {
    [ $# -eq 1 ] || die "usage: $PROG ca DIR"
    local dir=$1
    mkdir -p "$dir" || die "cannot create $dir"
    refuse_existing "$dir/ca.key" "$dir/ca.crt"
    new_key "$dir/ca.key"
    if ! openssl req -new -x509 -key "$dir/ca.key" -days "$CA_DAYS" -sha256 -set_serial "$(serial)" \
            -subj "/O=counter-eval/CN=counter-eval MQTT CA $(date +%Y-%m-%d)" \
            -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -out "$dir/ca.crt" 2>/dev/null; then
        rm -f "$dir/ca.key" "$dir/ca.crt"
        die "openssl could not make the CA certificate"
    fi
    chmod 0644 "$dir/ca.crt"
    make_crl "$dir"
    echo "CA: $dir/ca.crt (key $dir/ca.key, valid $CA_DAYS days), revocation list $dir/crl.pem"
}

# the CA's revocation database (openssl ca) in DIR; the list is valid as long as the CA
ca_config() {
    local dir=$1
    [ -e "$dir/index.txt" ] || : >"$dir/index.txt"
    [ -e "$dir/crlnumber" ] || echo 01 >"$dir/crlnumber"
    printf '%s\n' "[ca]" "default_ca = ceval" "[ceval]" "database = $dir/index.txt" \
        "crlnumber = $dir/crlnumber" "certificate = $dir/ca.crt" "private_key = $dir/ca.key" \
        "default_md = sha256" "default_crl_days = $CA_DAYS" >"$WORK/ca.cnf"
}

make_crl() {
    local dir=$1 err
    ca_config "$dir"
    if ! err=$(openssl ca -batch -config "$WORK/ca.cnf" -gencrl -out "$dir/crl.pem" 2>&1); then
        die "openssl could not write the revocation list $dir/crl.pem: $err"
    fi
    chmod 0644 "$dir/crl.pem"
}

valid_ip() {
    case $1 in
        *[!0-9a-fA-F.:]* | "") return 1 ;;
        *.*.*.* | *:*) return 0 ;;
        *) return 1 ;;
    esac
}

cmd_server() {
    [ $# -ge 2 ] || die "usage: $PROG server DIR HOSTNAME [IP...]"
    local dir=$1 host=$2 san ip ext
    shift 2
    case $host in
        "" | *[!A-Za-z0-9.-]* | -* | .*) die "HOSTNAME '$host' is not a DNS name (letters, digits, '-' and '.')" ;;
    esac
    need_ca "$dir"
    san="DNS:$host"
    for ip in "$@"; do
        valid_ip "$ip" || die "'$ip' is not an IPv4 or IPv6 address"
        san="$san,IP:$ip"
    done
    refuse_existing "$dir/server.key" "$dir/server.crt"
    ext=$WORK/server.ext
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" "subjectAltName=$san" "subjectKeyIdentifier=hash" \
        "authorityKeyIdentifier=keyid,issuer" >"$ext"
    new_key "$dir/server.key"
    sign_cert "$dir" "$dir/server" "/O=counter-eval/CN=$host" "$ext"
    echo "server: $dir/server.crt for $san (key $dir/server.key, valid $DAYS days)"
}

cmd_device() {
    [ $# -eq 2 ] || die "usage: $PROG device DIR DEVICE_ID"
    local dir=$1 device=$2 ext
    # the contract's device id (shared/topics.py DEVICE_PATTERN): 1 to 32 of a-z, 0-9 and -, not first '-'
    if ! printf '%s' "$device" | grep -Eqx '[a-z0-9][a-z0-9-]{0,31}'; then
        die "DEVICE_ID '$device' is not 1 to 32 of a-z, 0-9 and - (not starting with -)"
    fi
    need_ca "$dir"
    mkdir -p "$dir/devices" || die "cannot create $dir/devices"
    refuse_existing "$dir/devices/$device.key" "$dir/devices/$device.crt"
    ext=$WORK/device.ext
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=clientAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid,issuer" >"$ext"
    new_key "$dir/devices/$device.key"
    sign_cert "$dir" "$dir/devices/$device" "/O=counter-eval/CN=$device" "$ext"
    echo "device: $dir/devices/$device.crt with CN=$device (key $dir/devices/$device.key, valid $DAYS days)"
}

cmd_revoke() {
    [ $# -eq 2 ] || die "usage: $PROG revoke DIR DEVICE_ID"
    local dir=$1 device=$2 err serial
    need_ca "$dir"
    [ -e "$dir/devices/$device.crt" ] || die "no certificate $dir/devices/$device.crt to revoke"
    ca_config "$dir"
    if ! err=$(openssl ca -batch -config "$WORK/ca.cnf" -revoke "$dir/devices/$device.crt" 2>&1); then
        die "openssl could not revoke $dir/devices/$device.crt: $err"
    fi
    make_crl "$dir"
    serial=$(openssl x509 -in "$dir/devices/$device.crt" -noout -serial) || serial="serial=unknown"
    mkdir -p "$dir/revoked" || die "cannot create $dir/revoked"
    mv "$dir/devices/$device.crt" "$dir/revoked/$device-${serial#serial=}.crt"
    if [ -e "$dir/devices/$device.key" ]; then
        mv "$dir/devices/$device.key" "$dir/revoked/$device-${serial#serial=}.key"
    fi
    echo "revoked: $device (${serial}); copy $dir/crl.pem to the broker and restart Mosquitto"
}

main() {
    while [ $# -gt 0 ]; do
        case $1 in
            -h | --help) usage; exit 0 ;;
            --days)
                [ $# -ge 2 ] || die "--days needs a number of days"
                case $2 in
                    "" | *[!0-9]* | 0*) die "--days '$2' is not a positive whole number" ;;
                esac
                DAYS=$2
                shift 2
                ;;
            --days=*)
                set -- --days "${1#--days=}" "${@:2}"
                ;;
            -*) die "unknown option $1 (see --help)" ;;
            *) break ;;
        esac
    done
    [ $# -ge 1 ] || { usage >&2; exit 2; }
    local command=$1
    shift
    need_openssl
    WORK=$(mktemp -d) || die "cannot make a temporary folder"
    trap 'rm -rf "$WORK"' EXIT
    case $command in
        ca) cmd_ca "$@" ;;
        server) cmd_server "$@" ;;
        device) cmd_device "$@" ;;
        revoke) cmd_revoke "$@" ;;
        *) die "unknown command '$command': ca, server, device or revoke (see --help)" ;;
    esac
}

main "$@"
