/* Classifies IP addresses so the fetcher can refuse private, loopback and other non-public targets (SSRF
 * guard). */
#ifndef PGKB_ADDR_H
#define PGKB_ADDR_H

#include <stdbool.h>

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

/* A static lower-case name for a class ("loopback", "private", ...), for log messages and errors. */
const char *addr_class_name(enum addr_class c);

#endif
