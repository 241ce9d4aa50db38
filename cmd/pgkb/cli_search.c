/* pgkb search: embeds a query with the configured provider and prints the hybrid search's ranked results. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util/buf.h"
#include "cmd/pgkb/cli.h"
#include "lib/embed/embed.h"
#include "lib/embed/embed_builtin.h"
#include "lib/embed/embed_wire.h"
#include "lib/util/mem.h"
#include "lib/text/utf8.h"
#include "lib/embed/vecfmt.h"

#define SEARCH_SNIPPET_BYTES 110
#define SEARCH_MAX_K 1000

static const char *const search_pages_sql =
	"SELECT r.similarity, r.match_type, r.url,"
	"       coalesce(nullif(pm.section_title, ''), pm.metadata->>'title', '') AS title, r.content, ''"
	"  FROM public.hybrid_search_archon_crawled_pages_multi(pgkb.to_embedding($1::real[]), $2::int, $3, $4::int,"
	"       '{}'::jsonb, $5) WITH ORDINALITY AS r"
	"  LEFT JOIN public.archon_page_metadata pm ON pm.url = r.url"
	" ORDER BY r.ordinality";
static const char *const search_code_sql =
	"SELECT r.similarity, r.match_type, r.url,"
	"       coalesce(nullif(pm.section_title, ''), pm.metadata->>'title', '') AS title, r.content, r.summary"
	"  FROM public.hybrid_search_archon_code_examples_multi(pgkb.to_embedding($1::real[]), $2::int, $3, $4::int,"
	"       '{}'::jsonb, $5) WITH ORDINALITY AS r"
	"  LEFT JOIN public.archon_page_metadata pm ON pm.url = r.url"
	" ORDER BY r.ordinality";

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

/* Prints s as one line: whitespace runs and Markdown heading marks collapsed, cut at a character boundary. */
static void search_print_snippet(const char *s)
{
	struct buf b = BUF_INIT;
	bool space = true;
	for (; *s && b.len < SEARCH_SNIPPET_BYTES + 8; s++) {
		bool ws = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || (*s == '#' && space);
		if (ws && !space)
			buf_putc(&b, ' ');
		else if (!ws)
			buf_putc(&b, *s);
		space = ws;
	}
	size_t n = b.len > SEARCH_SNIPPET_BYTES ? utf8_floor(b.data, b.len, SEARCH_SNIPPET_BYTES) : b.len;
	printf("    %.*s%s\n", (int)n, b.len ? b.data : "", *s || n < b.len ? "…" : "");
	buf_free(&b);
}

static void search_print(const PGresult *r)
{
	int rows = PQntuples(r);
	if (rows == 0)
		printf("no results\n");
	for (int i = 0; i < rows; i++) {
		const char *title = PQgetvalue(r, i, 3);
		printf("%2d. %.3f  %s  [%s]\n", i + 1, strtod(PQgetvalue(r, i, 0), NULL), *title ? title : "(untitled)",
		       PQgetvalue(r, i, 1));
		printf("    %s\n", PQgetvalue(r, i, 2));
		const char *summary = PQgetvalue(r, i, 5);
		search_print_snippet(*summary ? summary : PQgetvalue(r, i, 4));
	}
}

int cli_search(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"source", required_argument, NULL, 's'}, {"code", no_argument, NULL, 'c'}, {NULL, 0, NULL, 0},
	};
	const char *source = NULL;
	long k = 10;
	bool code = false;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "k:", opts, NULL)) != -1) {
		switch (o) {
		case 'k': k = strtol(optarg, NULL, 10); break;
		case 's': source = optarg; break;
		case 'c': code = true; break;
		default: return 2;
		}
	}
	if (argc - optind != 1 || k < 1 || k > SEARCH_MAX_K) {
		fprintf(stderr, "usage: pgkb search \"QUERY\" [-k N (1..%d)] [--source ID] [--code]\n", SEARCH_MAX_K);
		return 2;
	}
	const char *q = argv[optind];
	char *vec = search_embed(&c->cfg, q);
	if (!vec)
		return 1;
	if (cli_connect(c) != 0) {
		free(vec);
		return 1;
	}
	char dim[16], ks[16];
	snprintf(dim, sizeof dim, "%d", c->cfg.embed_dimension);
	snprintf(ks, sizeof ks, "%ld", k);
	const char *params[5] = {vec, dim, q, ks, source};
	PGresult *r = cli_exec(c, "search", code ? search_code_sql : search_pages_sql, 5, params);
	free(vec);
	if (!r)
		return 1;
	search_print(r);
	PQclear(r);
	return 0;
}
