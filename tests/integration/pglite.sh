# Sourced by the pgvector tests (after lib.sh): pglite_start serves PGlite (Postgres in WebAssembly) with its
# pgvector build over the wire protocol (@electric-sql/pglite-socket) on a free port, exporting PGHOST, PGPORT,
# PGUSER and PGDATABASE for it. Skips the test (exit 77) without node and npm or when the npm install fails.
# PGKB_PGLITE_DIR: where the npm packages are (installed there when missing; default ~/.cache/pgkb-pglite).

skip() { echo "SKIPPED: $*"; rm -rf "$T_DIR"; trap - EXIT; exit 77; }

pglite_start() {
	command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are not installed (apt-get install nodejs npm)"
	local dir=${PGKB_PGLITE_DIR:-$HOME/.cache/pgkb-pglite}
	local server_js=$dir/node_modules/@electric-sql/pglite-socket/dist/scripts/server.js
	if [ ! -f "$server_js" ] || [ ! -d "$dir/node_modules/@electric-sql/pglite-pgvector" ]; then
		mkdir -p "$dir"
		npm install --prefix "$dir" --no-audit --no-fund @electric-sql/pglite-socket@0.2.17 @electric-sql/pglite-pgvector \
			>"$T_DIR/npm.log" 2>&1 || skip "npm install of PGlite failed: $(tail -n 3 "$T_DIR/npm.log")"
	fi
	export PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=postgres PGSSLMODE=disable
	# another test may take the free port before PGlite binds it: try a few
	local attempt pglite deadline
	for attempt in 1 2 3 4 5; do
		export PGPORT=$(free_port)
		(cd "$dir" && exec node "$server_js" -p "$PGPORT" -e @electric-sql/pglite-pgvector:vector,pg_trgm) >"$T_DIR/pglite.log" 2>&1 &
		pglite=$!
		T_PIDS+=("$pglite")
		deadline=$(( $(date +%s) + 60 ))
		until grep -q "listening\|EADDRINUSE" "$T_DIR/pglite.log" || ! kill -0 "$pglite" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; do sleep 0.2; done
		grep -q "listening" "$T_DIR/pglite.log" && break
		kill "$pglite" 2>/dev/null; wait "$pglite" 2>/dev/null
	done
	grep -q "listening" "$T_DIR/pglite.log" || { fail "PGlite did not start: $(tail -n 3 "$T_DIR/pglite.log")"; finish; }
}
