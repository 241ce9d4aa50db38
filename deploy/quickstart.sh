#!/usr/bin/env bash
# pgkb quick start: installs what is missing, builds, starts a local PostgreSQL cluster that pgkb owns
# (data under .pgkb/ in the checkout), migrates, starts the supervisor, and ingests the PostgreSQL HTML
# documentation (or the PATH or URL given), showing progress until every document is done; then prints a
# summary and a sample search. Safe to run again: it reuses the build, the cluster and a running supervisor,
# and unchanged documents are not written again.
# usage: deploy/quickstart.sh [PATH | URL]     deploy/quickstart.sh stop
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
STATE=${PGKB_HOME:-$SRC/.pgkb}
PORT=${PGKB_PORT:-54329}
PGBIN=/usr/lib/postgresql/15/bin
mkdir -p "$STATE"

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=pgkb PGKB_SCHEMA_DIR=$SRC/schema

if [ "${1:-}" = stop ]; then
	[ -f "$STATE/supervisor.pid" ] && kill -TERM "$(cat "$STATE/supervisor.pid")" 2>/dev/null && echo "supervisor stopping (drain)"
	for _ in $(seq 1 100); do [ -f "$STATE/supervisor.pid" ] && kill -0 "$(cat "$STATE/supervisor.pid")" 2>/dev/null || break; sleep 0.2; done
	rm -f "$STATE/supervisor.pid"
	[ -f "$STATE/pgdata/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$STATE/pgdata" -m fast -w stop >/dev/null && echo "database stopped"
	exit 0
fi

echo "==> dependencies"
"$SRC/deploy/install-deps.sh"
echo "==> build"
cmake -S "$SRC" -B "$SRC/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$SRC/build" -j"$(nproc)" 2>&1 | grep -E "error|warning" || true
BIN=$SRC/build

echo "==> database (port $PORT, data in $STATE/pgdata)"
if [ ! -f "$STATE/pgdata/PG_VERSION" ]; then
	mkdir -p "$STATE/pgdata"
	if [ "$(id -u)" = 0 ]; then chown postgres: "$STATE/pgdata"; chmod 755 "$STATE"; fi
	chmod 700 "$STATE/pgdata"
	as_pg "$PGBIN/initdb" -D "$STATE/pgdata" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$STATE/initdb.log"
fi
if ! as_pg "$PGBIN/pg_ctl" -D "$STATE/pgdata" status >/dev/null 2>&1; then
	as_pg "$PGBIN/pg_ctl" -D "$STATE/pgdata" -l "$STATE/pgdata/server.log" -w \
		-o "-p $PORT -k $STATE/pgdata -c listen_addresses=127.0.0.1" start >/dev/null
fi
psql -qAtX -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'pgkb'" | grep -q 1 || psql -qX -d postgres -c "CREATE DATABASE pgkb"
"$BIN/pgkb" migrate

TARGET=${1:-/usr/share/doc/postgresql-doc-15/html}
case $TARGET in
	http://*|https://*) ROOT=/nonexistent ;;
	*) TARGET=$(realpath "$TARGET"); ROOT=$TARGET; [ -d "$ROOT" ] || ROOT=$(dirname "$ROOT") ;;
esac

echo "==> supervisor"
CONFIG=$STATE/pgkb.yaml
cat >"$CONFIG.new" <<YAML
# written by deploy/quickstart.sh; see deploy/pgkb.example.yaml for every key
log: {level: info}
ingest:
  roots: ["$ROOT"]
workers:
  crawl: {processes: 1}
  ingest: {processes: 2}
  embed: {processes: 1}
YAML
if ! cmp -s "$CONFIG.new" "$CONFIG"; then
	mv "$CONFIG.new" "$CONFIG"
	[ -f "$STATE/supervisor.pid" ] && kill -HUP "$(cat "$STATE/supervisor.pid")" 2>/dev/null || true
else
	rm -f "$CONFIG.new"
fi
if [ -f "$STATE/supervisor.pid" ] && kill -0 "$(cat "$STATE/supervisor.pid")" 2>/dev/null; then
	echo "already running (pid $(cat "$STATE/supervisor.pid"))"
else
	nohup "$BIN/pgkb-supervisor" -c "$CONFIG" >>"$STATE/supervisor.log" 2>&1 &
	echo $! >"$STATE/supervisor.pid"
	echo "started (pid $!, log $STATE/supervisor.log)"
fi

echo "==> ingesting $TARGET"
t0=$(date +%s)
case $TARGET in
	http://*|https://*) "$BIN/pgkb" enqueue crawl "$TARGET" >/dev/null ;;
	*) "$BIN/pgkb" enqueue ingest "$TARGET" >/dev/null ;;
esac
pending() {
	psql -qAtX -c "SELECT (SELECT count(*) FROM pgkb.jobs WHERE state IN ('queued', 'running') AND run_at <= now() + interval '1 minute')
	                    + (SELECT count(*) FROM pgkb.documents WHERE status IN ('queued', 'fetched'))"
}
sleep 1
while [ "$(pending)" != 0 ]; do
	line=$(psql -qAtX -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE status IN ('chunked', 'embedded', 'ready')),
	                                 count(*) FILTER (WHERE status = 'ready') FROM pgkb.documents")
	set -- $line
	printf '\r  %s documents: %s chunked, %s ready   ' "$1" "$2" "$3"
	sleep 1
done
echo
secs=$(( $(date +%s) - t0 ))
psql -qAtX -F ' ' -c "SELECT (SELECT count(*) FROM pgkb.documents), (SELECT count(*) FROM pgkb.documents WHERE status = 'ready'),
	(SELECT count(*) FROM archon_crawled_pages), (SELECT count(*) FROM archon_code_examples),
	(SELECT count(*) FROM pgkb.documents WHERE status IN ('failed', 'skipped'))" | {
	read -r docs ready chunks codes bad
	echo "summary: $docs documents ($ready ready, $bad failed or skipped), $chunks chunks, $codes code examples, ${secs}s"
}
if "$BIN/pgkb" --help 2>&1 | grep -q "search"; then
	echo "==> sample search: how do I create an index without locking writes?"
	"$BIN/pgkb" search "create an index without locking out writes" -k 3 || true
fi
"$BIN/pgkb" status | tail -n 8
cat <<TXT

pgkb is running. Environment for the CLI and psql:
  export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=pgkb
Search:             $BIN/pgkb search "your question"
Ingest more:        $BIN/pgkb enqueue ingest PATH   (inside ingest.roots in $CONFIG)
Enqueue from SQL:   psql -c "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{}')"
Status:             $BIN/pgkb status
Stop everything:    $SRC/deploy/quickstart.sh stop
TXT
