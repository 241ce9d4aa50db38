#!/usr/bin/env bash
# The Grafana dashboard (deploy/grafana/pgkb-dashboard.json) and the Prometheus alerting rules
# (deploy/prometheus/pgkb-alerts.yml) use only metrics that /metrics serves: every pgkb_* name in the
# dashboard's and the rules' expressions is a sample of a scrape taken after a little work (noop jobs, an
# inline ingest, embedded inline by the builtin provider). Both files parse; every panel has a query, every rule an expression and a
# summary.
. "$(dirname "$0")/lib.sh"
DASH=$PGKB_SRC_DIR/deploy/grafana/pgkb-dashboard.json
RULES=$PGKB_SRC_DIR/deploy/prometheus/pgkb-alerts.yml
pg_start
migrate
MPORT=$(free_port)
export PGKB_SUPERVISOR_METRICS_LISTEN=127.0.0.1:$MPORT
write_config "$T_DIR/m.yaml" "workers:
  noop: {processes: 1, concurrency: 8}
  ingest: {processes: 1, concurrency: 2}
  crawl: {processes: 1}
  embed: {processes: 1, concurrency: 2}"
scrape() {
	exec 3<>"/dev/tcp/127.0.0.1/$MPORT" 2>/dev/null || return 0
	printf 'GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
	timeout 10 cat <&3 | tr -d '\r'
	exec 3<&-
}

# --- the files: metric names from the expressions only (descriptions and legends may say anything)
names=$(python3 - "$DASH" "$RULES" <<'PY'
import json, re, sys, yaml
exprs = []
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "expr" and isinstance(v, str):
                exprs.append(v)
            else:
                walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
dash = json.load(open(sys.argv[1]))
panels = [p for p in dash["panels"] if p.get("type") != "row"]
for p in panels:
    if not any(t.get("expr") for t in p.get("targets", [])):
        sys.exit("panel without a query: %s" % p.get("title"))
walk(dash)
rules = yaml.safe_load(open(sys.argv[2]))
for g in rules["groups"]:
    for r in g["rules"]:
        if not r.get("alert") or not r.get("expr") or not r.get("annotations", {}).get("summary"):
            sys.exit("rule without alert, expr or summary: %r" % r)
        exprs.append(r["expr"])
print("\n".join(sorted(set(n for e in exprs for n in re.findall(r"\bpgkb_[a-z0-9_]+", e)))))
PY
)
rc=$?
assert_eq "$rc" "0" "the dashboard (JSON) and the rules (YAML) parse, every panel has a query and every rule a summary"
count=$(printf '%s\n' "$names" | grep -c .)
assert_ge "$count" 15 "the dashboard and rules use $count pgkb metrics"
for topic in 'pgkb_queue_jobs' 'pgkb_queue_oldest_ready_seconds' 'pgkb_jobs_succeeded_total' 'pgkb_jobs_failed_total' \
	'pgkb_job_duration_seconds_bucket' 'pgkb_documents' 'pgkb_database_up' 'pgkb_jobs_dead_total'; do
	printf '%s\n' "$names" | grep -qx "$topic" || fail "the dashboard or rules lack $topic"
done
pass "queue depth and age, throughput, failures, durations, crawl progress, dead jobs and database health are covered"
for alert in PgkbOldestReadyJobTooOld PgkbDeadJobsRising PgkbDatabaseDown; do
	grep -q "alert: $alert\$" "$RULES" || fail "alerting rule $alert missing"
done

# --- a little work, then every name is served
sup_start "$T_DIR/m.yaml" sup
wait_for "SELECT count(*) = 4 FROM pg_stat_activity WHERE application_name LIKE 'pgkb-%' AND query LIKE 'LISTEN%'" 30 "workers up"
sql "INSERT INTO pgkb.jobs(kind, payload) SELECT 'noop', '{\"log\": true}' FROM generate_series(1, 50)"
sql "INSERT INTO pgkb.jobs(kind, payload, max_attempts) VALUES ('noop', '{\"fail\": \"for the dashboard\"}', 1)"
sql "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', jsonb_build_object('content', repeat('Dashboards show queues and rates. ', 60), 'url', 'note://dash', 'title', 'Dash'))"
wait_for "SELECT count(*) = 1 FROM pgkb.documents WHERE url = 'note://dash' AND status = 'ready'" 60 "the note is ingested and embedded"
wait_for "SELECT count(*) = 0 FROM pgkb.jobs WHERE state <> 'dead'" 30 "the work is done"
sleep 1.5 # completions are batched
m=$(scrape)
printf '%s\n' "$m" >"$T_DIR/scrape.log.txt"
assert_match "$m" $'\n''pgkb_database_up 1' "the scrape reached the database"
# served NAME: whether the scrape has a sample of NAME (a line "NAME value" or "NAME{labels} value").
served() { printf '%s\n' "$m" | grep -Eq "^$1(\\{| )"; }
served pgkb_no_such_metric && fail "the check itself: an unknown name counts as served" || pass "the check itself tells a missing name"
missing=""
for n in $names; do served "$n" || missing="$missing $n"; done
assert_eq "${missing# }" "" "every metric of the dashboard and the rules is served by /metrics"
assert_match "$m" 'pgkb_documents\{status="ready"\} [1-9]' "crawl/ingest progress: documents by status"
assert_match "$m" 'pgkb_jobs_succeeded_total\{kind="ingest"\} [1-9]' "throughput: the ingest job counted (the builtin embedder embeds inline)"
assert_match "$m" 'pgkb_database_max_connections [0-9]+' "database health: max_connections"

kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
