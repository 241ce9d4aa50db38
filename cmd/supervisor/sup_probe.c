/* pgkb-supervisor --health live|ready: a health probe for containers and scripts, so that the image needs no
 * curl or wget. GETs /healthz or /readyz from the running supervisor's supervisor.metrics_listen, prints the
 * answer's body and exits 0 on 200, 1 otherwise (2 when there is no address to ask). Bounded: a few seconds
 * per step, 4 KiB of answer. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/util/mem.h"
#include "cmd/supervisor/sup.h"

#define PROBE_TIMEOUT 5          /* seconds per connect, send and receive */
#define PROBE_MAX_ANSWER 4096

/* The host to ask for a listen address: a wildcard ("", 0.0.0.0, ::) is asked on loopback. */
static char *probe_host(const char *listen_addr, char **port)
{
	char *host = NULL;
	if (sup_split_listen(listen_addr, &host, port) != 0)
		return NULL;
	if (!*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) {
		bool v6 = strcmp(host, "::") == 0;
		free(host);
		host = xstrdup(v6 ? "::1" : "127.0.0.1");
	}
	return host;
}

static int probe_connect(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	int fd = -1;
	for (struct addrinfo *p = ai; p && fd < 0; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
		if (fd < 0)
			continue;
		struct timeval tv = {PROBE_TIMEOUT, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* bounds connect() too */
		if (connect(fd, p->ai_addr, p->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

int sup_probe(const struct cfg *cfg, const char *what)
{
	const char *path = strcmp(what, "live") == 0 ? "/healthz" : strcmp(what, "ready") == 0 ? "/readyz" : NULL;
	if (!path) {
		fprintf(stderr, "pgkb-supervisor --health: say live or ready\n");
		return 2;
	}
	if (!cfg->metrics_listen || !*cfg->metrics_listen) {
		fprintf(stderr, "pgkb-supervisor --health: supervisor.metrics_listen is off: nothing serves %s\n", path);
		return 2;
	}
	char *port = NULL;
	char *host = probe_host(cfg->metrics_listen, &port);
	int fd = host ? probe_connect(host, port) : -1;
	if (fd < 0) {
		printf("no answer from %s: %s\n", cfg->metrics_listen, strerror(errno));
		free(host);
		free(port);
		return 1;
	}
	char req[128];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	char answer[PROBE_MAX_ANSWER + 1];
	size_t got = 0;
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) == n) {
		ssize_t r;
		while (got < PROBE_MAX_ANSWER && (r = recv(fd, answer + got, PROBE_MAX_ANSWER - got, 0)) > 0)
			got += (size_t)r;
	}
	close(fd);
	free(host);
	free(port);
	answer[got] = '\0';
	int code = 0;
	if (sscanf(answer, "HTTP/1.%*d %d", &code) != 1) {
		printf("no HTTP answer from %s%s\n", cfg->metrics_listen, path);
		return 1;
	}
	const char *body = strstr(answer, "\r\n\r\n");
	fputs(body ? body + 4 : "", stdout);
	return code == 200 ? 0 : 1;
}
