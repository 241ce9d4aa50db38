#!/usr/bin/env bash
# Deployment files: compose.yaml is valid (docker-compose config) with a healthy-db-gated migration as the
# owner, three worker replicas as the worker role that wait for the migration and grants; the Dockerfile is
# multi-stage on Debian 12 with a runtime stage holding only the libraries the binaries link (checked against
# the built binaries' NEEDED entries), a non-root user and the supervisor as entrypoint; the systemd unit
# passes systemd-analyze verify (or a static check) and has reload, drain-friendly stop and hardening.
. "$(dirname "$0")/lib.sh"
D=$PGKB_SRC_DIR/deploy

# --- compose
if command -v docker-compose >/dev/null; then
	out=$(cd "$D" && docker-compose -f compose.yaml config 2>&1); rc=$?
	assert_eq "$rc" "0" "docker-compose config accepts compose.yaml"
	printf '%s\n' "$out" >"$T_DIR/compose-config.log"
	svc() { printf '%s\n' "$out" | awk -v s="  $1:" '$0 == s {on=1; next} /^  [a-z]/ {on=0} on'; }
	assert_match "$(svc worker)" "replicas: 3" "worker: deploy.replicas 3"
	assert_match "$(svc worker)" "DATABASE_URL: postgres://pgkb_worker:" "worker: connects as the worker role"
	assert_match "$(svc worker)" "migrate:"$'\n'"        condition: service_completed_successfully" \
		"worker: waits for the migration to complete"
	assert_match "$(svc worker)" "grant:"$'\n'"        condition: service_completed_successfully" \
		"worker: waits for the grants"
	assert_match "$(svc migrate)" "DATABASE_URL: postgres://pgkb:" "migrate: runs as the owner"
	assert_match "$(svc migrate)" "condition: service_healthy" "migrate: waits for a healthy database"
	assert_match "$(svc migrate)" "- migrate" "migrate: runs pgkb migrate"
	assert_match "$(svc grant)" "pgkb.grant_worker_role\('pgkb_worker'\)" "grant: grants the worker role"
	assert_match "$(svc db)" "image: pgvector/pgvector:pg15" "db: the pgvector image"
	assert_match "$(svc db)" "pg_isready" "db: a healthcheck"
	assert_match "$(svc db)" "pgdata:/var/lib/postgresql/data" "db: a named volume"
	assert_match "$(svc worker)" "stop_grace_period: 45s" "worker: stop grace longer than the drain timeout"
else
	log "docker-compose not installed: skipping the compose validation (CI installs it)"
fi

# --- Dockerfile
DF=$D/Dockerfile
assert_match "$(grep '^FROM' "$DF" | head -1)" "^FROM debian:12 AS build$" "builder stage on Debian 12"
final=$(awk '/^FROM/ {n++} n == 2' "$DF")
assert_match "$(printf '%s\n' "$final" | head -1)" "^FROM debian:12(-slim)?$" "runtime stage on Debian 12"
if printf '%s\n' "$final" | grep -q -- '-dev\b'; then fail "runtime stage installs -dev packages"; else pass "no -dev packages at runtime"; fi
for p in libpq5 libev4 libyaml-0-2 libjansson4 libxml2 libcurl4 libssl3 zlib1g; do
	printf '%s\n' "$final" | grep -qw -- "$p" || fail "runtime stage lacks $p"
done
pass "runtime stage lists the runtime libraries"
# every library the binaries link directly comes from a package the runtime stage installs (or libc6)
if command -v readelf >/dev/null && command -v dpkg >/dev/null; then
	missing=""
	for bin in "$PGKB_BIN_DIR/pgkb" "$PGKB_BIN_DIR/pgkb-supervisor"; do
		for so in $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
			case $so in libasan* | libubsan* | ld-linux* | libc.so* | libm.so* | libgcc_s*) continue ;; esac
			path=$(ldconfig -p | awk -v s="$so" '$1 == s { print $NF; exit }')
			pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
			[ -n "$pkg" ] || pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
			printf '%s\n' "$final" | grep -qw -- "$pkg" || missing="$missing $so($pkg)"
		done
	done
	assert_eq "${missing# }" "" "every linked library's package is in the runtime stage"
fi
assert_match "$final" $'\n''USER pgkb' "runs as a non-root user"
assert_match "$final" 'useradd --system' "... created as a system user"
assert_match "$final" 'ENTRYPOINT \["pgkb-supervisor"\]' "entrypoint: the supervisor"
assert_match "$final" '/usr/local/share/pgkb/schema' "schema installed to /usr/local/share/pgkb/schema"
assert_match "$(cat "$DF")" 'cmake --install build' "binaries installed by cmake --install"

# --- systemd unit
U=$D/pgkb.service
if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/local/bin/pgkb-supervisor|$PGKB_BIN_DIR/pgkb-supervisor|g" "$U" >"$T_DIR/pgkb.service"
	out=$(systemd-analyze verify "$T_DIR/pgkb.service" 2>&1); rc=$?
	assert_eq "$rc:$out" "0:" "systemd-analyze verify: no complaints"
else
	log "systemd-analyze not installed: static checks only"
fi
unit=$(cat "$U")
for line in 'ExecReload=/bin/kill -HUP $MAINPID' 'KillSignal=SIGTERM' 'Restart=on-failure' 'RestartPreventExitStatus=2' \
	'NoNewPrivileges=yes' 'PrivateTmp=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'User=pgkb' \
	'ExecStart=/usr/local/bin/pgkb-supervisor'; do
	if printf '%s\n' "$unit" | grep -qxF -- "$line"; then pass "unit: $line"; else fail "unit lacks: $line"; fi
done
stop=$(printf '%s\n' "$unit" | sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p')
drain=$(sed -n 's/^  drain_timeout: \([0-9]*\)s.*/\1/p' "$D/pgkb.example.yaml")
assert_ge "$stop" "$((drain + 10 + 1))" "TimeoutStopSec exceeds the drain timeout plus the supervisor's grace"
# the hardened unit still lets the supervisor check its configuration as an unprivileged user
out=$(env -i PATH=/usr/bin:/bin "$PGKB_BIN_DIR/pgkb-supervisor" -c "$D/pgkb.example.yaml" --check 2>&1); rc=$?
assert_eq "$rc" "0" "the example configuration passes --check (ExecStartPre)"
finish
