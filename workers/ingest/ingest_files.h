/* Files for the ingest worker: the ingest-roots fence around paths that arrive through SQL, opening what passed
 * it without following links (so a rename racing the check cannot redirect the open), directory walks, and
 * reading one file within the size limit. All of it runs on the ingest worker's file thread (lib/util/offload),
 * never on the event loop: it touches no loop, log or database state. */
#ifndef PGKB_INGEST_FILES_H
#define PGKB_INGEST_FILES_H

#include <stddef.h>
#include <stdint.h>

/* Directory levels a walk descends below the directory of the job; deeper directories are not walked, and the
 * job's outcome says so. Each level holds one open descriptor while the walk is below it. */
#define INGEST_WALK_MAX_DEPTH 64
/* Files one directory job lists; the rest are left, and the job's outcome says so. */
#define INGEST_DIR_MAX_FILES 100000

enum ingest_target_kind {
	INGEST_TARGET_ERROR,      /* refused or not opened (the job fails): err says why */
	INGEST_TARGET_READ_ERROR, /* a regular file that could not be read within the limit: err says why */
	INGEST_TARGET_FILE,  /* data, len: the file's bytes */
	INGEST_TARGET_DIR,   /* paths, npaths: its ingestible files; skipped: what the walk left, or NULL */
};

/* A path job's input and what the file thread made of it. */
struct ingest_target {
	char *path;         /* as given in the payload */
	char **roots;       /* the ingest roots (a NULL-terminated copy: the thread does not share the config) */
	int64_t max_bytes;  /* ingest.max_document_bytes */
	/* a file whose first KiB holds "%PDF-" (a zip's local header) is read within this bound instead: the
	 * document bounds are larger than the text one (ingest.max_pdf_bytes, max_office_bytes); 0: max_bytes */
	int64_t max_pdf_bytes, max_zip_bytes;
	size_t max_files;   /* INGEST_DIR_MAX_FILES (tests may lower it) */
	int max_depth;      /* INGEST_WALK_MAX_DEPTH */
	const int *stop;    /* when set and non-zero (read atomically), a walk or read ends early: the worker stops */

	enum ingest_target_kind kind;
	char *resolved;     /* the path with its symbolic links resolved, inside a root */
	char *err;          /* the reason, for the two errors */
	char *data;
	size_t len;
	char **paths;       /* resolved paths, sorted */
	size_t npaths;
	char *skipped;      /* "N directories deeper than 64 levels (first: …); …" */
	int partial;        /* a bound cut the walk (depth, file count, an unreadable directory): files may be unlisted */
};

/* A target for path with copies of roots; the limits default as above. */
struct ingest_target *ingest_target_new(const char *path, char *const *roots, int64_t max_bytes);

/* Fills t's results: resolves the path and checks it against the roots (readable reasons: not absolute,
 * missing, outside the roots, no roots configured), opens it beneath its root's descriptor without following
 * any link and without blocking (a FIFO or device is refused as "not a regular file (fifo)"), then reads the
 * file, or walks the directory. Safe to run on any thread. */
void ingest_target_prepare(struct ingest_target *t);

void ingest_target_free(struct ingest_target *t);

/* "WHAT is 1.2 MB, larger than ingest.max_document_bytes (1.0 MB)": why a document too large was refused, the
 * same words for a file and for inline content. Returns a heap string. */
char *ingest_too_large(const char *what, int64_t size, int64_t max_bytes);
/* The same naming another bound's key ("ingest.max_pdf_bytes"). */
char *ingest_too_large_key(const char *what, int64_t size, int64_t max_bytes, const char *key);

#endif
