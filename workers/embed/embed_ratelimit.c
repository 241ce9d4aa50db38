/* Per-provider rate limit shared by the embed workers of one host: token buckets in an flock'ed mmap'ed file.
 *
 * Why a file in /dev/shm with flock rather than a POSIX shm segment with a process-shared mutex: a worker
 * killed while holding a pthread mutex leaves it locked (robust mutexes need recovery code on every path),
 * while the kernel drops a dead process's flock. The critical section is a few arithmetic operations, so the
 * blocking flock never stalls the loop measurably. The file is tmpfs memory, named after the provider and base
 * URL (so two different providers never share a budget), and inspectable with ls/hexdump. */
#include "workers/embed/embed_ratelimit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/log.h"
#include "lib/util/mem.h"

#define RL_MAGIC 0x706b726cu /* "pkrl" */
#define RL_VERSION 1
#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

struct embed_rl {
	int fd;
	struct embed_rl_state *s;
	int rpm, tpm;
	char *path;
};

static double rl_cap(int per_minute)
{
	double c = per_minute * (double)EMBED_RL_BURST_S / 60.0;
	return c < 1.0 ? 1.0 : c;
}

int64_t embed_rl_max_tokens(int tpm)
{
	return tpm > 0 ? (int64_t)rl_cap(tpm) : 0;
}

static void rl_refill(struct embed_rl_state *s, int rpm, int tpm, int64_t now_ns)
{
	if (s->last_ns <= 0 || now_ns < s->last_ns) { /* fresh state, or a reboot with a stale /tmp file */
		s->req_avail = rpm > 0 ? rl_cap(rpm) : 0;
		s->tok_avail = tpm > 0 ? rl_cap(tpm) : 0;
		s->last_ns = now_ns;
		s->pause_until_ns = 0;
		return;
	}
	double dt = (double)(now_ns - s->last_ns) / NS_PER_S;
	s->last_ns = now_ns;
	if (rpm > 0) {
		s->req_avail += dt * rpm / 60.0;
		if (s->req_avail > rl_cap(rpm))
			s->req_avail = rl_cap(rpm);
	}
	if (tpm > 0) {
		s->tok_avail += dt * tpm / 60.0;
		if (s->tok_avail > rl_cap(tpm))
			s->tok_avail = rl_cap(tpm);
	}
}

/* Milliseconds until `need` is available in a bucket refilled at per_minute/60 per second (>= 1). */
static int64_t rl_wait_ms(double avail, double need, int per_minute)
{
	double ms = (need - avail) * 60000.0 / per_minute;
	return ms < 1.0 ? 1 : (int64_t)ms + 1;
}

int64_t embed_rl_take(struct embed_rl_state *s, int rpm, int tpm, int64_t tokens, int64_t now_ns)
{
	rl_refill(s, rpm, tpm, now_ns);
	if (s->pause_until_ns > now_ns)
		return (s->pause_until_ns - now_ns + NS_PER_MS - 1) / NS_PER_MS;
	double need_tok = tpm > 0 && (double)tokens > rl_cap(tpm) ? rl_cap(tpm) : (double)tokens;
	int64_t wait = 0;
	if (rpm > 0 && s->req_avail < 1.0)
		wait = rl_wait_ms(s->req_avail, 1.0, rpm);
	if (tpm > 0 && s->tok_avail < need_tok) {
		int64_t w = rl_wait_ms(s->tok_avail, need_tok, tpm);
		wait = w > wait ? w : wait;
	}
	if (wait)
		return wait;
	if (rpm > 0)
		s->req_avail -= 1.0;
	if (tpm > 0)
		s->tok_avail -= need_tok;
	return 0;
}

static int64_t rl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* FNV-1a of the key, so the file name has no URL characters in it. */
static uint64_t rl_hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

static const char *rl_dir(void)
{
	const char *d = getenv("PGKB_RATELIMIT_DIR");
	if (d && *d)
		return d;
	struct stat st;
	return stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
}

struct embed_rl *embed_rl_open(const char *key, int rpm, int tpm)
{
	if (rpm <= 0 && tpm <= 0)
		return NULL;
	char *path = xasprintf("%s/pgkb-embed-rl-%016llx", rl_dir(), (unsigned long long)rl_hash(key));
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(struct embed_rl_state)) != 0) {
		log_warn("embed rate limit: %s: %s; requests are not rate limited", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		return NULL;
	}
	void *m = mmap(NULL, sizeof(struct embed_rl_state), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		log_warn("embed rate limit: mmap %s: %s; requests are not rate limited", path, strerror(errno));
		close(fd);
		free(path);
		return NULL;
	}
	struct embed_rl *rl = xcalloc(1, sizeof *rl);
	*rl = (struct embed_rl){fd, m, rpm, tpm, path};
	flock(fd, LOCK_EX);
	if (rl->s->magic != RL_MAGIC || rl->s->version != RL_VERSION)
		*rl->s = (struct embed_rl_state){.magic = RL_MAGIC, .version = RL_VERSION};
	flock(fd, LOCK_UN);
	return rl;
}

int64_t embed_rl_acquire(struct embed_rl *rl, int64_t tokens)
{
	if (!rl)
		return 0;
	flock(rl->fd, LOCK_EX);
	int64_t wait = embed_rl_take(rl->s, rl->rpm, rl->tpm, tokens, rl_now_ns());
	flock(rl->fd, LOCK_UN);
	return wait;
}

void embed_rl_pause(struct embed_rl *rl, int64_t ms)
{
	if (!rl || ms <= 0)
		return;
	flock(rl->fd, LOCK_EX);
	int64_t now = rl_now_ns();
	rl_refill(rl->s, rl->rpm, rl->tpm, now);
	int64_t until = now + ms * NS_PER_MS;
	if (until > rl->s->pause_until_ns)
		rl->s->pause_until_ns = until;
	flock(rl->fd, LOCK_UN);
}

const char *embed_rl_path(const struct embed_rl *rl)
{
	return rl ? rl->path : "";
}

void embed_rl_close(struct embed_rl *rl)
{
	if (!rl)
		return;
	munmap(rl->s, sizeof *rl->s);
	close(rl->fd);
	free(rl->path);
	free(rl);
}
