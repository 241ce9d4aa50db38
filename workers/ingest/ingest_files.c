/* Files for the ingest worker: the ingest-roots fence, directory walks, bounded reads. */
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

#include "lib/util/buf.h"
#include "lib/util/file.h"
#include "lib/util/mem.h"

#define WALK_MAX_DEPTH 64

static bool inside(const char *path, const char *root)
{
	size_t n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n == 1 && root[0] == '/')
		return true;
	return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static bool inside_roots(const char *resolved, char *const *roots)
{
	for (size_t i = 0; roots && roots[i]; i++) {
		char *r = realpath(roots[i], NULL);
		bool ok = r && inside(resolved, r);
		free(r);
		if (ok)
			return true;
	}
	return false;
}

static char *roots_list(char *const *roots)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; roots && roots[i]; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", roots[i]);
	return buf_steal(&b);
}

char *ingest_resolve(const char *path, char *const *roots, char **err)
{
	if (!roots || !roots[0]) {
		*err = xasprintf("path jobs are refused: no ingest roots are configured (set ingest.roots)");
		return NULL;
	}
	if (path[0] != '/') {
		*err = xasprintf("\"path\" must be absolute, got \"%s\"", path);
		return NULL;
	}
	char *r = realpath(path, NULL);
	if (!r) {
		*err = xasprintf("cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!inside_roots(r, roots)) {
		char *list = roots_list(roots);
		if (strcmp(r, path) == 0)
			*err = xasprintf("%s is outside the ingest roots (%s)", path, list);
		else
			*err = xasprintf("%s resolves to %s, outside the ingest roots (%s)", path, r, list);
		free(list);
		free(r);
		return NULL;
	}
	return r;
}

static bool ingestible_name(const char *name)
{
	static const char *const exts[] = {".md", ".markdown", ".mdx", ".txt", ".text", ".rst", ".html", ".htm", ".xhtml"};
	const char *dot = strrchr(name, '.');
	if (!dot)
		return false;
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
		if (strcasecmp(dot, exts[i]) == 0)
			return true;
	return false;
}

struct walk {
	char *const *roots;
	size_t max, n, cap;
	char **paths;
};

static void add_path(struct walk *w, char *resolved)
{
	if (w->n == w->max) {
		free(resolved);
		return;
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->paths = xrealloc(w->paths, w->cap * sizeof *w->paths);
	}
	w->paths[w->n++] = resolved;
}

static int cmp_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_dir(struct walk *w, const char *dir, int depth)
{
	if (depth > WALK_MAX_DEPTH || w->n == w->max)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) && w->n < w->max) {
		if (e->d_name[0] == '.')
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(p, &st) != 0) {
			free(p);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			walk_dir(w, p, depth + 1);
		} else if (ingestible_name(e->d_name) && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
			char *r = realpath(p, NULL);
			struct stat rst;
			if (r && stat(r, &rst) == 0 && S_ISREG(rst.st_mode) && inside_roots(r, w->roots))
				add_path(w, r);
			else
				free(r);
		}
		free(p);
	}
	closedir(d);
}

size_t ingest_list_dir(const char *dir, char *const *roots, size_t max, char ***out)
{
	struct walk w = {.roots = roots, .max = max};
	walk_dir(&w, dir, 0);
	if (w.n)
		qsort(w.paths, w.n, sizeof *w.paths, cmp_paths);
	*out = w.paths;
	return w.n;
}

void ingest_free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
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
	char *have = human_bytes(size), *lim = human_bytes(max_bytes);
	char *msg = xasprintf("%s is %s, larger than ingest.max_document_bytes (%s)", what, have, lim);
	free(have);
	free(lim);
	return msg;
}

int ingest_read_file(const char *path, int64_t max_bytes, char **data, size_t *len, char **err)
{
	struct file_error e;
	if (file_read(path, max_bytes, FILE_NOFOLLOW | FILE_REGULAR, data, len, &e) == 0)
		return 0;
	if (e.fault == FILE_TOO_LARGE) {
		*err = ingest_too_large("file", e.size, max_bytes);
	} else if (e.fault == FILE_GREW) {
		*err = xasprintf("file grew past ingest.max_document_bytes while being read");
	} else {
		*err = xasprintf("cannot read %s: %s", path,
		                 e.fault == FILE_OPEN || e.fault == FILE_READ ? strerror(e.errnum) : "not a regular file");
	}
	return -1;
}
