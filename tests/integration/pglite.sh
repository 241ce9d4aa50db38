# pglite_start EXTENSIONS: PGlite (Postgres in WebAssembly) with its pgvector build, served over the wire
# protocol by @electric-sql/pglite-socket on a free port, with the extensions listed (pglite-socket's -e list,
# e.g. "@electric-sql/pglite-pgvector:vector,pg_trgm"). Sets PGHOST/PGPORT/PGUSER/PGDATABASE for psql and pgkb.
# Exits 77 (skipped) without node and npm, or when the npm packages cannot be installed.
# PGKB_PGLITE_DIR: where the npm packages are (installed there when missing; default ~/.cache/pgkb-pglite).
# PGlite serves one connection at a time, and its one backend keeps session state (SET ROLE) across them.
# Sourced by the tests after lib.sh.
pglite_skip() { echo "SKIPPED: $*"; rm -rf "$T_DIR"; trap - EXIT; exit 77; }
pglite_start() {
	command -v node >/dev/null && command -v npm >/dev/null || pglite_skip "node and npm are not installed (apt-get install nodejs npm)"
	local dir=${PGKB_PGLITE_DIR:-$HOME/.cache/pgkb-pglite} attempt deadline pglite
	local server_js=$dir/node_modules/@electric-sql/pglite-socket/dist/scripts/server.js
	if [ ! -f "$server_js" ] || [ ! -d "$dir/node_modules/@electric-sql/pglite-pgvector" ]; then
		mkdir -p "$dir"
		npm install --prefix "$dir" --no-audit --no-fund @electric-sql/pglite-socket@0.2.17 @electric-sql/pglite-pgvector \
			>"$T_DIR/npm.log" 2>&1 || pglite_skip "npm install of PGlite failed: $(tail -n 3 "$T_DIR/npm.log")"
	fi
	export PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=postgres PGSSLMODE=disable
	# another test may take the free port before PGlite binds it: try a few
	for attempt in 1 2 3 4 5; do
		export PGPORT=$(free_port)
		(cd "$dir" && exec node "$server_js" -p "$PGPORT" -e "$1") >"$T_DIR/pglite.log" 2>&1 &
		pglite=$!
		T_PIDS+=("$pglite")
		deadline=$(( $(date +%s) + 60 ))
		until grep -q "listening\|EADDRINUSE" "$T_DIR/pglite.log" || ! kill -0 "$pglite" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; do sleep 0.2; done
		grep -q "listening" "$T_DIR/pglite.log" && return 0
		kill "$pglite" 2>/dev/null; wait "$pglite" 2>/dev/null
	done
	fail "PGlite did not start: $(tail -n 3 "$T_DIR/pglite.log")"
	finish
}
