/* pgkb-doc-extract: converts documents with lib/doc and prints the text or timings (bench/docs.sh, manual
 * checks). usage: pgkb-doc-extract [--in-process] [--repeat N] [--quiet] [--pages] FILE...
 *   --in-process  call doc_extract directly instead of the contained converter (to measure fork's cost)
 *   --repeat N    convert each file N times (timings)
 *   --quiet       print only the summary line per file, not the text
 *   --pages       print "page N at OFFSET" lines after the text */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/doc/doc.h"
#include "lib/doc/docconv.h"
#include "lib/util/buf.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b = BUF_INIT;
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	*len = b.len;
	return buf_steal(&b);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int in_process = 0, quiet = 0, pages = 0, repeat = 1, rc = 0, i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--in-process") == 0)
			in_process = 1;
		else if (strcmp(argv[i], "--quiet") == 0)
			quiet = 1;
		else if (strcmp(argv[i], "--pages") == 0)
			pages = 1;
		else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else
			break;
	}
	if (i >= argc || repeat < 1) {
		fprintf(stderr, "usage: %s [--in-process] [--repeat N] [--quiet] [--pages] FILE...\n", argv[0]);
		return 2;
	}
	for (; i < argc; i++) {
		size_t len;
		char *data = slurp(argv[i], &len);
		if (!data) {
			fprintf(stderr, "%s: cannot read\n", argv[i]);
			rc = 1;
			continue;
		}
		double t0 = now_s();
		struct doc_text d = {0};
		char *err = NULL;
		enum doc_status st = DOC_OK;
		for (int r = 0; r < repeat; r++) {
			doc_text_free(&d);
			free(err);
			err = NULL;
			st = in_process ? doc_extract(data, len, NULL, &d, &err) : docconv_run(data, len, NULL, &d, &err);
		}
		double secs = (now_s() - t0) / repeat;
		if (st == DOC_OK) {
			if (!quiet)
				fwrite(d.markdown, 1, d.markdown_len, stdout);
			if (!quiet && pages)
				for (size_t p = 0; p < d.npages; p++)
					printf("\npage %zu at %zu", p + 1, d.page_start[p]);
			printf("%s%s: %s, %zu pages, %zu bytes, %.6f s, title \"%s\", author \"%s\"%s\n", quiet ? "" : "\n",
			       argv[i], doc_format_name(d.format), d.npages, d.markdown_len, secs, d.title, d.author,
			       d.truncated ? ", truncated" : "");
		} else {
			printf("%s: %s: %s (%.6f s)\n", argv[i], doc_status_name(st), err, secs);
			rc = 1;
		}
		doc_text_free(&d);
		free(err);
		free(data);
	}
	return rc;
}
