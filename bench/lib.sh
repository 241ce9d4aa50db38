# Benchmark helpers: a scratch PostgreSQL 15 cluster with default durability settings, and statistics.
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${PGKB_BIN_DIR:-$SRC/build-release}
export PGKB_SCHEMA_DIR=$SRC/schema
B_DIR=$(mktemp -d /tmp/pgkb-bench.XXXXXX); chmod 755 "$B_DIR"
B_PIDS=()

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

bench_build() { # builds an optimised tree unless PGKB_BIN_DIR points at one
	if [ -z "${PGKB_BIN_DIR:-}" ]; then
		cmake -S "$SRC" -B "$BIN" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
		cmake --build "$BIN" -j"$(nproc)" >/dev/null
	fi
}

bench_pg_start() { # PORT: fresh cluster, default settings except max_connections (the peer needs 100+)
	# and BENCH_PG_OPTS (extra server options, e.g. "-c shared_preload_libraries=pg_stat_statements")
	export PGPORT=$1 PGHOST=127.0.0.1 PGUSER=postgres
	mkdir -p "$B_DIR/pg"; [ "$(id -u)" = 0 ] && chown postgres: "$B_DIR/pg" "$B_DIR"; chmod 700 "$B_DIR/pg"
	as_pg "$PGBIN/initdb" -D "$B_DIR/pg" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
	as_pg "$PGBIN/pg_ctl" -D "$B_DIR/pg" -l "$B_DIR/server.log" -w \
		-o "-p $PGPORT -k $B_DIR/pg -c listen_addresses=127.0.0.1 -c max_connections=250 ${BENCH_PG_OPTS:-}" start >/dev/null
}

bench_alive() { local p; for p in "${B_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }

bench_cleanup() {
	# TERM first: nginx's master and the supervisor stop their own children; KILL what is left after 3 s.
	local p i
	for p in "${B_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for i in $(seq 1 30); do bench_alive || break; sleep 0.1; done
	for p in "${B_PIDS[@]}"; do pkill -KILL -P "$p" 2>/dev/null || true; kill -KILL "$p" 2>/dev/null || true; done
	[ -f "$B_DIR/pg/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$B_DIR/pg" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$B_DIR"
}
trap bench_cleanup EXIT

. "$SRC/tests/lib/servers.sh"
bench_nginx() { # DIR: a private nginx serving DIR on loopback (no access log); sets HTTP_PORT, BASE, NGINX (its pid)
	HTTP_PORT=$(free_port)
	BASE=http://127.0.0.1:$HTTP_PORT
	nginx_conf "$1" "$HTTP_PORT" "$B_DIR/nginx" off
	/usr/sbin/nginx -e "$B_DIR/nginx/error.log" -p "$B_DIR/nginx" -c "$B_DIR/nginx/nginx.conf" &
	NGINX=$!
	B_PIDS+=("$NGINX")
	wait_port "$HTTP_PORT" "$NGINX" || { echo "nginx did not start: $(cat "$B_DIR/nginx/error.log")" >&2; return 1; }
}

sql() { psql -qAtX -v ON_ERROR_STOP=1 "$@"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
