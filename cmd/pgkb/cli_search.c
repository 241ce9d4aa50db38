/* pgkb search: embeds a query with the configured provider and prints the hybrid search's ranked results. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/buf.h"
#include "cmd/pgkb/cli.h"
#include "lib/embed/embed.h"
#include "lib/embed/embed_builtin.h"
#include "lib/embed/embed_wire.h"
#include "lib/util/mem.h"
#include "lib/embed/vecfmt.h"

#define SEARCH_SNIPPET_BYTES 240
#define SEARCH_MAX_K 1000
#define SEARCH_PAGE_CHUNKS "3" /* chunks shown under one page */
#define SEARCH_PAGE_FANOUT 5   /* chunks asked for per page wanted: the pages' best chunks come from these */

/* ts_headline marks the matched terms with \x01 ... \x02; the printer turns them into bold (a terminal) or
 * nothing. Fragments come from the chunk's text, so a snippet shows why it matched rather than its first line. */
#define SEARCH_HEADLINE \
	"ts_headline('english', r.content, websearch_to_tsquery('english', $3)," \
	" 'MaxFragments=2, MaxWords=24, MinWords=10, FragmentDelimiter=\" … \", StartSel=' || chr(1) || ', StopSel=' || chr(2))"
#define SEARCH_TITLE "coalesce(nullif(pm.section_title, ''), pm.metadata->>'title', '')"

/* Chunks: one row per chunk, best first. Columns: similarity, match_type, url, title, source_id, snippet. */
static const char *const search_chunks_sql =
	"SELECT r.similarity, r.match_type, r.url, " SEARCH_TITLE " AS title, r.source_id, " SEARCH_HEADLINE
	"  FROM public.hybrid_search_archon_crawled_pages_multi(pgkb.to_embedding($1::real[]), $2::int, $3, $4::int,"
	"       '{}'::jsonb, $5) WITH ORDINALITY AS r"
	"  LEFT JOIN public.archon_page_metadata pm ON pm.url = r.url"
	" ORDER BY r.ordinality";
/* Code examples: as chunks, the summary first when there is one. */
static const char *const search_code_sql =
	"SELECT r.similarity, r.match_type, r.url, " SEARCH_TITLE " AS title, r.source_id,"
	"       CASE WHEN r.summary <> '' THEN r.summary || ': ' ELSE '' END || " SEARCH_HEADLINE
	"  FROM public.hybrid_search_archon_code_examples_multi(pgkb.to_embedding($1::real[]), $2::int, $3, $4::int,"
	"       '{}'::jsonb, $5) WITH ORDINALITY AS r"
	"  LEFT JOIN public.archon_page_metadata pm ON pm.url = r.url"
	" ORDER BY r.ordinality";
/* Pages (Archon's "pages" mode): the $6 best pages by their best chunk among $4 chunks, each with its best
 * SEARCH_PAGE_CHUNKS chunks. Columns: page rank, similarity, match_type, url, title, source_id, snippet,
 * chunk_number. */
static const char *const search_pages_sql =
	"WITH r AS ("
	"  SELECT h.*, h.ordinality AS o"
	"    FROM public.hybrid_search_archon_crawled_pages_multi(pgkb.to_embedding($1::real[]), $2::int, $3, $4::int,"
	"         '{}'::jsonb, $5) WITH ORDINALITY AS h"
	"), p AS ("
	"  SELECT url, row_number() OVER (ORDER BY min(o)) AS page FROM r GROUP BY url ORDER BY min(o) LIMIT $6::int"
	"), c AS ("
	"  SELECT r.*, p.page, row_number() OVER (PARTITION BY r.url ORDER BY r.o) AS n FROM r JOIN p USING (url)"
	")"
	"SELECT r.page, r.similarity, r.match_type, r.url, " SEARCH_TITLE " AS title, r.source_id, " SEARCH_HEADLINE ","
	"       r.chunk_number"
	"  FROM c r LEFT JOIN public.archon_page_metadata pm ON pm.url = r.url"
	" WHERE r.n <= " SEARCH_PAGE_CHUNKS
	" ORDER BY r.page, r.o";
/* The same as one JSON document for scripts: [{page, title, url, source_id, score, chunks: [...]}]. */
static const char *const search_pages_json_sql =
	"WITH r AS ("
	"  SELECT h.*, h.ordinality AS o"
	"    FROM public.hybrid_search_archon_crawled_pages_multi(pgkb.to_embedding($1::real[]), $2::int, $3, $4::int,"
	"         '{}'::jsonb, $5) WITH ORDINALITY AS h"
	"), p AS ("
	"  SELECT url, min(o) AS best, row_number() OVER (ORDER BY min(o)) AS page FROM r GROUP BY url"
	"   ORDER BY min(o) LIMIT $6::int"
	"), c AS ("
	"  SELECT r.*, row_number() OVER (PARTITION BY r.url ORDER BY r.o) AS n FROM r JOIN p USING (url)"
	")"
	"SELECT coalesce(jsonb_agg(x ORDER BY x.page), '[]')::text FROM ("
	"  SELECT p.page, " SEARCH_TITLE " AS title, p.url, max(c.source_id) AS source_id,"
	"         max(c.similarity) AS score,"
	"         jsonb_agg(jsonb_build_object('chunk_number', c.chunk_number, 'similarity', c.similarity,"
	"                   'match_type', c.match_type, 'snippet', "
	"                   translate(ts_headline('english', c.content, websearch_to_tsquery('english', $3),"
	"                             'MaxFragments=2, MaxWords=24, MinWords=10, FragmentDelimiter=\" … \", StartSel=' ||"
	"                             chr(1) || ', StopSel=' || chr(2)), chr(1) || chr(2), ''),"
	"                   'content', c.content) ORDER BY c.o) AS chunks"
	"    FROM p JOIN c ON c.url = p.url AND c.n <= " SEARCH_PAGE_CHUNKS
	"    LEFT JOIN public.archon_page_metadata pm ON pm.url = p.url"
	"   GROUP BY p.page, p.url, pm.section_title, pm.metadata) x";
/* Chunks or code examples as JSON: [{similarity, match_type, url, title, source_id, snippet, content, ...}]. */
static const char *const search_chunks_json_sql =
	"SELECT coalesce(jsonb_agg(to_jsonb(x) - 'o' ORDER BY x.o), '[]')::text FROM ("
	"  SELECT r.ordinality AS o, r.id, r.url, r.chunk_number, r.source_id, r.similarity, r.match_type,"
	"         " SEARCH_TITLE " AS title,"
	"         translate(" SEARCH_HEADLINE ", chr(1) || chr(2), '') AS snippet, r.content, r.metadata"
	"    FROM public.hybrid_search_archon_crawled_pages_multi(pgkb.to_embedding($1::real[]), $2::int, $3, $4::int,"
	"         '{}'::jsonb, $5) WITH ORDINALITY AS r"
	"    LEFT JOIN public.archon_page_metadata pm ON pm.url = r.url) x";
static const char *const search_code_json_sql =
	"SELECT coalesce(jsonb_agg(to_jsonb(x) - 'o' ORDER BY x.o), '[]')::text FROM ("
	"  SELECT r.ordinality AS o, r.id, r.url, r.chunk_number, r.source_id, r.similarity, r.match_type,"
	"         " SEARCH_TITLE " AS title, r.summary, r.content, r.metadata"
	"    FROM public.hybrid_search_archon_code_examples_multi(pgkb.to_embedding($1::real[]), $2::int, $3, $4::int,"
	"         '{}'::jsonb, $5) WITH ORDINALITY AS r"
	"    LEFT JOIN public.archon_page_metadata pm ON pm.url = r.url) x";

static size_t search_curl_write(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

/* One blocking request to a remote provider; returns 0 with out[0..dim) filled, or -1 (printed). */
static int search_embed_remote(const struct cfg *cfg, enum embed_provider p, const char *q, float *out)
{
	size_t len = strlen(q);
	char *body = p == EMBED_PROVIDER_OLLAMA
		? embed_ollama_request(cfg->embed_model, &q, &len, 1)
		: embed_openai_request(cfg->embed_model, &q, &len, 1,
		                       strncmp(cfg->embed_model, "text-embedding-3", 16) == 0 ? cfg->embed_dimension : 0);
	char *url = embed_endpoint_url(p, cfg->embed_base_url);
	const char *key = *cfg->embed_api_key_env ? getenv(cfg->embed_api_key_env) : NULL;
	char *auth = key && *key ? xasprintf("Authorization: Bearer %s", key) : NULL;
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	if (auth)
		h = curl_slist_append(h, auth);
	struct buf resp = BUF_INIT;
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->embed_timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, search_curl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "pgkb/0.1");
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	int ret = -1;
	struct embed_result res = EMBED_RESULT_INIT;
	struct embed_error err = EMBED_ERROR_INIT;
	err.secret = key; /* masked out of the provider's text before it is cut to length */
	if (rc != CURLE_OK) {
		fprintf(stderr, "pgkb: search: embedding the query: %s: %s\n", url, curl_easy_strerror(rc));
	} else if (embed_wire_response(p, (int)status, resp.data, resp.len, 1, cfg->embed_dimension, &res, &err) != EMBED_OK) {
		embed_error_redact(&err, key);
		fprintf(stderr, "pgkb: search: embedding the query: %s\n", err.message);
	} else {
		memcpy(out, res.vectors, (size_t)cfg->embed_dimension * sizeof(float));
		ret = 0;
	}
	embed_result_free(&res);
	embed_error_free(&err);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (auth)
		memset(auth, 0, strlen(auth));
	free(auth);
	free(url);
	free(body);
	buf_free(&resp);
	return ret;
}

/* The query's vector as a real[] literal, or NULL (printed). */
static char *search_embed(const struct cfg *cfg, const char *q)
{
	int p = embed_provider_parse(cfg->embed_provider);
	float *v = xcalloc((size_t)cfg->embed_dimension, sizeof *v);
	int rc;
	if (p == EMBED_PROVIDER_BUILTIN) {
		rc = embed_builtin(q, strlen(q), cfg->embed_dimension, v);
	} else if (p < 0) {
		fprintf(stderr, "pgkb: search: unknown embed.provider \"%s\"\n", cfg->embed_provider);
		rc = -1;
	} else {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = search_embed_remote(cfg, (enum embed_provider)p, q, v);
		curl_global_cleanup();
	}
	char *lit = rc == 0 ? vecfmt_format(v, (size_t)cfg->embed_dimension, VECFMT_ARRAY) : NULL;
	free(v);
	return lit;
}

/* Prints s as one indented line: whitespace runs and Markdown heading marks collapsed, cut at a character
 * boundary; the headline's \x01/\x02 marks become bold on a terminal and vanish elsewhere. */
static void search_print_snippet(const char *prefix, const char *s, bool tty)
{
	struct buf b = BUF_INIT;
	bool space = true, bold = false;
	size_t shown = 0; /* visible bytes */
	for (; *s && shown < SEARCH_SNIPPET_BYTES; s++) {
		if (*s == '\x01' || *s == '\x02') {
			bold = *s == '\x01';
			if (tty)
				buf_puts(&b, bold ? "\033[1m" : "\033[0m");
			continue;
		}
		bool ws = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || (*s == '#' && space);
		if (ws && !space) {
			buf_putc(&b, ' ');
			shown++;
		} else if (!ws) {
			/* a multi-byte character goes whole */
			size_t n = 1;
			while ((s[n] & 0xC0) == 0x80)
				n++;
			buf_append(&b, s, n);
			s += n - 1;
			shown += n;
		}
		space = ws;
	}
	if (bold && tty)
		buf_puts(&b, "\033[0m");
	printf("%s%.*s%s\n", prefix, (int)b.len, b.len ? b.data : "", *s ? "…" : "");
	buf_free(&b);
}

/* Chunks or code examples: similarity, match_type, url, title, source_id, snippet. */
static void search_print_chunks(const PGresult *r, bool tty)
{
	int rows = PQntuples(r);
	if (rows == 0)
		printf("no results\n");
	for (int i = 0; i < rows; i++) {
		const char *title = PQgetvalue(r, i, 3);
		printf("%2d. %.3f  %s  [%s]  source %s\n", i + 1, strtod(PQgetvalue(r, i, 0), NULL),
		       *title ? title : "(untitled)", PQgetvalue(r, i, 1), PQgetvalue(r, i, 4));
		printf("    %s\n", PQgetvalue(r, i, 2));
		search_print_snippet("    ", PQgetvalue(r, i, 5), tty);
	}
}

/* Pages: page, similarity, match_type, url, title, source_id, snippet, chunk_number; a page's rows together. */
static void search_print_pages(const PGresult *r, bool tty)
{
	int rows = PQntuples(r);
	if (rows == 0)
		printf("no results\n");
	for (int i = 0; i < rows; i++) {
		if (i == 0 || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)) != 0) {
			const char *title = PQgetvalue(r, i, 4);
			printf("%s%2s. %s  (source %s)\n", i ? "\n" : "", PQgetvalue(r, i, 0), *title ? title : "(untitled)",
			       PQgetvalue(r, i, 5));
			printf("    %s\n", PQgetvalue(r, i, 3));
		}
		char prefix[64];
		snprintf(prefix, sizeof prefix, "    %.3f %-7s #%s  ", strtod(PQgetvalue(r, i, 1), NULL),
		         PQgetvalue(r, i, 2), PQgetvalue(r, i, 7));
		search_print_snippet(prefix, PQgetvalue(r, i, 6), tty);
	}
}

int cli_search(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"source", required_argument, NULL, 's'}, {"code", no_argument, NULL, 'c'},
		{"chunks", no_argument, NULL, 'C'}, {"json", no_argument, NULL, 'j'},
		{"vector", no_argument, NULL, 'v'}, {"keyword-only", no_argument, NULL, 'K'}, {NULL, 0, NULL, 0},
	};
	const char *source = NULL;
	long k = 10;
	bool code = false, chunks = false, json = false, vector_only = false, keyword_only = false;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "k:", opts, NULL)) != -1) {
		switch (o) {
		case 'k': k = strtol(optarg, NULL, 10); break;
		case 's': source = optarg; break;
		case 'c': code = true; break;
		case 'C': chunks = true; break;
		case 'j': json = true; break;
		case 'v': vector_only = true; break;
		case 'K': keyword_only = true; break;
		default: return 2;
		}
	}
	if (argc - optind != 1 || k < 1 || k > SEARCH_MAX_K) {
		fprintf(stderr, "usage: pgkb search \"QUERY\" [-k N (1..%d)] [--source ID] [--chunks | --code] [--json]"
		                " [--keyword-only | --vector]\n", SEARCH_MAX_K);
		return 2;
	}
	const char *q = argv[optind];
	/* --keyword-only: no embedding (the hybrid functions' keyword search), e.g. when the provider is down */
	char *vec = keyword_only ? NULL : search_embed(&c->cfg, q);
	if (!vec && !keyword_only)
		return 1;
	if (vector_only && vec) { /* the query's embedding, for scripts and benchmarks */
		printf("%s\n", vec);
		free(vec);
		return 0;
	}
	if (cli_connect(c) != 0) {
		free(vec);
		return 1;
	}
	/* Rank only vectors of the configured model (schema 090's pgkb.search_model): another model's vectors of
	 * the same dimension are in another space, and a search with none in scope warns instead of answering from
	 * the keyword side in silence. */
	if (vec) {
		const char *model[1] = {embed_provider_parse(c->cfg.embed_provider) == EMBED_PROVIDER_BUILTIN
		                            ? EMBED_BUILTIN_MODEL : c->cfg.embed_model};
		PGresult *sr = cli_exec(c, "search", "SELECT set_config('pgkb.search_model', $1, false)", 1, model);
		if (!sr) {
			free(vec);
			return 1;
		}
		PQclear(sr);
	}
	bool pages = !code && !chunks;
	/* pages: ask for SEARCH_PAGE_FANOUT chunks per page wanted, so pages with several good chunks still leave
	 * room for k distinct pages */
	long want = pages ? k * SEARCH_PAGE_FANOUT : k;
	if (want > SEARCH_MAX_K)
		want = SEARCH_MAX_K;
	char dim[16], ks[16], pk[16];
	snprintf(dim, sizeof dim, "%d", c->cfg.embed_dimension);
	snprintf(ks, sizeof ks, "%ld", want);
	snprintf(pk, sizeof pk, "%ld", k);
	const char *params[6] = {vec, dim, q, ks, source, pk};
	const char *sql = pages ? (json ? search_pages_json_sql : search_pages_sql)
	                : code  ? (json ? search_code_json_sql : search_code_sql)
	                        : (json ? search_chunks_json_sql : search_chunks_sql);
	PGresult *r = cli_exec(c, "search", sql, pages ? 6 : 5, params);
	free(vec);
	if (!r)
		return 1;
	bool tty = isatty(STDOUT_FILENO);
	if (json)
		printf("%s\n", PQntuples(r) ? PQgetvalue(r, 0, 0) : "[]");
	else if (pages)
		search_print_pages(r, tty);
	else
		search_print_chunks(r, tty);
	PQclear(r);
	return 0;
}
