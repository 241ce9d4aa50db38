/* Files for the ingest worker: the ingest-roots fence, opening beneath a root, directory walks, bounded reads.
 *
 * Why a path is both resolved and opened beneath a root: realpath() gives the readable answer ("x resolves to
 * /etc/passwd, outside the ingest roots") and lets links inside a root that point inside the roots keep
 * working; but a check by name says nothing about the open that follows, since any directory on the way may be
 * swapped for a link between the two. So what is opened is the resolved path, walked from the root's
 * descriptor without following any link (beneath_open): a swap makes the open fail instead of leaving the
 * root, and everything after reads only the descriptor that was opened and checked with fstat. */
#include "workers/ingest/ingest_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/beneath.h"
#include "lib/util/buf.h"
#include "lib/util/file.h"
#include "lib/util/mem.h"

static bool inside(const char *path, const char *root)
{
	size_t n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n == 1 && root[0] == '/')
		return true;
	return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* The resolved root that holds resolved (heap), or NULL. */
static char *root_of(const char *resolved, char *const *roots)
{
	for (size_t i = 0; roots && roots[i]; i++) {
		char *r = realpath(roots[i], NULL);
		if (r && inside(resolved, r))
			return r;
		free(r);
	}
	return NULL;
}

static char *roots_list(char *const *roots)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; roots && roots[i]; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", roots[i]);
	return buf_steal(&b);
}

static const char *file_type(mode_t m)
{
	return S_ISDIR(m) ? "directory" : S_ISFIFO(m) ? "fifo" : S_ISSOCK(m) ? "socket" : S_ISCHR(m) ? "character device"
	     : S_ISBLK(m) ? "block device" : S_ISLNK(m) ? "symbolic link" : "special file";
}

/* Resolves t->path and opens it beneath its root; returns the descriptor (*st filled) or -1 with t->err. */
static int open_target(struct ingest_target *t, struct stat *st)
{
	char *const *roots = t->roots;
	if (!roots || !roots[0]) {
		t->err = xasprintf("path jobs are refused: no ingest roots are configured (set ingest.roots)");
		return -1;
	}
	if (t->path[0] != '/') {
		t->err = xasprintf("\"path\" must be absolute, got \"%s\"", t->path);
		return -1;
	}
	char *r = realpath(t->path, NULL);
	if (!r) {
		t->err = xasprintf("cannot read %s: %s", t->path, strerror(errno));
		return -1;
	}
	char *root = root_of(r, roots);
	if (!root) {
		char *list = roots_list(roots);
		if (strcmp(r, t->path) == 0)
			t->err = xasprintf("%s is outside the ingest roots (%s)", t->path, list);
		else
			t->err = xasprintf("%s resolves to %s, outside the ingest roots (%s)", t->path, r, list);
		free(list);
		free(r);
		return -1;
	}
	t->resolved = r;
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		t->err = xasprintf("cannot open the ingest root %s: %s", root, strerror(errno));
		free(root);
		return -1;
	}
	const char *rel = r + strlen(root);
	rel += strspn(rel, "/");
	char *why = NULL;
	int fd = beneath_open(rootfd, rel, O_RDONLY, &why);
	close(rootfd);
	if (fd < 0) {
		t->err = xasprintf("cannot open %s beneath the ingest root %s: %s", t->path, root, why);
		free(why);
		free(root);
		return -1;
	}
	free(root);
	if (fstat(fd, st) != 0) {
		t->err = xasprintf("cannot read %s: %s", t->path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
		t->err = xasprintf("cannot read %s: not a regular file (%s)", t->path, file_type(st->st_mode));
		close(fd);
		return -1;
	}
	return fd;
}

static char *human_bytes(int64_t n)
{
	if (n >= 1000000)
		return xasprintf("%.1f MB", n / 1e6);
	if (n >= 1000)
		return xasprintf("%.1f kB", n / 1e3);
	return xasprintf("%lld bytes", (long long)n);
}

char *ingest_too_large(const char *what, int64_t size, int64_t max_bytes)
{
	return ingest_too_large_key(what, size, max_bytes, "ingest.max_document_bytes");
}

char *ingest_too_large_key(const char *what, int64_t size, int64_t max_bytes, const char *key)
{
	char *have = human_bytes(size), *lim = human_bytes(max_bytes);
	char *msg = xasprintf("%s is %s, larger than %s (%s)", what, have, key, lim);
	free(have);
	free(lim);
	return msg;
}

static bool stopping(const struct ingest_target *t)
{
	return t->stop && __atomic_load_n(t->stop, __ATOMIC_RELAXED);
}

/* Where a PDF may start: lib/doc's sniffing looks for "%PDF-" within the first KiB. */
#define DOC_HEAD_BYTES 1024

/* What the first KiB of fd says the file is: 'p' (a PDF), 'z' (a zip: maybe DOCX, PPTX, ODT, ODP, EPUB; the
 * converter sniffs it properly once read) or 0 (text, or anything else). */
static char head_kind(int fd)
{
	char head[DOC_HEAD_BYTES];
	ssize_t n = pread(fd, head, sizeof head, 0);
	if (n <= 0)
		return 0;
	if (n >= 4 && memcmp(head, "PK\3\4", 4) == 0)
		return 'z';
	return memmem(head, (size_t)n, "%PDF-", 5) ? 'p' : 0;
}

/* Reads the regular file fd (st: its fstat) within its bound: the text one, or a document's larger one when
 * its first bytes say it is a PDF or a zip. */
static int read_file(struct ingest_target *t, int fd, const struct stat *st)
{
	struct file_error e;
	int64_t max = t->max_bytes;
	const char *key = "ingest.max_document_bytes";
	char kind = (t->max_pdf_bytes || t->max_zip_bytes) ? head_kind(fd) : 0;
	if (kind == 'p' && t->max_pdf_bytes) {
		max = t->max_pdf_bytes;
		key = "ingest.max_pdf_bytes";
	} else if (kind == 'z' && t->max_zip_bytes) {
		max = t->max_zip_bytes;
		key = "ingest.max_office_bytes";
	}
	if (file_read_fd(fd, st, max, t->stop, &t->data, &t->len, &e) == 0)
		return 0;
	switch (e.fault) {
	case FILE_TOO_LARGE:
		t->err = ingest_too_large_key("file", e.size, max, key);
		break;
	case FILE_GREW:
		t->err = xasprintf("file grew past %s while being read", key);
		break;
	case FILE_STOPPED:
		t->err = xasprintf("cannot read %s: the worker is stopping", t->path);
		break;
	default:
		t->err = xasprintf("cannot read %s: %s", t->path, strerror(e.errnum));
		break;
	}
	return -1;
}

/* Listed by its name: text formats and the documents lib/doc reads. The per-file job decides by content, so
 * a PDF named .txt is still read as a PDF. */
static bool ingestible_name(const char *name)
{
	static const char *const exts[] = {".md",   ".markdown", ".mdx", ".txt", ".text", ".rst",  ".html", ".htm",
	                                   ".xhtml", ".pdf",     ".docx", ".pptx", ".odt", ".odp", ".epub"};
	const char *dot = strrchr(name, '.');
	if (!dot)
		return false;
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
		if (strcasecmp(dot, exts[i]) == 0)
			return true;
	return false;
}

/* A file without an extension is listed when its first bytes are a PDF's or a zip's (content sniffing: a
 * document saved without its extension). Opened without following links or blocking; it is a regular file. */
static bool document_head(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	char kind = head_kind(fd);
	close(fd);
	return kind != 0;
}

/* What a walk left, each with a count and its first path, so the job's outcome can name them. */
enum skip_reason { SKIP_DEEP, SKIP_COUNT, SKIP_SPECIAL, SKIP_LINK, SKIP_UNREADABLE, SKIP_N };

struct walk {
	struct ingest_target *t;
	size_t cap;
	bool full; /* max_files listed: the walk stops */
	size_t skipped[SKIP_N];
	char *first[SKIP_N];
};

static void skip(struct walk *w, enum skip_reason why, const char *path)
{
	if (!w->skipped[why]++)
		w->first[why] = xstrdup(path);
}

static void add_path(struct walk *w, char *resolved)
{
	struct ingest_target *t = w->t;
	if (t->npaths == t->max_files) {
		w->full = true;
		skip(w, SKIP_COUNT, resolved);
		free(resolved);
		return;
	}
	if (t->npaths == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		t->paths = xrealloc(t->paths, w->cap * sizeof *t->paths);
	}
	t->paths[t->npaths++] = resolved;
}

static int cmp_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walks the directory dfd (whose resolved path is dir; takes ownership of dfd) at depth levels below the job's
 * directory. Subdirectories are opened from dfd without following links, so the walk stays beneath it whatever
 * is renamed meanwhile; a link to a file is kept only when its target is a regular file inside the roots (the
 * per-file job opens that target beneath its root again). */
static void walk_dir(struct walk *w, int dfd, const char *dir, int depth)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		skip(w, SKIP_UNREADABLE, dir);
		close(dfd);
		return;
	}
	struct dirent *e;
	while (!w->full && !stopping(w->t) && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = strcmp(dir, "/") == 0 ? xasprintf("/%s", e->d_name) : xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			free(p);
			continue; /* gone since readdir */
		}
		if (S_ISDIR(st.st_mode)) {
			char *why = NULL;
			int sub = depth + 1 > w->t->max_depth ? -1 : beneath_open(dfd, e->d_name, O_RDONLY | O_DIRECTORY, &why);
			if (depth + 1 > w->t->max_depth)
				skip(w, SKIP_DEEP, p);
			else if (sub < 0)
				skip(w, SKIP_UNREADABLE, p);
			else
				walk_dir(w, sub, p, depth + 1);
			free(why);
		} else if (ingestible_name(e->d_name) || (S_ISREG(st.st_mode) && !strchr(e->d_name, '.') &&
		                                          document_head(dfd, e->d_name))) {
			if (S_ISREG(st.st_mode)) {
				add_path(w, p);
				p = NULL;
			} else if (S_ISLNK(st.st_mode)) {
				char *r = realpath(p, NULL);
				struct stat rst;
				char *root = r ? root_of(r, w->t->roots) : NULL;
				if (root && stat(r, &rst) == 0 && S_ISREG(rst.st_mode)) {
					add_path(w, r);
					r = NULL;
				} else {
					skip(w, SKIP_LINK, p);
				}
				free(root);
				free(r);
			} else {
				skip(w, SKIP_SPECIAL, p);
			}
		}
		free(p);
	}
	closedir(d);
}

static char *skipped_summary(struct walk *w)
{
	struct ingest_target *t = w->t;
	struct buf b = BUF_INIT;
	for (int i = 0; i < SKIP_N; i++) {
		if (!w->skipped[i])
			continue;
		if (b.len)
			buf_printf(&b, "; ");
		size_t n = w->skipped[i];
		switch ((enum skip_reason)i) {
		case SKIP_DEEP:
			buf_printf(&b, "%zu %s deeper than %d levels not walked (the walk's depth bound)", n,
			           n == 1 ? "directory" : "directories", t->max_depth);
			break;
		case SKIP_COUNT:
			buf_printf(&b, "the walk stopped at %zu files, the most a directory job lists; the rest were not listed",
			           t->max_files);
			break;
		case SKIP_SPECIAL:
			buf_printf(&b, "%zu not a regular file (fifo, socket or device)", n);
			break;
		case SKIP_LINK:
			buf_printf(&b, "%zu symbolic %s to no regular file inside the ingest roots", n, n == 1 ? "link" : "links");
			break;
		case SKIP_UNREADABLE:
			buf_printf(&b, "%zu unreadable %s", n, n == 1 ? "directory" : "directories");
			break;
		case SKIP_N:
			break;
		}
		buf_printf(&b, " (first: %s)", w->first[i]);
	}
	return b.len ? buf_steal(&b) : (buf_free(&b), NULL);
}

struct ingest_target *ingest_target_new(const char *path, char *const *roots, int64_t max_bytes)
{
	struct ingest_target *t = xcalloc(1, sizeof *t);
	t->path = xstrdup(path);
	size_t n = 0;
	while (roots && roots[n])
		n++;
	t->roots = xcalloc(n + 1, sizeof *t->roots);
	for (size_t i = 0; i < n; i++)
		t->roots[i] = xstrdup(roots[i]);
	t->max_bytes = max_bytes;
	t->max_files = INGEST_DIR_MAX_FILES;
	t->max_depth = INGEST_WALK_MAX_DEPTH;
	t->kind = INGEST_TARGET_ERROR;
	return t;
}

void ingest_target_prepare(struct ingest_target *t)
{
	struct stat st;
	int fd = open_target(t, &st);
	if (fd < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		struct walk w = {.t = t};
		walk_dir(&w, fd, t->resolved, 0);
		if (t->npaths)
			qsort(t->paths, t->npaths, sizeof *t->paths, cmp_paths);
		t->skipped = skipped_summary(&w);
		/* links and special files left out are not ingestible anyway; a bound may have hidden ingestible files */
		t->partial = w.skipped[SKIP_DEEP] || w.skipped[SKIP_COUNT] || w.skipped[SKIP_UNREADABLE];
		for (int i = 0; i < SKIP_N; i++)
			free(w.first[i]);
		t->kind = INGEST_TARGET_DIR;
		if (stopping(t)) { /* a partial listing is no listing: the job runs again elsewhere */
			t->kind = INGEST_TARGET_ERROR;
			t->err = xasprintf("the walk of %s was stopped: the worker is stopping", t->resolved);
		}
		return;
	}
	t->kind = read_file(t, fd, &st) == 0 ? INGEST_TARGET_FILE : INGEST_TARGET_READ_ERROR;
	close(fd);
}

void ingest_target_free(struct ingest_target *t)
{
	if (!t)
		return;
	free(t->path);
	for (size_t i = 0; t->roots && t->roots[i]; i++)
		free(t->roots[i]);
	free(t->roots);
	free(t->resolved);
	free(t->err);
	free(t->data);
	for (size_t i = 0; i < t->npaths; i++)
		free(t->paths[i]);
	free(t->paths);
	free(t->skipped);
	free(t);
}
