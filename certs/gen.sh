#!/usr/bin/env bash
# Regenerates the meshtls test PKI in this directory.
#
#   bash certs/gen.sh        (from the repository root)
#   bash gen.sh              (from inside certs/)
#
# Every run creates fresh keys and certificates and replaces all outputs
# together.  Everything is built in a temporary directory first and only
# moved into place once every step has succeeded, so a failed run leaves the
# previous set untouched.  The `openssl ca` working files (index.txt, serial
# copies, configs, CSRs) live only in that temporary directory.
#
# At the end it runs gen-svid.sh, which remakes the fixtures that are signed
# by ca1 / ca2 but made by that script (see its header).
#
# THE KEYS WRITTEN HERE ARE PUBLIC TEST FIXTURES.  NEVER USE THEM FOR ANYTHING
# BUT TESTS.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
umask 022

# Validity window of every "valid" certificate: 2025-01-01 .. 2125-01-01 UTC.
# openssl ca accepts YYYYMMDDHHMMSSZ and encodes years < 2050 as UTCTime and
# later years as GeneralizedTime, as RFC 5280 requires.
VALID_FROM=20250101000000Z
VALID_TO=21250101000000Z

FOO_ID=foo.ns1.serviceaccount.identity.linkerd.cluster.local
BAR_ID=bar.ns1.serviceaccount.identity.linkerd.cluster.local
SPIFFE_ID=spiffe://cluster.local/ns/ns1/sa/foo
id_for() { echo "$1.ns1.serviceaccount.identity.linkerd.cluster.local"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"
mkdir -p "$out" "$tmp/newcerts"

# Run a command quietly; show its output only if it fails.
q() {
    if ! "$@" >"$tmp/log" 2>&1; then
        echo "gen.sh: command failed: $*" >&2
        cat "$tmp/log" >&2
        return 1
    fi
}

# --- openssl configuration -------------------------------------------------

# Minimal request config: the subject always comes from -subj and the CSR
# carries no extensions (extensions are set by the CA config below).
cat >"$tmp/req.cnf" <<'EOF'
[req]
distinguished_name = req_dn
prompt             = no
utf8               = yes
string_mask        = utf8only
[req_dn]
CN = placeholder
EOF

# Throw-away CA database.  The same database is used for all three issuers
# (ca1, ca2, int1); the issuer is selected per call with -cert/-keyfile.
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

[v3_int]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF

# --- helpers ---------------------------------------------------------------

# genkey NAME TYPE  -> $out/NAME.key.pem (PKCS#8, unencrypted)
genkey() {
    local name=$1 type=$2 f="$out/$1.key.pem"
    case "$type" in
        p256) q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
                  -pkeyopt ec_param_enc:named_curve -out "$f" ;;
        p384) q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
                  -pkeyopt ec_param_enc:named_curve -out "$f" ;;
        rsa2048) q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$f" ;;
        rsa1024) q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$f" ;;
        ed25519) q openssl genpkey -algorithm ED25519 -out "$f" ;;
        *) echo "gen.sh: unknown key type $type" >&2; return 1 ;;
    esac
}

# csr NAME CN -> $tmp/NAME.csr
csr() {
    # '/' separates RDNs in -subj, so escape it (needed for SPIFFE URIs).
    q openssl req -new -config "$tmp/req.cnf" -key "$out/$1.key.pem" \
        -subj "/CN=${2//\//\\/}" -out "$tmp/$1.csr"
}

# sign NAME ISSUER EXTFILE EXTSECTION START END MD -> $out/NAME.crt.pem
sign() {
    local name=$1 issuer=$2 extfile=$3 section=$4 start=$5 end=$6 md=$7
    local ext_args=(-extensions "$section")
    [ -n "$extfile" ] && ext_args+=(-extfile "$extfile")
    q openssl ca -config "$tmp/ca.cnf" -batch -notext -rand_serial \
        -cert "$out/$issuer.crt.pem" -keyfile "$out/$issuer.key.pem" \
        -in "$tmp/$name.csr" -out "$out/$name.crt.pem" \
        -startdate "$start" -enddate "$end" -md "$md" "${ext_args[@]}"
}

# root NAME CN: self-signed root CA
root() {
    genkey "$1" p256
    csr "$1" "$2"
    q openssl ca -config "$tmp/ca.cnf" -batch -notext -rand_serial -selfsign \
        -keyfile "$out/$1.key.pem" -in "$tmp/$1.csr" -out "$out/$1.crt.pem" \
        -startdate "$VALID_FROM" -enddate "$VALID_TO" -md sha256 -extensions v3_root
}

# leaf NAME KEYTYPE ISSUER SAN [START END MD]
#   SAN is an openssl subjectAltName value ("DNS:...", "URI:...") or "none".
#   The CN is the DNS identity, or the URI for URI-only leaves.
leaf() {
    local name=$1 type=$2 issuer=$3 san=$4
    local start=${5:-$VALID_FROM} end=${6:-$VALID_TO} md=${7:-sha256}
    local cn ext="$tmp/$name.ext"
    case "$san" in
        DNS:*) cn=${san#DNS:} ;;
        URI:*) cn=${san#URI:} ;;
        none) cn=$FOO_ID ;;
        *) echo "gen.sh: bad SAN $san" >&2; return 1 ;;
    esac
    {
        echo "[leaf]"
        echo "basicConstraints       = critical, CA:FALSE"
        echo "keyUsage               = critical, digitalSignature"
        echo "extendedKeyUsage       = serverAuth, clientAuth"
        echo "subjectKeyIdentifier   = hash"
        echo "authorityKeyIdentifier = keyid:always"
        [ "$san" != none ] && echo "subjectAltName         = $san"
    } >"$ext"
    genkey "$name" "$type"
    csr "$name" "$cn"
    sign "$name" "$issuer" "$ext" leaf "$start" "$end" "$md"
    # Chain file: leaf followed by intermediates (never the root).
    if [ "$issuer" = int1 ]; then
        cat "$out/$name.crt.pem" "$out/int1.crt.pem" >"$out/$name.chain.pem"
    else
        cp "$out/$name.crt.pem" "$out/$name.chain.pem"
    fi
}

# --- CAs ---------------------------------------------------------------------

root ca1 "meshtls test root ca1"
root ca2 "meshtls test root ca2"

genkey int1 p256
csr int1 "meshtls test intermediate int1"
sign int1 ca1 "" v3_int "$VALID_FROM" "$VALID_TO" sha256

cat "$out/ca1.crt.pem" "$out/ca2.crt.pem" >"$out/roots.pem"

# --- leaves ------------------------------------------------------------------

leaf foo-ca1        p256    ca1  "DNS:$FOO_ID"
leaf bar-ca1        p256    ca1  "DNS:$BAR_ID"
leaf foo-ca2        p256    ca2  "DNS:$FOO_ID"
leaf foo-int1       p256    int1 "DNS:$FOO_ID"
leaf spiffe-foo-ca1 p256    ca1  "URI:$SPIFFE_ID"
leaf p384-ca1       p384    ca1  "DNS:$(id_for p384)"
leaf rsa2048-ca1    rsa2048 ca1  "DNS:$(id_for rsa2048)"
leaf ed25519-ca1    ed25519 ca1  "DNS:$(id_for ed25519)"
leaf expired-ca1    p256    ca1  "DNS:$FOO_ID" 20010101000000Z 20020101000000Z
leaf notyet-ca1     p256    ca1  "DNS:$FOO_ID" 20950101000000Z 20960101000000Z
leaf rsa1024-ca1    rsa1024 ca1  "DNS:$(id_for rsa1024)"
leaf sha1-ca1       p256    ca1  "DNS:$(id_for sha1)" "$VALID_FROM" "$VALID_TO" sha1
leaf nosan-ca1      p256    ca1  none

# --- alternative encodings of existing keys ----------------------------------

# SEC1 ("EC PRIVATE KEY") and PKCS#1 ("RSA PRIVATE KEY") forms of the same keys.
q openssl ec  -in "$out/foo-ca1.key.pem"     -out "$out/foo-ca1.sec1.key.pem"
q openssl ec  -in "$out/p384-ca1.key.pem"    -out "$out/p384-ca1.sec1.key.pem"
q openssl rsa -in "$out/rsa2048-ca1.key.pem" -out "$out/rsa2048-ca1.pkcs1.key.pem" -traditional

# A key that matches no certificate.
genkey unmatched p256

# --- install -------------------------------------------------------------------

chmod 0644 "$out"/*.pem
mv -f "$out"/*.pem .
echo "gen.sh: wrote $(cd "$tmp" && ls -1 newcerts | wc -l) certificates and all keys to $(pwd)"

# The SVID / rotation / federation fixtures are signed by ca1 and ca2, so
# remake them under the CAs just written.  gen-svid.sh installs its files only
# if all of its steps succeed; should it fail here, the files above are already
# in place, and re-running `bash certs/gen-svid.sh` completes the set.
bash ./gen-svid.sh
