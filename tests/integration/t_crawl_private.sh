#!/usr/bin/env bash
# crawl.allow_networks: with only 127.0.0.0/8 allowed (allow_private_addresses off), the loopback test server is
# crawled, while its redirects to 10.255.255.1, the metadata address 169.254.169.254 and fd00::1 are refused at
# the hop (the document fails naming the address and the key, the redirect is recorded), and a redirect to
# localhost (loopback) is followed. A bad entry is refused at config load. (Neither key set, so the loopback
# server itself refused: t_crawl_errors.sh.)
. "$(dirname "$0")/lib.sh"
pg_start
migrate
crawl_server_start

# --- a bad entry is a configuration error naming it
write_config "$T_DIR/bad.yaml" "crawl:
  allow_networks: [\"127.0.0.0/8\", \"10.1.2.3/8\"]"
out=$("$SUPERVISOR" -c "$T_DIR/bad.yaml" --check 2>&1); rc=$?
assert_eq "$rc" "2" "bad allow_networks entry: configuration error (exit 2)"
assert_match "$out" "crawl\.allow_networks\[1\]: expected an IP address .*got \"10\.1\.2\.3/8\"" "the error names the bad entry"

write_config "$T_DIR/pgkb.yaml" "workers:
  crawl: {processes: 1, concurrency: 8}
  ingest: {processes: 0}
  embed: {processes: 0}
crawl:
  allow_private_addresses: false
  allow_networks: [\"127.0.0.0/8\"]
  host_delay: 0ms
  host_concurrency: 8
  timeout: 5s
  connect_timeout: 2s"
sup_start "$T_DIR/pgkb.yaml" sup
q() { sql "$1"; }
doc() { q "SELECT status || coalesce(':' || error, '') FROM pgkb.documents WHERE source_id = 'inward' AND url = '$BASE$1'"; }
redirects() { q "SELECT redirects::text FROM pgkb.documents WHERE source_id = 'inward' AND url = '$BASE$1'"; }

id=$(q "INSERT INTO pgkb.jobs (kind, payload) VALUES ('crawl', '{\"url\": \"$BASE/private/\", \"source_id\": \"inward\"}') RETURNING id")
wait_for "SELECT status = 'done' FROM pgkb.crawls WHERE job_id = $id" 60 "crawl done"
assert_eq "$(doc /private/)" "fetched" "the loopback server is crawled: 127.0.0.1 is in allow_networks"

for t in to-10:10.255.255.1 to-metadata:169.254.169.254 to-ula:fd00::1; do
	path=/private/${t%%:*} ip=${t#*:}
	assert_match "$(doc "$path")" "^failed:fetch: private address: .*address ${ip//./\\.} .*crawl\.allow_networks" \
		"redirect to $ip refused at the hop, naming the address and the key"
	assert_eq "$(redirects "$path")" "[\"$BASE$path\"]" "... the redirect from $path is recorded"
done
assert_eq "$(q "SELECT final_url FROM pgkb.documents WHERE source_id = 'inward' AND url = '$BASE/private/to-metadata'")" \
	"http://169.254.169.254/latest/meta-data/" "... with the refused target as the final URL"

assert_eq "$(doc /private/to-localhost)" "fetched" "redirect to localhost (loopback, allowed) followed"
assert_eq "$(q "SELECT final_url FROM pgkb.documents WHERE source_id = 'inward' AND url = '$BASE/private/to-localhost'")" \
	"http://localhost:$PORT/private/ok" "... to the page on localhost"
assert_eq "$(redirects /private/to-localhost)" "[\"$BASE/private/to-localhost\"]" "... the redirect is recorded"
assert_eq "$(grep -c '"GET /private/ok ' "$T_DIR/server.log")" "1" "the localhost page was requested once"
kill -TERM "$SUP_PID"; wait "$SUP_PID"
finish
