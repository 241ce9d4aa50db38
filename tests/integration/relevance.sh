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
