#!/bin/sh
# tls-certs.sh DIR - makes the certificates of the TLS tests (tests/test_http,
# suite "tls") in DIR with Debian's openssl: a CA (ca.pem) and server
# certificates with their keys (NAME.pem, NAME.key):
#   good     signed by the CA for 127.0.0.1 and localhost
#   other    signed by the CA for other.invalid only (a name mismatch)
#   expired  signed by the CA, valid from 2001 to 2002
#   future   signed by the CA, valid from 2090 on
#   rogue    signed by a CA the client does not know (rogue-ca.pem)
#   client   a client certificate signed by the CA, its key (client.key)
#            encrypted with the password "mite-pass"
# openssl ca sets the validity dates (x509 -days cannot go back in time),
# so that no clock faking is needed. Exits non-zero when any step fails.
set -eu
D=$1
mkdir -p "$D"
cd "$D"
rm -rf db && mkdir db
: >db/index.txt
echo 01 >db/serial
cat >ca.cnf <<'EOF'
[ca]
default_ca = test_ca
[test_ca]
dir = .
database = db/index.txt
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = any
unique_subject = no
copy_extensions = copy
[any]
commonName = supplied
EOF

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # NAME: a self-signed CA
	key "$1.key"
	openssl req -x509 -new -key "$1.key" -out "$1.pem" -subj "/CN=mite $1" -days 3650 \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
}
cert() { # NAME CA SAN START END
	key "$1.key"
	openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1" -addext "subjectAltName=$3" 2>/dev/null
	openssl ca -batch -config ca.cnf -cert "$2.pem" -keyfile "$2.key" -in "$1.csr" -out "$1.pem" \
		-startdate "$4" -enddate "$5" -notext 2>/dev/null
	rm -f "$1.csr"
}

ca ca
ca rogue-ca
cert good ca "IP:127.0.0.1,DNS:localhost" 20000101000000Z 20991231000000Z
cert other ca "DNS:other.invalid" 20000101000000Z 20991231000000Z
cert expired ca "IP:127.0.0.1,DNS:localhost" 20010101000000Z 20020101000000Z
cert future ca "IP:127.0.0.1,DNS:localhost" 20900101000000Z 20991231000000Z
cert rogue rogue-ca "IP:127.0.0.1,DNS:localhost" 20000101000000Z 20991231000000Z
cert client ca "DNS:client.invalid" 20000101000000Z 20991231000000Z
openssl pkey -in client.key -aes256 -passout pass:mite-pass -out client.key.enc 2>/dev/null
mv client.key.enc client.key
