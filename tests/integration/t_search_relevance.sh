#!/usr/bin/env bash
# Relevance of `pgkb search` (builtin embedder, hybrid search with reciprocal rank fusion) on the PostgreSQL
# documentation: the docs are ingested by the ingest worker and embedded by the embed worker, then 20 questions
# whose answering page is known are asked; the page must be in the top 5 for most of them (hit rate printed).
# Needs postgresql-doc-15 (apt-get install postgresql-doc-15); exits 77 (skipped) without it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relevance.sh"
DOCS=${PGKB_PG_DOCS:-/usr/share/doc/postgresql-doc-15/html}
MIN_HITS=${MIN_HITS:-14}
if [ ! -f "$DOCS/sql-createindex.html" ]; then
	echo "SKIPPED: the PostgreSQL documentation is not installed at $DOCS (apt-get install postgresql-doc-15)"
	rm -rf "$T_DIR"; trap - EXIT; exit 77
fi
pg_start
migrate
relevance_ingest "$DOCS" 1001 600
assert_eq "$(sql "SELECT count(*) FROM pgkb.jobs WHERE kind = 'embed' AND state = 'dead'")" "0" "no embed job failed"

# question | regex of the answering page(s)
QUESTIONS=(
	"create an index without locking writes|sql-createindex\\.html"
	"reclaim storage occupied by dead tuples|sql-vacuum\\.html|routine-vacuuming\\.html"
	"show the execution plan of a statement|sql-explain\\.html|using-explain\\.html"
	"change the data type of a column|sql-altertable\\.html"
	"window function rank over partition|tutorial-window\\.html|functions-window\\.html"
	"recursive common table expression WITH RECURSIVE|queries-with\\.html"
	"point-in-time recovery with continuous archiving|continuous-archiving\\.html"
	"streaming replication to a standby server|warm-standby\\.html"
	"row level security policies|ddl-rowsecurity\\.html|sql-createpolicy\\.html"
	"LISTEN and NOTIFY asynchronous notification|sql-notify\\.html|sql-listen\\.html|libpq-notify\\.html"
	"jsonb containment operator|functions-json\\.html|datatype-json\\.html"
	"rank full text search results ts_rank|textsearch-controls\\.html"
	"serializable transaction isolation level|transaction-iso\\.html|sql-set-transaction\\.html"
	"copy data from a file into a table|sql-copy\\.html"
	"partition a table by range|ddl-partitioning\\.html|sql-createtable\\.html"
	"write a trigger function in PL/pgSQL|plpgsql-trigger\\.html"
	"pg_dump a database into a script file|app-pgdump\\.html|backup-dump\\.html"
	"client authentication in pg_hba.conf|auth-pg-hba-conf\\.html"
	"insert on conflict do update upsert|sql-insert\\.html"
	"advisory locks|explicit-locking\\.html|functions-admin\\.html"
)
relevance_check "$T_DIR/pgkb.yaml" "$MIN_HITS" "PostgreSQL docs"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
