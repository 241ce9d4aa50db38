/* Per-host crawl politeness (crawl.hosts): host patterns, their canonical form, and the lookup by host. */
#include "lib/cfg/cfg_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/mem.h"
#include "lib/crawl/url.h"
#include "lib/text/utf8.h"

#define FIELD(c, k, T) ((T *)(void *)((char *)(c) + (k)->off))

void cfg_hosts_replace(struct cfg *c, const struct cfg_key *k, struct cfg_host *hosts)
{
	struct cfg_host *old = *FIELD(c, k, struct cfg_host *);
	for (struct cfg_host *h = old; h && h->host; h++)
		free(h->host);
	free(old);
	*FIELD(c, k, struct cfg_host *) = hosts;
}

/* The port after "host:" or "[v6]:" in h, or NULL when there is none; "" marks a malformed authority. */
static const char *host_port(const char *h)
{
	if (h[0] == '[') {
		const char *close = strchr(h, ']');
		if (!close)
			return "";
		return close[1] == ':' ? close + 2 : close[1] ? "" : NULL;
	}
	const char *colon = strchr(h, ':');
	if (colon && strchr(colon + 1, ':'))
		return ""; /* an IPv6 address needs brackets */
	return colon ? colon + 1 : NULL;
}

const char *cfg_host_pattern(const char *v, char **canon)
{
	static const char *what = "a host as in URLs (docs.example.com, 127.0.0.1:8080, [::1]:8080) or \"*.\" and a "
	                          "domain (*.example.com)";
	bool wild = strncmp(v, "*.", 2) == 0;
	const char *h = wild ? v + 2 : v;
	size_t n = strlen(h);
	if (!n || !utf8_is_clean(h, n) || strpbrk(h, "/?#@\\*% \t\r\n") || (wild && h[0] == '['))
		return what;
	for (const unsigned char *p = (const unsigned char *)h; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return what;
	const char *port = host_port(h);
	if (port) {
		size_t plen = strlen(port);
		if (plen == 0 || plen > 5 || strspn(port, "0123456789") != plen || port[0] == '0' ||
		    atol(port) > 65535)
			return what;
		if (strcmp(port, "80") == 0 || strcmp(port, "443") == 0)
			return "a host without the default port 80 or 443 (URLs leave it out: write docs.example.com)";
	}
	char *url = xasprintf("http://%s/", h);
	char *host = url_host(url);
	free(url);
	if (!host)
		return what;
	*canon = wild ? xasprintf("*.%s", host) : xstrdup(host);
	free(host);
	return NULL;
}

void cfg_host_politeness(const struct cfg *cfg, const char *host, int *concurrency, int64_t *delay_ms)
{
	const struct cfg_host *best = NULL;
	size_t best_len = 0, hlen = host ? strlen(host) : 0;
	for (const struct cfg_host *h = cfg->crawl_hosts; host && h && h->host; h++) {
		if (strncmp(h->host, "*.", 2) != 0) {
			if (strcasecmp(h->host, host) == 0) {
				best = h;
				break;
			}
			continue;
		}
		const char *suffix = h->host + 1; /* ".example.com" */
		size_t slen = strlen(suffix);
		if (hlen > slen && slen > best_len && strcasecmp(host + hlen - slen, suffix) == 0) {
			best = h;
			best_len = slen;
		}
	}
	if (concurrency)
		*concurrency = best && best->concurrency > 0 ? best->concurrency : cfg->crawl_host_concurrency;
	if (delay_ms)
		*delay_ms = best && best->delay_ms >= 0 ? best->delay_ms : cfg->crawl_host_delay_ms;
}

int cfg_host_concurrency_max(const struct cfg *cfg)
{
	int max = cfg->crawl_host_concurrency;
	for (const struct cfg_host *h = cfg->crawl_hosts; h && h->host; h++)
		if (h->concurrency > max)
			max = h->concurrency;
	return max;
}
