#!/usr/bin/env bash
# Operations: a login role granted by pgkb.grant_worker_role runs the supervisor (noop and ingest jobs, the
# metrics queries) and cannot create, alter or truncate anything; the maintenance timer deletes documents gone
# for longer than ingest.gone_retention (with their leftover chunks) and keeps the rest; it enqueues one
# crawl job (dedupe key recrawl:<source>) for a source whose Archon update_frequency has passed, and none for
# sources not due. Under the same role a crawl, its ingests and an embed job complete, while the writes no worker
# makes (deleting a source, rewriting history) and the administrative functions are refused.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
ROLE=pgkb_worker_t
sql "CREATE ROLE $ROLE LOGIN"
sql "SELECT pgkb.grant_worker_role('$ROLE')"
as_role() { psql -qAtX -v ON_ERROR_STOP=1 -U "$ROLE" -c "$1" 2>&1; }

# --- the role can do what workers do, and nothing else
for stmt in "CREATE TABLE public.t_evil (i int)" "CREATE TABLE pgkb.t_evil (i int)" "CREATE SCHEMA evil" \
	"ALTER TABLE pgkb.jobs ADD COLUMN evil int" "TRUNCATE pgkb.jobs" "DROP TABLE pgkb.noop_log" \
	"CREATE INDEX evil ON pgkb.jobs (kind)" "SELECT count(*) FROM public.archon_migrations" \
	"SELECT pgkb.grant_worker_role('$ROLE')" "CREATE FUNCTION pgkb.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'" \
	"DELETE FROM public.archon_sources" "UPDATE pgkb.job_history SET state = 'dead'" \
	"DELETE FROM pgkb.crawls" "UPDATE pgkb.noop_log SET attempt = 0" "DELETE FROM pgkb.host_politeness" \
	"SELECT pgkb.enable_pgvector()" "SELECT pgkb.install_search_functions()"; do
	out=$(as_role "$stmt"); rc=$?
	if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -qE "permission denied|must be owner"; then
		pass "worker role refused: $stmt"
	else
		fail "worker role was not refused: $stmt ($out)"
	fi
done
# the administrative functions are not executable by PUBLIC either (a role that may only look into the schema,
# as an application reading the knowledge base may)
sql "CREATE ROLE pgkb_public_t LOGIN; GRANT USAGE ON SCHEMA pgkb TO pgkb_public_t"
for fn in "pgkb.enable_pgvector()" "pgkb.install_search_functions()" "pgkb.grant_worker_role('pgkb_public_t')"; do
	out=$(psql -qAtX -U pgkb_public_t -c "SELECT $fn" 2>&1)
	assert_match "$out" "permission denied for function" "PUBLIC may not run $fn"
done
# a worker role granted by an earlier version (DELETE on every table) is narrowed by running the function again
sql "GRANT DELETE ON public.archon_sources TO $ROLE; GRANT UPDATE ON pgkb.job_history TO $ROLE"
sql "SELECT pgkb.grant_worker_role('$ROLE')"
assert_eq "$(sql "SELECT has_table_privilege('$ROLE', 'public.archon_sources', 'DELETE') OR has_table_privilege('$ROLE', 'pgkb.job_history', 'UPDATE')")" \
	"f" "running grant_worker_role again revokes privileges it no longer grants"
out=$(psql -qAtX -c "SELECT pgkb.grant_worker_role('nobody_here')" 2>&1)
assert_match "$out" 'role "nobody_here" does not exist' "grant_worker_role: a missing role is an error"
out=$(psql -qAtX -c "SELECT pgkb.grant_worker_role('$ROLE')" 2>&1); rc=$?
assert_eq "$rc:$out" "0:" "grant_worker_role can run again (after a migration adds tables)"
out=$(psql -qAtX -c "GRANT CREATE ON SCHEMA public TO PUBLIC" -c "SELECT pgkb.grant_worker_role('$ROLE')" \
	-c "REVOKE CREATE ON SCHEMA public FROM PUBLIC" 2>&1)
assert_match "$out" "WARNING: +pgkb: every role \(PUBLIC\) may CREATE in schema public" \
	"grant_worker_role warns when PUBLIC may create in public"
out=$(as_role "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"tag\": \"probe\"}') RETURNING 1"); rc=$?
assert_eq "$rc:$out" "0:1" "worker role can enqueue"
sql "DELETE FROM pgkb.jobs"

# --- fixtures for pruning and re-crawls, written before the workers start (their first maintenance tick runs both)
sql "INSERT INTO public.archon_sources (source_id, source_url, metadata, created_at) VALUES
	('site', 'https://site.example/', '{}', now() - interval '90 days'),
	('docs', 'https://docs.example/', '{\"update_frequency\": 7, \"knowledge_type\": \"technical\", \"tags\": [\"a\"]}', now() - interval '60 days'),
	('fresh', 'https://fresh.example/', '{\"update_frequency\": 7}', now() - interval '60 days'),
	('manual', 'https://manual.example/', '{}', now() - interval '60 days'),
	('never', 'https://never.example/', '{\"update_frequency\": 0}', now() - interval '60 days'),
	('files', 'file:///srv/docs', '{\"update_frequency\": 1}', now() - interval '60 days'),
	('busy', 'https://busy.example/', '{\"update_frequency\": 1}', now() - interval '60 days')"
sql "INSERT INTO pgkb.crawls (source_id, root_url, options, status, started_at, finished_at) VALUES
	('docs', 'https://docs.example/start', '{\"max_depth\": 2, \"max_pages\": 50, \"include\": [], \"exclude\": []}', 'done', now() - interval '10 days', now() - interval '10 days'),
	('fresh', 'https://fresh.example/', '{}', 'done', now() - interval '1 day', now() - interval '1 day'),
	('busy', 'https://busy.example/', '{}', 'running', now() - interval '5 days', NULL)"
sql "INSERT INTO pgkb.documents (source_id, url, status, updated_at) VALUES
	('site', 'https://site.example/old1', 'gone', now() - interval '40 days'),
	('site', 'https://site.example/old2', 'gone', now() - interval '31 days'),
	('site', 'https://site.example/recent', 'gone', now() - interval '20 days'),
	('site', 'https://site.example/alive', 'ready', now() - interval '40 days')"
sql "INSERT INTO public.archon_crawled_pages (url, chunk_number, content, source_id) VALUES
	('https://site.example/old1', 0, 'leftover chunk', 'site'), ('https://site.example/alive', 0, 'live chunk', 'site')"

# --- a supervisor as that role: noop, ingest, metrics, maintenance
DOCS=$T_DIR/docs
mkdir -p "$DOCS"
printf '# Runbook\n\nRestart the service with care.\n\n## Steps\n\nDrain first, then stop.\n' >"$DOCS/runbook.md"
chmod -R a+rX "$DOCS"
MPORT=$(free_port)
write_config "$T_DIR/ops.yaml" "workers:
  noop: {processes: 1, concurrency: 4}
  ingest: {processes: 1, concurrency: 2}
  crawl: {processes: 0}
  embed: {processes: 0}
ingest:
  roots: [$DOCS]"
DATABASE_URL="postgresql://$ROLE@127.0.0.1:$PGPORT/pgkb_test" PGKB_SUPERVISOR_METRICS_LISTEN=127.0.0.1:$MPORT \
	sup_start "$T_DIR/ops.yaml" ops
wait_for "SELECT count(*) = 2 FROM pg_stat_activity WHERE usename = '$ROLE' AND query LIKE 'LISTEN%'" 20 "workers up as the worker role"
id=$(sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('noop', '{\"log\": true}') RETURNING id")
wait_for "SELECT count(*) = 1 FROM pgkb.noop_log WHERE job_id = $id" 20 "noop job done as the worker role" &&
	pass "a noop job runs as the worker role"
sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('ingest', '{\"path\": \"$DOCS/runbook.md\", \"source_id\": \"runbook\"}')"
wait_for "SELECT count(*) = 1 FROM pgkb.documents WHERE source_id = 'runbook' AND status = 'chunked'" 30 "file ingested" &&
	pass "an ingest job runs as the worker role"
assert_ge "$(sql "SELECT count(*) FROM public.archon_crawled_pages WHERE source_id = 'runbook'")" 1 "... and wrote chunks"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'embed' AND state = 'queued'")" "1" "... and enqueued its embed job"
m=$(exec 3<>"/dev/tcp/127.0.0.1/$MPORT" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && timeout 10 cat <&3)
assert_match "$m" $'\n''pgkb_database_up 1' "metrics queries work as the worker role"

# --- pruning of gone documents (ingest.gone_retention, default 30d)
wait_for "SELECT count(*) = 0 FROM pgkb.documents WHERE url LIKE 'https://site.example/old%'" 20 "old gone documents pruned" &&
	pass "documents gone for longer than 30 days are deleted"
assert_eq "$(sql "SELECT string_agg(url, ' ' ORDER BY url) FROM pgkb.documents WHERE source_id = 'site'")" \
	"https://site.example/alive https://site.example/recent" "recently gone and live documents stay"
assert_eq "$(sql "SELECT string_agg(content, ',') FROM public.archon_crawled_pages WHERE source_id = 'site'")" "live chunk" \
	"a pruned document's leftover chunks go with it"
# the batch limit and the retention parameter, called directly
sql "INSERT INTO pgkb.documents (source_id, url, status, updated_at)
	SELECT 'site', 'https://site.example/batch' || i, 'gone', now() - interval '2 days' FROM generate_series(1, 5) i"
assert_eq "$(sql "SELECT pgkb.prune_gone_documents(interval '1 day', 3)")" "3" "prune_gone_documents honours its batch limit"
assert_eq "$(sql "SELECT pgkb.prune_gone_documents(interval '3 days', 1000)")" "0" "... and its retention"

# --- scheduled re-crawls
wait_for "SELECT count(*) = 1 FROM pgkb.jobs WHERE dedupe_key = 'recrawl:docs'" 20 "re-crawl enqueued" &&
	pass "a due source gets a crawl job"
assert_eq "$(sql "SELECT kind || ' ' || (payload - 'include' - 'exclude')::text FROM pgkb.jobs WHERE dedupe_key = 'recrawl:docs'")" \
	'crawl {"url": "https://docs.example/start", "tags": ["a"], "max_depth": 2, "max_pages": 50, "source_id": "docs", "knowledge_type": "technical"}' \
	"... with the last crawl's URL and options and the source's knowledge type and tags"
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'crawl'")" "1" \
	"no job for sources not due, without update_frequency, with 0, not http(s) or with a crawl running"
assert_eq "$(sql "SELECT pgkb.schedule_recrawls(100)")" "0" "scheduling again enqueues nothing"
# a source that comes due later (its last crawl back-dated)
sql "UPDATE pgkb.crawls SET started_at = now() - interval '8 days' WHERE source_id = 'fresh'"
assert_eq "$(sql "SELECT pgkb.schedule_recrawls(100)")" "1" "a source that comes due is scheduled"

kill -TERM "$SUP_PID"; wait "$SUP_PID"; rc=$?
assert_eq "$rc" "0" "supervisor as the worker role exits 0"

# --- crawl, ingest and embed as the worker role: the embed job queued above, and a crawl of a local site
SITE=$T_DIR/site
mkdir -p "$SITE"
printf '<html><head><title>Home</title></head><body><h1>Home</h1><p>Welcome to the site.</p><a href="/b.html">B</a></body></html>' >"$SITE/index.html"
printf '<html><head><title>B</title></head><body><h1>Page B</h1><p>Second page with words.</p></body></html>' >"$SITE/b.html"
chmod -R a+rX "$SITE"
for tries in 1 2 3 4 5; do
	WPORT=$(free_port)
	nginx_serve "$SITE" "$WPORT" && break
	[ "$tries" = 5 ] && { fail "nginx did not start"; exit 1; }
done
write_config "$T_DIR/ops2.yaml" "workers:
  noop: {processes: 0}
  ingest: {processes: 1, concurrency: 2}
  crawl: {processes: 1, concurrency: 4}
  embed: {processes: 1}
crawl:
  allow_private_addresses: true
  host_delay: 0ms"
DATABASE_URL="postgresql://$ROLE@127.0.0.1:$PGPORT/pgkb_test" sup_start "$T_DIR/ops2.yaml" ops2
wait_for "SELECT count(*) = 1 FROM pgkb.documents WHERE source_id = 'runbook' AND status = 'ready'" 30 "embed job done" &&
	pass "an embed job runs as the worker role"
sql "INSERT INTO pgkb.jobs(kind, payload) VALUES ('crawl', '{\"url\": \"http://127.0.0.1:$WPORT/\", \"source_id\": \"opsite\"}')"
wait_for "SELECT count(*) = 2 FROM pgkb.documents WHERE source_id = 'opsite' AND status = 'ready'" 60 "crawled site ready" &&
	pass "a crawl, its ingests and their embedding run as the worker role"
assert_eq "$(sql "SELECT status FROM pgkb.crawls WHERE source_id = 'opsite'")" "done" "... and the crawl ends done"
kill -TERM "$SUP_PID"; wait "$SUP_PID"; rc=$?
assert_eq "$rc" "0" "that supervisor exits 0 too"
if grep -q "permission denied" "$T_DIR/ops.log" "$T_DIR/ops2.log"; then fail "permission denied in a supervisor log"; else pass "no permission errors in the logs"; fi
finish
