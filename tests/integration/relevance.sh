# Sourced by the relevance tests (after lib.sh): relevance_check CONFIG MIN_HITS CORPUS asks `pgkb search -k 5`
# (pages view) each of the QUESTIONS ("question|answer-page regex|…"), counts the questions whose answering page is
# among the five, prints each hit or miss and the total, and asserts at least MIN_HITS.
relevance_check() {
	local config=$1 min=$2 corpus=$3 qa q want urls hits=0
	for qa in "${QUESTIONS[@]}"; do
		q=${qa%%|*}; want=${qa#*|}
		urls=$("$PGKB" -c "$config" search "$q" -k 5 2>&1 | sed -n 's/^    \(file:.*\|http.*\)$/\1/p')
		if printf '%s\n' "$urls" | grep -Eq "/($want)\$"; then
			hits=$((hits + 1)); echo "hit   $q"
		else
			echo "miss  $q -> $(printf '%s' "$urls" | sed 's|.*/||' | tr '\n' ' ')"
		fi
	done
	echo "relevance: $hits of ${#QUESTIONS[@]} answering pages in the top 5 ($corpus, builtin embedder, hybrid search)"
	assert_ge "$hits" "$min" "the answering page is in the top 5 for most questions ($hits/${#QUESTIONS[@]})"
}

# relevance_ingest DIR MIN_DOCS TIMEOUT_S: a supervisor (2 ingest, 1 embed process, builtin embedder) with DIR as
# its ingest root ingests DIR; waits until at least MIN_DOCS documents are final and no ingest or embed job is
# left, logs the counts, and asserts every chunk embedded. Writes $T_DIR/pgkb.yaml (the config the checks use).
relevance_ingest() {
	local dir=$1 min=$2 timeout=$3 start
	write_config "$T_DIR/pgkb.yaml" "workers:
  ingest: {processes: 2, concurrency: 2}
  embed: {processes: 1, concurrency: 4}
  crawl: {processes: 0}
  noop: {processes: 0}
ingest: {roots: [\"$dir\"]}"
	sup_start "$T_DIR/pgkb.yaml" sup
	"$PGKB" -c "$T_DIR/pgkb.yaml" enqueue ingest "$dir" >/dev/null
	start=$(date +%s)
	wait_for "SELECT count(*) >= $min AND count(*) FILTER (WHERE status NOT IN ('ready', 'skipped', 'failed')) = 0
	            AND NOT EXISTS (SELECT 1 FROM pgkb.jobs WHERE kind IN ('ingest', 'embed') AND state <> 'dead')
	          FROM pgkb.documents" "$timeout" "the $min+ documents of $dir ingested and embedded"
	log "$(sql "SELECT count(*) FILTER (WHERE status = 'ready') || ' documents ready, ' ||
	                   (SELECT count(*) FROM archon_crawled_pages) || ' chunks, ' ||
	                   (SELECT count(*) FROM archon_code_examples) || ' code examples'
	            FROM pgkb.documents") in $(( $(date +%s) - start )) s"
	assert_eq "$(sql "SELECT count(*) FROM archon_crawled_pages WHERE embedding_dimension IS NULL")" "0" "every chunk embedded"
}
