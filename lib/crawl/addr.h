/* Classifies IP addresses so the fetcher can refuse private, loopback and other non-public targets (SSRF
 * guard). */
#ifndef PGKB_ADDR_H
#define PGKB_ADDR_H

#include <stdbool.h>
#include <stdint.h>

#include <sys/socket.h>

enum addr_class {
	ADDR_PUBLIC = 0,   /* globally reachable unicast */
	ADDR_LOOPBACK,     /* 127.0.0.0/8, ::1 */
	ADDR_PRIVATE,      /* 10/8, 172.16/12, 192.168/16 */
	ADDR_UNIQUE_LOCAL, /* fc00::/7 (fd00:ec2::254, AWS's IPv6 metadata service, is here) */
	ADDR_LINK_LOCAL,   /* 169.254/16 (cloud metadata 169.254.169.254 is here), fe80::/10, fec0::/10 */
	ADDR_CGNAT,        /* 100.64/10 shared address space (Alibaba's metadata 100.100.100.200 is here) */
	ADDR_UNSPECIFIED,  /* 0.0.0.0/8, :: */
	ADDR_MULTICAST,    /* 224/4, ff00::/8 */
	ADDR_RESERVED,     /* documentation, benchmarking, IETF, 240/4, broadcast, IPv6 outside 2000::/3 */
	ADDR_INVALID,      /* not an IPv4 or IPv6 address (NULL, AF_UNIX, unparsable text) */
};

/*
 * Classifies an AF_INET or AF_INET6 socket address. IPv6 forms that carry an IPv4 address (IPv4-mapped
 * ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) are classified by that IPv4 address, so
 * ::ffff:127.0.0.1 is ADDR_LOOPBACK. IPv6 is public only inside 2000::/3 and outside its special-purpose
 * blocks (2001::/23 with Teredo and documentation 2001:db8::/32, 3fff::/20); deprecated IPv4-compatible
 * ::a.b.c.d is ADDR_RESERVED.
 */
enum addr_class addr_classify(const struct sockaddr *sa);

/* True when sa is a public unicast address (addr_classify() == ADDR_PUBLIC). NULL and other families give
 * false. The fetcher calls it for every address it connects to (libcurl's CURLOPT_OPENSOCKETFUNCTION, so
 * after DNS resolution and on every redirect hop) and refuses the rest unless the configuration allows
 * private targets. */
bool addr_is_public(const struct sockaddr *sa);

/* Classifies a textual IPv4 ("10.0.0.1") or IPv6 ("::1", "[::1]") address; ADDR_INVALID for anything else. */
enum addr_class addr_classify_text(const char *ip);

/* An IP network (CIDR block) of one family, for allowlists such as crawl.allow_networks. */
struct addr_net {
	int family;      /* AF_INET or AF_INET6 */
	uint8_t net[16]; /* the network address, big-endian; an IPv4 network uses the first 4 bytes */
	unsigned bits;   /* prefix length: 0..32 for IPv4, 0..128 for IPv6 */
};

/*
 * Parses "a.b.c.d/n" (n 0..32) or "ipv6/n" (n 0..128, brackets allowed: "[::1]/128"); a bare address is a
 * single host (/32 or /128). Host bits right of the prefix must be zero ("10.1.2.3/8" is refused: write
 * 10.0.0.0/8 or 10.1.2.3). No spaces, zone ids or leading zeros in the prefix length. Returns 0, or -1 (out
 * untouched) on anything else, NULL included.
 */
int addr_net_parse(const char *text, struct addr_net *out);

/* True when the AF_INET or AF_INET6 address sa lies in net. An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 * counts as its IPv4 address, so ::ffff:127.0.0.1 is in 127.0.0.0/8; an IPv4 address is in an IPv6 network
 * only when that network lies inside ::ffff:0:0/96 and covers its mapped form (so ::/0 means every IPv6
 * address, not every IPv4 one). Other IPv6 forms that embed IPv4 (NAT64, 6to4) do not match IPv4 networks.
 * False for NULL and other families. */
bool addr_net_contains(const struct addr_net *net, const struct sockaddr *sa);

/* A static lower-case name for a class ("loopback", "private", ...), for log messages and errors. */
const char *addr_class_name(enum addr_class c);

#endif
