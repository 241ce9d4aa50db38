/* IP address classification after the IANA special-purpose address registries. */
#include "lib/crawl/addr.h"

#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

/* True when the first bits of a (big-endian bytes) equal those of prefix. */
static bool in_prefix(const uint8_t *a, const uint8_t *prefix, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, prefix, whole) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xFF << (8 - rest));
	return (a[whole] & mask) == (prefix[whole] & mask);
}

struct v4_block {
	uint8_t net[4];
	unsigned bits;
	enum addr_class cls;
};

static const struct v4_block V4_BLOCKS[] = {
	{{0, 0, 0, 0}, 8, ADDR_UNSPECIFIED},      /* "this network" */
	{{10, 0, 0, 0}, 8, ADDR_PRIVATE},
	{{100, 64, 0, 0}, 10, ADDR_CGNAT},
	{{127, 0, 0, 0}, 8, ADDR_LOOPBACK},
	{{169, 254, 0, 0}, 16, ADDR_LINK_LOCAL},
	{{172, 16, 0, 0}, 12, ADDR_PRIVATE},
	{{192, 0, 0, 0}, 24, ADDR_RESERVED},      /* IETF assignments (Oracle metadata 192.0.0.192) */
	{{192, 0, 2, 0}, 24, ADDR_RESERVED},      /* TEST-NET-1 */
	{{192, 88, 99, 0}, 24, ADDR_RESERVED},    /* 6to4 relay anycast (deprecated) */
	{{192, 168, 0, 0}, 16, ADDR_PRIVATE},
	{{198, 18, 0, 0}, 15, ADDR_RESERVED},     /* benchmarking */
	{{198, 51, 100, 0}, 24, ADDR_RESERVED},   /* TEST-NET-2 */
	{{203, 0, 113, 0}, 24, ADDR_RESERVED},    /* TEST-NET-3 */
	{{224, 0, 0, 0}, 4, ADDR_MULTICAST},
	{{240, 0, 0, 0}, 4, ADDR_RESERVED},       /* future use, and 255.255.255.255 broadcast */
};

static enum addr_class classify_v4(const uint8_t a[4])
{
	for (size_t i = 0; i < sizeof V4_BLOCKS / sizeof V4_BLOCKS[0]; i++)
		if (in_prefix(a, V4_BLOCKS[i].net, V4_BLOCKS[i].bits))
			return V4_BLOCKS[i].cls;
	return ADDR_PUBLIC;
}

struct v6_block {
	uint8_t net[16];
	unsigned bits;
	enum addr_class cls;
};

static const struct v6_block V6_BLOCKS[] = {
	{{0x01, 0x00}, 64, ADDR_RESERVED},                    /* 100::/64 discard-only */
	{{0x20, 0x01, 0x00, 0x00}, 23, ADDR_RESERVED},        /* 2001::/23 IETF: Teredo, ORCHID, ... */
	{{0x20, 0x01, 0x0d, 0xb8}, 32, ADDR_RESERVED},        /* documentation */
	{{0x3f, 0xff, 0x00, 0x00}, 20, ADDR_RESERVED},        /* documentation (RFC 9637) */
	{{0xfc, 0x00}, 7, ADDR_UNIQUE_LOCAL},
	{{0xfe, 0x80}, 10, ADDR_LINK_LOCAL},
	{{0xfe, 0xc0}, 10, ADDR_LINK_LOCAL},                  /* site-local (deprecated) */
	{{0xff, 0x00}, 8, ADDR_MULTICAST},
};

static enum addr_class classify_v6(const uint8_t a[16])
{
	static const uint8_t zero[16] = {0};
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
	static const uint8_t sixtofour[2] = {0x20, 0x02};

	if (memcmp(a, zero, 15) == 0)
		return a[15] == 0 ? ADDR_UNSPECIFIED : a[15] == 1 ? ADDR_LOOPBACK : ADDR_RESERVED;
	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return classify_v4(a + 12);
	if (memcmp(a, sixtofour, 2) == 0)
		return classify_v4(a + 2);
	if (memcmp(a, zero, 12) == 0)
		return ADDR_RESERVED; /* IPv4-compatible ::a.b.c.d (deprecated) */
	for (size_t i = 0; i < sizeof V6_BLOCKS / sizeof V6_BLOCKS[0]; i++)
		if (in_prefix(a, V6_BLOCKS[i].net, V6_BLOCKS[i].bits))
			return V6_BLOCKS[i].cls;
	return (a[0] & 0xE0) == 0x20 ? ADDR_PUBLIC : ADDR_RESERVED; /* only 2000::/3 is global unicast */
}

enum addr_class addr_classify(const struct sockaddr *sa)
{
	if (!sa)
		return ADDR_INVALID;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		uint8_t a[4];
		memcpy(a, &in->sin_addr.s_addr, 4);
		return classify_v4(a);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		uint8_t a[16];
		memcpy(a, in6->sin6_addr.s6_addr, 16);
		return classify_v6(a);
	}
	return ADDR_INVALID;
}

bool addr_is_public(const struct sockaddr *sa)
{
	return addr_classify(sa) == ADDR_PUBLIC;
}

enum addr_class addr_classify_text(const char *ip)
{
	if (!ip)
		return ADDR_INVALID;
	uint8_t a[16];
	if (inet_pton(AF_INET, ip, a) == 1)
		return classify_v4(a);
	char tmp[64];
	size_t n = strlen(ip);
	if (n >= 2 && n < sizeof tmp && ip[0] == '[' && ip[n - 1] == ']') {
		memcpy(tmp, ip + 1, n - 2);
		tmp[n - 2] = '\0';
		ip = tmp;
	}
	if (inet_pton(AF_INET6, ip, a) == 1)
		return classify_v6(a);
	return ADDR_INVALID;
}

/* ---- networks (CIDR) ---- */

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* True when no bit of a[0..len) right of the first `bits` is set. */
static bool host_bits_clear(const uint8_t *a, size_t len, unsigned bits)
{
	for (size_t i = bits / 8; i < len; i++) {
		uint8_t keep = i == bits / 8 && bits % 8 ? (uint8_t)(0xFF << (8 - bits % 8)) : 0;
		if (a[i] & (uint8_t)~keep)
			return false;
	}
	return true;
}

int addr_net_parse(const char *text, struct addr_net *out)
{
	char ip[64];
	if (!text)
		return -1;
	const char *slash = strchr(text, '/');
	size_t iplen = slash ? (size_t)(slash - text) : strlen(text);
	if (iplen >= sizeof ip)
		return -1;
	memcpy(ip, text, iplen);
	ip[iplen] = '\0';
	if (iplen >= 2 && ip[0] == '[' && ip[iplen - 1] == ']') {
		memmove(ip, ip + 1, iplen - 2);
		ip[iplen - 2] = '\0';
	}
	struct addr_net n;
	memset(&n, 0, sizeof n);
	unsigned max;
	if (inet_pton(AF_INET, ip, n.net) == 1) {
		n.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, ip, n.net) == 1) {
		n.family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	n.bits = max;
	if (slash) {
		const char *p = slash + 1;
		unsigned bits = 0;
		if (!*p || (p[0] == '0' && p[1]) || strlen(p) > 3)
			return -1;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			bits = bits * 10 + (unsigned)(*p - '0');
		}
		if (bits > max)
			return -1;
		n.bits = bits;
	}
	if (!host_bits_clear(n.net, max / 8, n.bits))
		return -1;
	*out = n;
	return 0;
}

bool addr_net_contains(const struct addr_net *net, const struct sockaddr *sa)
{
	uint8_t a[16];
	if (!net || !sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		if (net->family == AF_INET) {
			memcpy(a, &in->sin_addr.s_addr, 4);
			return in_prefix(a, net->net, net->bits);
		}
		memcpy(a, V4_MAPPED, 12);
		memcpy(a + 12, &in->sin_addr.s_addr, 4);
		return net->family == AF_INET6 && net->bits >= 96 && memcmp(net->net, V4_MAPPED, 12) == 0 &&
		       in_prefix(a, net->net, net->bits);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		memcpy(a, in6->sin6_addr.s6_addr, 16);
		if (net->family == AF_INET6)
			return in_prefix(a, net->net, net->bits);
		return net->family == AF_INET && memcmp(a, V4_MAPPED, 12) == 0 && in_prefix(a + 12, net->net, net->bits);
	}
	return false;
}

const char *addr_class_name(enum addr_class c)
{
	switch (c) {
	case ADDR_PUBLIC:
		return "public";
	case ADDR_LOOPBACK:
		return "loopback";
	case ADDR_PRIVATE:
		return "private";
	case ADDR_UNIQUE_LOCAL:
		return "unique-local";
	case ADDR_LINK_LOCAL:
		return "link-local";
	case ADDR_CGNAT:
		return "shared (CGNAT)";
	case ADDR_UNSPECIFIED:
		return "unspecified";
	case ADDR_MULTICAST:
		return "multicast";
	case ADDR_RESERVED:
		return "reserved";
	case ADDR_INVALID:
		break;
	}
	return "invalid";
}
