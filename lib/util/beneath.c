/* Opening beneath a directory descriptor without following symbolic links (see beneath.h). */
#include "lib/util/beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/util/mem.h"

#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

static bool use_openat2 = true;

void beneath_use_openat2(bool on)
{
	use_openat2 = on;
}

/* Refuses what neither way of opening may be given: an absolute path, "..", and names too long to be real. */
static int check_rel(const char *rel, char **err)
{
	if (rel[0] == '/') {
		*err = xasprintf("%s is absolute, not beneath the directory", rel);
		errno = EXDEV;
		return -1;
	}
	for (const char *p = rel; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			*err = xasprintf("%s climbs out with \"..\"", rel);
			errno = EXDEV;
			return -1;
		}
		p += n;
		p += strspn(p, "/");
	}
	return 0;
}

static char *open_error(const char *rel, const char *component, int e)
{
	if (e == ELOOP)
		return xasprintf("%s: %s is a symbolic link (links are not followed while opening)", rel, component);
	if (e == ENOTDIR)
		return xasprintf("%s: %s is not a directory (or was replaced while opening)", rel, component);
	return xasprintf("%s: %s: %s", rel, component, strerror(e));
}

/* The walk: each directory opened with O_NOFOLLOW | O_DIRECTORY from the one before it, the last component
 * with O_NOFOLLOW, so a symbolic link anywhere makes the open fail (ELOOP, or ENOTDIR for O_DIRECTORY). */
static int walk_open(int dirfd, const char *rel, int flags, char **err)
{
	int cur = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0) {
		*err = open_error(rel, ".", errno);
		return -1;
	}
	const char *p = rel + strspn(rel, "/");
	while (*p) {
		size_t n = strcspn(p, "/");
		const char *next = p + n + strspn(p + n, "/");
		char *name = xstrndup(p, n);
		bool last = *next == '\0';
		int fd;
		if (strcmp(name, ".") == 0 && !last) {
			free(name);
			p = next;
			continue;
		}
		if (last)
			fd = openat(cur, name, flags);
		else
			fd = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		int e = errno;
		struct stat st;
		if (fd < 0 && e == ENOTDIR && fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			e = ELOOP; /* O_DIRECTORY | O_NOFOLLOW on a link says ENOTDIR: name it for what it is */
		close(cur);
		if (fd < 0) {
			*err = open_error(rel, name, e);
			free(name);
			errno = e;
			return -1;
		}
		free(name);
		cur = fd;
		p = next;
	}
	return cur;
}

int beneath_open(int dirfd, const char *rel, int flags, char **err)
{
	*err = NULL;
	if (check_rel(rel, err) != 0)
		return -1;
	flags |= O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
	if (rel[strspn(rel, "/.")] == '\0' && strstr(rel, "..") == NULL)
		rel = "."; /* "", ".", "./": the directory itself */
#ifdef SYS_openat2
	if (use_openat2) {
		struct open_how how = {.flags = (unsigned long long)flags,
		                       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
		int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
		if (fd >= 0)
			return fd;
		/* Refused or failed (or ENOSYS/EPERM: no openat2 here, or a seccomp filter that does not know it): the
		 * walk, which is as strict, opens it or names the component at fault. */
	}
#endif
	return walk_open(dirfd, rel, flags, err);
}
