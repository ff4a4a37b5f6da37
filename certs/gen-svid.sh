#!/usr/bin/env bash
# Makes the X509-SVID, CA-rotation and SPIFFE-federation fixtures in this
# directory, signed by the COMMITTED ca1 / ca2 keys (ca1.key.pem, ca2.key.pem)
# and by a new root, ca3, that this script creates.
#
#   bash certs/gen-svid.sh   (from the repository root)
#   bash gen-svid.sh         (from inside certs/)
#
# It never touches the files gen.sh makes (gen.sh calls this script at its
# end, so a full regeneration remakes these too, under the new ca1 / ca2).
# Every run creates a fresh ca3 and fresh leaves and replaces all outputs of
# this script together.  Everything is built in a temporary directory first
# and only moved into place once every step (including an `openssl verify` of
# each leaf against its issuer) has succeeded, so a failed run leaves the
# previous set untouched.
#
# THE KEYS WRITTEN HERE ARE PUBLIC TEST FIXTURES.  NEVER USE THEM FOR ANYTHING
# BUT TESTS.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
umask 022
certs=$(pwd)

# Same validity window as gen.sh: 2025-01-01 .. 2125-01-01 UTC.
VALID_FROM=20250101000000Z
VALID_TO=21250101000000Z

FOO_ID=foo.ns1.serviceaccount.identity.linkerd.cluster.local
BAR_ID=bar.ns1.serviceaccount.identity.linkerd.cluster.local
# SPIFFE trust domains: A is the mesh's own, B a federated one (root ca3).
TD_A=cluster.local
TD_B=other.example
SPIFFE_FOO=spiffe://$TD_A/ns/ns1/sa/foo
SPIFFE_BAR=spiffe://$TD_A/ns/ns1/sa/bar
SPIFFE_BAZ=spiffe://$TD_B/ns/ns2/sa/baz

die() { echo "gen-svid.sh: $*" >&2; exit 1; }

# Trust domains at and just over the SPIFFE limit of 255 bytes, made only of
# [a-z0-9.-_] and with no label longer than 63 bytes, so the length is the only
# thing wrong with the long one.
A63=$(printf 'a%.0s' {1..63})
MAX_TD="$A63.$A63.$A63.$A63"             # 4*63 + 3 dots           = 255 bytes
LONG_TD="$A63.$A63.$A63.${A63:1}.a"      # 3*63 + 62 + 1 + 4 dots  = 256 bytes
bytes() { printf '%s' "$1" | LC_ALL=C wc -c | tr -d ' '; }
[ "$(bytes "$MAX_TD")" = 255 ] || die "MAX_TD is $(bytes "$MAX_TD") bytes, not 255"
[ "$(bytes "$LONG_TD")" = 256 ] || die "LONG_TD is $(bytes "$LONG_TD") bytes, not 256"
for td in "$MAX_TD" "$LONG_TD"; do
    [[ $td =~ ^[a-z0-9._-]+$ ]] || die "trust domain has a character outside [a-z0-9.-_]"
done

for f in ca1.crt.pem ca1.key.pem ca2.crt.pem ca2.key.pem; do
    [ -s "$f" ] || die "$certs/$f is missing (run gen.sh first)"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"
mkdir -p "$out" "$tmp/newcerts"

# Run a command quietly; show its output only if it fails.
q() {
    if ! "$@" >"$tmp/log" 2>&1; then
        echo "gen-svid.sh: command failed: $*" >&2
        cat "$tmp/log" >&2
        return 1
    fi
}

# --- openssl configuration (as in gen.sh) ------------------------------------

cat >"$tmp/req.cnf" <<'EOF'
[req]
distinguished_name = req_dn
prompt             = no
utf8               = yes
string_mask        = utf8only
[req_dn]
CN = placeholder
EOF

: >"$tmp/index.txt"
cat >"$tmp/ca.cnf" <<EOF
[ca]
default_ca = test_ca

[test_ca]
dir              = $tmp
database         = \$dir/index.txt
serial           = \$dir/serial
new_certs_dir    = \$dir/newcerts
unique_subject   = no
email_in_dn      = no
copy_extensions  = none
policy           = policy_cn
default_md       = sha256
preserve         = no

[policy_cn]
commonName = supplied

[v3_root]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF

# --- helpers -----------------------------------------------------------------

# Where an issuer's certificate and key are: ca1 / ca2 are the committed
# ones in certs/, ca3 is the one made in this run.
issuer_dir() {
    case "$1" in
        ca1|ca2) echo "$certs" ;;
        ca3) echo "$out" ;;
        *) die "unknown issuer $1" ;;
    esac
}

# genkey NAME -> $out/NAME.key.pem (P-256, PKCS#8, unencrypted)
genkey() {
    q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -pkeyopt ec_param_enc:named_curve -out "$out/$1.key.pem"
}

# csr NAME CN -> $tmp/NAME.csr
csr() {
    # '/' separates RDNs in -subj, so escape it (needed for SPIFFE URIs).
    q openssl req -new -config "$tmp/req.cnf" -key "$out/$1.key.pem" \
        -subj "/CN=${2//\//\\/}" -out "$tmp/$1.csr"
}

# root NAME CN: self-signed root CA (same extensions as ca1)
root() {
    genkey "$1"
    csr "$1" "$2"
    q openssl ca -config "$tmp/ca.cnf" -batch -notext -rand_serial -selfsign \
        -keyfile "$out/$1.key.pem" -in "$tmp/$1.csr" -out "$out/$1.crt.pem" \
        -startdate "$VALID_FROM" -enddate "$VALID_TO" -md sha256 -extensions v3_root
}

# leaf NAME ISSUER CN SAN [bc=VALUE] [ku=VALUE] [eku=VALUE]
#   SAN is an openssl subjectAltName value ("DNS:...", "URI:...", or several
#   separated by ", ", kept in that order).  bc / ku / eku replace gen.sh's
#   leaf basicConstraints / keyUsage / extendedKeyUsage; the value "none"
#   leaves the extension out.  SKI and AKI (keyid) are always present.
leaf() {
    local name=$1 issuer=$2 cn=$3 san=$4
    shift 4
    local bc="critical, CA:FALSE" ku="critical, digitalSignature" eku="serverAuth, clientAuth"
    local kv
    for kv in "$@"; do
        case "$kv" in
            bc=*) bc=${kv#bc=} ;;
            ku=*) ku=${kv#ku=} ;;
            eku=*) eku=${kv#eku=} ;;
            *) die "$name: bad option $kv" ;;
        esac
    done
    [ "$(bytes "$cn")" -le 64 ] || die "$name: CN longer than 64 bytes"
    local ext="$tmp/$name.ext" idir
    idir=$(issuer_dir "$issuer")
    {
        echo "[leaf]"
        [ "$bc" != none ] && echo "basicConstraints       = $bc"
        [ "$ku" != none ] && echo "keyUsage               = $ku"
        [ "$eku" != none ] && echo "extendedKeyUsage       = $eku"
        echo "subjectKeyIdentifier   = hash"
        echo "authorityKeyIdentifier = keyid:always"
        echo "subjectAltName         = $san"
    } >"$ext"
    genkey "$name"
    csr "$name" "$cn"
    q openssl ca -config "$tmp/ca.cnf" -batch -notext -rand_serial \
        -cert "$idir/$issuer.crt.pem" -keyfile "$idir/$issuer.key.pem" \
        -in "$tmp/$name.csr" -out "$out/$name.crt.pem" \
        -startdate "$VALID_FROM" -enddate "$VALID_TO" -md sha256 \
        -extensions leaf -extfile "$ext"
    # Chain file: leaf only (every issuer here is a root).
    cp "$out/$name.crt.pem" "$out/$name.chain.pem"
    # openssl checks the signature and dates, not the SVID rules.
    q openssl verify -CAfile "$idir/$issuer.crt.pem" "$out/$name.crt.pem"
}

# --- CA ----------------------------------------------------------------------

root ca3 "meshtls test root ca3 (trust domain $TD_B)"

# --- leaves ------------------------------------------------------------------
# The CN is the single SAN value when it is short, else a short label; the
# identity is only ever taken from the SAN.

# CA rotation: bar moves to ca2 as well (foo-ca2 is made by gen.sh).
leaf bar-ca2               ca2 "$BAR_ID"     "DNS:$BAR_ID"

# SPIFFE IDs, own trust domain and federation.
leaf spiffe-bar-ca1        ca1 "$SPIFFE_BAR" "URI:$SPIFFE_BAR"
leaf spiffe-baz-ca3        ca3 "$SPIFFE_BAZ" "URI:$SPIFFE_BAZ"
leaf spiffe-evil-ca3       ca3 "$SPIFFE_FOO" "URI:$SPIFFE_FOO"
leaf spiffe-baz-dnsfoo-ca3 ca3 spiffe-baz-dnsfoo "URI:$SPIFFE_BAZ, DNS:$FOO_ID"
leaf spiffe-foo-dns-ca1    ca1 spiffe-foo-dns    "DNS:$FOO_ID, URI:$SPIFFE_FOO"

# X509-SVID shape rules.
leaf twouris-ca1           ca1 twouris "URI:spiffe://evil.local/ns/x/sa/y, URI:$SPIFFE_FOO"
leaf nopath-ca1            ca1 "spiffe://$TD_A" "URI:spiffe://$TD_A"
leaf longtd-ca1            ca1 longtd  "URI:spiffe://$LONG_TD/ns/x"
leaf maxtd-ca1             ca1 maxtd   "URI:spiffe://$MAX_TD/ns/x"

# Key usage / basic constraints.
leaf noku-ca1              ca1 "$FOO_ID" "DNS:$FOO_ID" bc=none ku=none
leaf nobc-ca1              ca1 "$FOO_ID" "DNS:$FOO_ID" bc=none
leaf kucertsign-ca1        ca1 "$FOO_ID" "DNS:$FOO_ID" "ku=critical, digitalSignature, keyCertSign"
leaf kucrlsign-ca1         ca1 "$FOO_ID" "DNS:$FOO_ID" "ku=critical, digitalSignature, cRLSign"
leaf kuencipher-ca1        ca1 "$FOO_ID" "DNS:$FOO_ID" "ku=critical, keyEncipherment"

# Extended key usage.
leaf serveronly-ca1        ca1 "$FOO_ID" "DNS:$FOO_ID" eku=serverAuth
leaf clientonly-ca1        ca1 "$BAR_ID" "DNS:$BAR_ID" eku=clientAuth

# --- install -------------------------------------------------------------------

chmod 0644 "$out"/*.pem
mv -f "$out"/*.pem .
echo "gen-svid.sh: wrote $(cd "$tmp" && ls -1 newcerts | wc -l) certificates and their keys to $(pwd)"
