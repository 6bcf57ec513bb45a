#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (Rust and Python alike).
#
#   tests/scripts/pg_server.sh PORT [tls]
#
# Creates a cluster with initdb in a new temporary directory, starts it on 127.0.0.1:PORT (its Unix
# socket in that directory too) and prints `ready postgresql://runway@127.0.0.1:PORT/postgres`. Then it
# reads commands on standard input, one a line:
#
#   createdb NAME   -> prints `postgresql://runway@127.0.0.1:PORT/NAME` (or `error ...`)
#   ca              -> prints the path of the CA certificate (with `tls`)
#
# With `tls`, the server takes TLS connections only (pg_hba: hostssl), with a certificate for the
# name `localhost` (not 127.0.0.1) signed by a throwaway CA made here with openssl.
#
# When standard input closes (the test process ended, however it ended), it stops the server and
# removes the directory. initdb refuses to run as root: as root (CI), the cluster belongs to the
# `postgres` user that Debian's package creates, and runs as that user. Any error: a line on stderr,
# exit status 1, before `ready`.
set -euo pipefail

port=${1:?usage: pg_server.sh PORT [tls]}
tls=${2:-}

initdb=$(command -v initdb || true)
if [ -z "$initdb" ]; then
    initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$initdb" ]; then
    echo "pg_server.sh: no initdb on PATH nor in /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2
    exit 1
fi
bin=$(dirname "$(readlink -f "$initdb")")

dir=$(mktemp -d "${TMPDIR:-/tmp}/runway-pg.XXXXXX")
as_pg=()
if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "pg_server.sh: running as root and there is no postgres user to run the server as" >&2
        rm -rf "$dir"
        exit 1
    fi
    chown postgres: "$dir"
    as_pg=(runuser -u postgres --)
fi
pg() { ${as_pg[@]+"${as_pg[@]}"} "$@"; }

stop() {
    pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT
trap 'exit 1' INT TERM HUP

if ! pg "$bin/initdb" -D "$dir/data" -U runway --auth=trust -E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1; then
    echo "pg_server.sh: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    exit 1
fi
# Durability off: the cluster is thrown away after the tests.
opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
if [ "$tls" = tls ]; then
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    if ! {
        openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=runway test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
        openssl req "${ec[@]}" -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" &&
        printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$dir/ext" &&
        openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
            -extfile "$dir/ext" -out "$dir/server.crt"
    } >"$dir/openssl.log" 2>&1; then
        echo "pg_server.sh: could not make the test certificates:" >&2
        cat "$dir/openssl.log" >&2
        exit 1
    fi
    chmod 600 "$dir/server.key"
    chmod 644 "$dir/ca.pem" "$dir/server.crt"
    if [ ${#as_pg[@]} -gt 0 ]; then chown postgres: "$dir/server.key" "$dir/server.crt"; fi
    printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n' \
        >"$dir/pg_hba.conf"
    if [ ${#as_pg[@]} -gt 0 ]; then chown postgres: "$dir/pg_hba.conf"; fi
    opts="$opts -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key -c hba_file=$dir/pg_hba.conf"
fi
if ! pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" start >/dev/null 2>&1; then
    echo "pg_server.sh: the server did not start:" >&2
    cat "$dir/server.log" >&2 || true
    exit 1
fi

url="postgresql://runway@127.0.0.1:$port"
echo "ready $url/postgres"
while IFS=' ' read -r cmd arg; do
    case "$cmd" in
        createdb)
            if out=$("$bin/createdb" -h 127.0.0.1 -p "$port" -U runway "$arg" 2>&1); then
                echo "$url/$arg"
            else
                echo "error ${out//$'\n'/ }"
            fi
            ;;
        ca) echo "$dir/ca.pem" ;;
        *) echo "error unknown command $cmd" ;;
    esac
done
