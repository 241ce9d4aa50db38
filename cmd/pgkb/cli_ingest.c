/* pgkb enqueue ingest PATH… and the documents section of pgkb status. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/pgkb/cli.h"
#include "lib/util/mem.h"

static void ingest_usage(FILE *f)
{
	fprintf(f,
	        "usage: pgkb enqueue ingest [--source ID] PATH… [--wait [--timeout DURATION]]\n"
	        "\n"
	        "Ingests files, or every file under directories (which must lie under ingest.roots), into the\n"
	        "source ID (default: one per directory). What a file is comes from its content, not its name:\n"
	        "  text       HTML, XHTML, Markdown, plain text (.html .htm .xhtml .md .markdown .mdx .txt .text .rst)\n"
	        "             within ingest.max_document_bytes\n"
	        "  PDF        .pdf, text per page; chunks say which pages they span (page_start, page_end, page_url\n"
	        "             FILE#page=N); within ingest.max_pdf_bytes; an encrypted PDF is skipped\n"
	        "  documents  DOCX, ODT (.docx .odt), PPTX, ODP slides (.pptx .odp), EPUB chapters (.epub)\n"
	        "             within ingest.max_office_bytes\n"
	        "A directory walk lists files by these extensions, and files without one whose content is a PDF\n"
	        "or a zip. PDF and office documents are extracted in a converter child bounded by\n"
	        "ingest.converter_cpu, converter_memory and converter_timeout, and ingest.max_document_pages.\n");
}

int cli_enqueue_ingest(struct cli *c, int argc, char **argv)
{
	const char *source = NULL;
	int first = 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			ingest_usage(stdout);
			return 0;
		}
	if (argc > 3 && strcmp(argv[1], "--source") == 0) {
		source = argv[2];
		first = 3;
	}
	if (first >= argc) {
		ingest_usage(stderr);
		return 2;
	}
	if (cli_connect(c) != 0)
		return 1;
	int rc = 0;
	for (int i = first; i < argc; i++) {
		/* The worker resolves the path again and checks it against ingest.roots; resolving here only turns a
		 * relative path into the absolute one the job needs. */
		char *abs = realpath(argv[i], NULL);
		if (!abs && argv[i][0] != '/') {
			fprintf(stderr, "pgkb: %s: no such file or directory\n", argv[i]);
			rc = 1;
			continue;
		}
		json_t *o = json_pack("{s:s}", "path", abs ? abs : argv[i]);
		if (source)
			json_object_set_new(o, "source_id", json_string(source));
		char *payload = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		const char *params[1] = {payload};
		PGresult *r = payload ? cli_exec(c, "enqueue", "INSERT INTO pgkb.jobs (kind, payload) VALUES ('ingest', $1::jsonb) RETURNING id", 1, params) : NULL;
		if (r) {
			printf("%s\t%s\n", PQgetvalue(r, 0, 0), abs ? abs : argv[i]);
			cli_note_enqueued(c, PQgetvalue(r, 0, 0));
			PQclear(r);
		} else {
			rc = 1;
		}
		free(payload);
		free(abs);
	}
	return rc;
}

int cli_status_documents(struct cli *c)
{
	PGresult *r = cli_exec(c, "status",
		"SELECT d.source_id AS source, left(coalesce(s.title, s.source_display_name, ''), 40) AS title,"
		"       count(*) AS documents, count(*) FILTER (WHERE d.status = 'queued') AS queued,"
		"       count(*) FILTER (WHERE d.status = 'fetched') AS fetched,"
		"       count(*) FILTER (WHERE d.status = 'chunked') AS chunked,"
		"       count(*) FILTER (WHERE d.status = 'embedded') AS embedded,"
		"       count(*) FILTER (WHERE d.status = 'ready') AS ready,"
		"       count(*) FILTER (WHERE d.status = 'failed') AS failed,"
		"       count(*) FILTER (WHERE d.status = 'skipped') AS skipped,"
		"       count(*) FILTER (WHERE d.status = 'gone') AS gone,"
		"       coalesce(sum(d.chunk_count), 0) AS chunks"
		"  FROM pgkb.documents d LEFT JOIN public.archon_sources s USING (source_id)"
		" GROUP BY d.source_id, s.title, s.source_display_name ORDER BY d.source_id", 0, NULL);
	if (!r)
		return 1;
	if (PQntuples(r) > 0) {
		printf("\nDocuments by source and status\n");
		cli_print_table(r);
	}
	PQclear(r);
	return 0;
}
