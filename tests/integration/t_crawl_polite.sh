#!/usr/bin/env bash
# Per-host politeness across two crawl worker processes: nginx's access log ($msec) shows requests to the
# host never closer together than its delay, and both processes did fetches. The delay comes from a
# crawl.hosts override for this host (the global host_delay is 0): overrides reach the shared gate.
. "$(dirname "$0")/lib.sh"
pg_start
migrate
SITE=$T_DIR/site
mkdir -p "$SITE"
printf 'User-agent: *\nDisallow:\n' >"$SITE/robots.txt"
for i in $(seq 0 19); do
	links=""
	for j in 1 2 3; do links="$links<a href=\"p$(( (i * 3 + j) % 20 )).html\">next</a> "; done
	printf '<html><body><h1>Page %d</h1>%s</body></html>\n' "$i" "$links" >"$SITE/p$i.html"
done
cp "$SITE/p0.html" "$SITE/index.html"
chmod -R a+rX "$SITE"
# another test run may take the port first: try a few
for attempt in 1 2 3 4 5; do
	PORT=$(free_port)
	nginx_serve "$SITE" "$PORT" && break
done
BASE=http://127.0.0.1:$PORT

DELAY_MS=300
write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 2, concurrency: 8}
  ingest: {processes: 0}
  embed: {processes: 0}
crawl:
  allow_private_addresses: true
  host_delay: 0ms
  host_concurrency: 4
  hosts:
    \"127.0.0.1:$PORT\": {delay: ${DELAY_MS}ms}"
sup_start "$T_DIR/pgkb.yaml" sup
wait_for "SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name = 'pgkb-crawl' AND query LIKE 'LISTEN%'" 20 "two crawl workers connected"
id=$(sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/\", \"source_id\": \"polite\", \"max_depth\": 10}') RETURNING id")
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 60 "crawl done"
assert_eq "$(sql "SELECT count(*) FROM pgkb.documents WHERE source_id = 'polite' AND status = 'fetched'")" "21" "every page fetched"
assert_eq "$(sql "SELECT count(DISTINCT worker) FROM pgkb.job_history WHERE kind = 'fetch'")" "2" "both worker processes fetched"
n=$(wc -l <"$T_DIR/nginx/access.log")
assert_ge "$n" 21 "requests logged"
# smallest gap between consecutive requests, in ms. The database spaces reservations exactly host_delay apart;
# $msec is when nginx sent each response, which adds each request's own latency after its reservation (a few
# ms, more under sanitizers): allow 50 ms of that jitter.
gap=$(sort -n "$T_DIR/nginx/access.log" | awk 'NR > 1 { d = ($1 - p) * 1000; if (min == "" || d < min) min = d } { p = $1 } END { printf "%d", min }')
log "smallest gap between requests: ${gap} ms (delay ${DELAY_MS} ms, $n requests)"
assert_ge "$gap" $(( DELAY_MS - 50 )) "requests to one host never closer than its delay (smallest gap ${gap} ms)"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
