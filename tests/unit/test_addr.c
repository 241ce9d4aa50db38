/* Unit tests: public/non-public IP address classification (SSRF guard). */
#include "lib/crawl/addr.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

static void check(const char *ip, enum addr_class expect)
{
	enum addr_class got = addr_classify_text(ip);
	if (got != expect)
		TEST_FAIL_AT("%s: got %s, expected %s", ip, addr_class_name(got), addr_class_name(expect));
	test_checks++;
}

TEST(ipv4_special_blocks)
{
	check("8.8.8.8", ADDR_PUBLIC);
	check("93.184.216.34", ADDR_PUBLIC);
	check("127.0.0.1", ADDR_LOOPBACK);
	check("127.255.255.254", ADDR_LOOPBACK);
	check("10.1.2.3", ADDR_PRIVATE);
	check("172.16.0.1", ADDR_PRIVATE);
	check("172.31.255.255", ADDR_PRIVATE);
	check("172.32.0.1", ADDR_PUBLIC);
	check("192.168.1.1", ADDR_PRIVATE);
	check("169.254.169.254", ADDR_LINK_LOCAL);
	check("100.64.0.1", ADDR_CGNAT);
	check("100.100.100.200", ADDR_CGNAT);
	check("100.128.0.1", ADDR_PUBLIC);
	check("0.0.0.0", ADDR_UNSPECIFIED);
	check("0.1.2.3", ADDR_UNSPECIFIED);
	check("224.0.0.1", ADDR_MULTICAST);
	check("239.255.255.250", ADDR_MULTICAST);
	check("255.255.255.255", ADDR_RESERVED);
	check("240.0.0.1", ADDR_RESERVED);
	check("192.0.0.192", ADDR_RESERVED);
	check("192.0.2.1", ADDR_RESERVED);
	check("198.18.0.1", ADDR_RESERVED);
	check("198.19.255.255", ADDR_RESERVED);
	check("198.20.0.1", ADDR_PUBLIC);
	check("203.0.113.9", ADDR_RESERVED);
}

TEST(ipv6_special_blocks)
{
	check("2606:4700:4700::1111", ADDR_PUBLIC);
	check("[2a00:1450:4001:82b::200e]", ADDR_PUBLIC);
	check("::1", ADDR_LOOPBACK);
	check("[::1]", ADDR_LOOPBACK);
	check("::", ADDR_UNSPECIFIED);
	check("fe80::1", ADDR_LINK_LOCAL);
	check("fec0::1", ADDR_LINK_LOCAL);
	check("fc00::1", ADDR_UNIQUE_LOCAL);
	check("fd00:ec2::254", ADDR_UNIQUE_LOCAL);
	check("ff02::1", ADDR_MULTICAST);
	check("2001:db8::1", ADDR_RESERVED);
	check("2001:0::1", ADDR_RESERVED); /* Teredo */
	check("3fff::1", ADDR_RESERVED);
	check("100::1", ADDR_RESERVED);
	check("4000::1", ADDR_RESERVED);
	check("::2", ADDR_RESERVED);
	check("::7f00:1", ADDR_RESERVED); /* IPv4-compatible */
}

TEST(ipv6_embedding_ipv4_is_judged_by_the_ipv4)
{
	check("::ffff:127.0.0.1", ADDR_LOOPBACK);
	check("::ffff:169.254.169.254", ADDR_LINK_LOCAL);
	check("::ffff:10.0.0.1", ADDR_PRIVATE);
	check("::ffff:8.8.8.8", ADDR_PUBLIC);
	check("64:ff9b::10.0.0.1", ADDR_PRIVATE);
	check("64:ff9b::8.8.8.8", ADDR_PUBLIC);
	check("2002:7f00:1::", ADDR_LOOPBACK);
	check("2002:0808:0808::1", ADDR_PUBLIC);
	check("64:ff9b:1::1", ADDR_RESERVED);
}

TEST(text_garbage_is_invalid)
{
	check("", ADDR_INVALID);
	check("localhost", ADDR_INVALID);
	check("127.1", ADDR_INVALID);
	check("[::1", ADDR_INVALID);
	check("1.2.3.4.5", ADDR_INVALID);
	ASSERT_INT_EQ(addr_classify_text(NULL), ADDR_INVALID);
}

TEST(sockaddr_interface)
{
	struct sockaddr_in in = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	ASSERT_TRUE(!addr_is_public((struct sockaddr *)&in));
	ASSERT_INT_EQ(addr_classify((struct sockaddr *)&in), ADDR_LOOPBACK);
	inet_pton(AF_INET, "1.1.1.1", &in.sin_addr);
	ASSERT_TRUE(addr_is_public((struct sockaddr *)&in));

	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "::ffff:192.168.0.1", &in6.sin6_addr);
	ASSERT_TRUE(!addr_is_public((struct sockaddr *)&in6));
	inet_pton(AF_INET6, "2606:4700::1", &in6.sin6_addr);
	ASSERT_TRUE(addr_is_public((struct sockaddr *)&in6));

	struct sockaddr_un un = {.sun_family = AF_UNIX};
	ASSERT_INT_EQ(addr_classify((struct sockaddr *)&un), ADDR_INVALID);
	ASSERT_TRUE(!addr_is_public(NULL));
	ASSERT_STR_EQ(addr_class_name(ADDR_LINK_LOCAL), "link-local");
}

/* ---- networks ---- */

/* A socket address for the textual IPv4 or IPv6 address ip, in *ss. */
static const struct sockaddr *sockaddr_of(const char *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	else
		TEST_FAIL_AT("bad test address %s", ip);
	return (const struct sockaddr *)ss;
}

/* Asserts that network cidr parses and that ip is (want true) or is not in it. */
static void in_net(const char *cidr, const char *ip, bool want)
{
	struct addr_net n;
	struct sockaddr_storage ss;
	if (addr_net_parse(cidr, &n) != 0) {
		TEST_FAIL_AT("%s does not parse", cidr);
		return;
	}
	if (addr_net_contains(&n, sockaddr_of(ip, &ss)) != want)
		TEST_FAIL_AT("%s in %s: got %s", ip, cidr, want ? "false" : "true");
	test_checks++;
}

TEST(network_parse_forms)
{
	struct addr_net n;
	ASSERT_INT_EQ(addr_net_parse("127.0.0.0/8", &n), 0);
	ASSERT_INT_EQ(n.family, AF_INET);
	ASSERT_INT_EQ(n.bits, 8);
	ASSERT_INT_EQ(n.net[0], 127);
	ASSERT_INT_EQ(addr_net_parse("10.1.2.3", &n), 0);
	ASSERT_INT_EQ(n.bits, 32);
	ASSERT_INT_EQ(addr_net_parse("::1", &n), 0);
	ASSERT_INT_EQ(n.family, AF_INET6);
	ASSERT_INT_EQ(n.bits, 128);
	ASSERT_INT_EQ(addr_net_parse("[::1]/128", &n), 0);
	ASSERT_INT_EQ(n.bits, 128);
	ASSERT_INT_EQ(addr_net_parse("fd00::/8", &n), 0);
	ASSERT_INT_EQ(n.bits, 8);
	ASSERT_INT_EQ(n.net[0], 0xfd);
	ASSERT_INT_EQ(addr_net_parse("0.0.0.0/0", &n), 0);
	ASSERT_INT_EQ(n.bits, 0);
	ASSERT_INT_EQ(addr_net_parse("::/0", &n), 0);
	ASSERT_INT_EQ(addr_net_parse("192.168.0.0/17", &n), 0);
	ASSERT_INT_EQ(addr_net_parse("192.168.128.0/17", &n), 0);
}

TEST(network_parse_rejects_bad_input)
{
	static const char *const bad[] = {
		"", "/8", "127.0.0.0/", "127.0.0.0/33", "::/129", "127.0.0.0/08", "127.0.0.0/-1", "127.0.0.0/8/9",
		"127.0.0.0 /8", " 127.0.0.1", "127.0.0.1 ", "127.1", "localhost", "10.1.2.3/8", "192.168.128.0/16",
		"::1/64", "fe80::1%eth0", "[::1", "1.2.3.4.5", "127.0.0.0/1000", "010.0.0.1", "127.0.0.0/8x",
	};
	struct addr_net n = {.family = 99};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (addr_net_parse(bad[i], &n) != -1)
			TEST_FAIL_AT("\"%s\" parsed", bad[i]);
		test_checks++;
	}
	ASSERT_INT_EQ(n.family, 99); /* untouched on failure */
	ASSERT_INT_EQ(addr_net_parse(NULL, &n), -1);
}

TEST(network_contains_ipv4)
{
	in_net("127.0.0.0/8", "127.0.0.1", true);
	in_net("127.0.0.0/8", "127.255.255.254", true);
	in_net("127.0.0.0/8", "128.0.0.1", false);
	in_net("127.0.0.0/8", "10.255.255.1", false);
	in_net("10.1.2.3", "10.1.2.3", true);
	in_net("10.1.2.3", "10.1.2.4", false);
	in_net("192.168.0.0/17", "192.168.127.255", true);
	in_net("192.168.0.0/17", "192.168.128.0", false);
	in_net("0.0.0.0/0", "169.254.169.254", true);
	in_net("0.0.0.0/0", "2606:4700::1", false); /* an IPv4 network never holds a native IPv6 address */
}

TEST(network_contains_ipv6)
{
	in_net("::1/128", "::1", true);
	in_net("::1", "::2", false);
	in_net("fd00::/8", "fd00::1", true);
	in_net("fd00::/8", "fc00::1", false);
	in_net("fe80::/10", "febf::1", true);
	in_net("fe80::/10", "fec0::1", false);
	in_net("::/0", "2001:db8::1", true);
	in_net("::/0", "10.0.0.1", false); /* ::/0 is every IPv6 address, not every IPv4 one */
	in_net("::1/128", "127.0.0.1", false);
}

TEST(network_ipv4_mapped_ipv6_counts_as_ipv4)
{
	in_net("127.0.0.0/8", "::ffff:127.0.0.1", true);
	in_net("127.0.0.0/8", "::ffff:10.0.0.1", false);
	in_net("10.1.2.3", "::ffff:10.1.2.3", true);
	in_net("0.0.0.0/0", "::ffff:1.2.3.4", true);
	in_net("127.0.0.0/8", "64:ff9b::7f00:1", false); /* NAT64 reaches another machine's loopback */
	in_net("127.0.0.0/8", "::7f00:1", false);        /* IPv4-compatible (deprecated) */
	in_net("127.0.0.0/8", "2002:7f00:1::", false);    /* 6to4 */
	in_net("::ffff:127.0.0.0/104", "127.0.0.1", true);
	in_net("::ffff:127.0.0.0/104", "::ffff:127.0.0.1", true);
	in_net("::ffff:127.0.0.0/104", "10.0.0.1", false);
}

TEST(network_contains_odd_arguments)
{
	struct addr_net n;
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct sockaddr_storage ss;
	ASSERT_INT_EQ(addr_net_parse("0.0.0.0/0", &n), 0);
	ASSERT_TRUE(!addr_net_contains(&n, NULL));
	ASSERT_TRUE(!addr_net_contains(NULL, sockaddr_of("127.0.0.1", &ss)));
	ASSERT_TRUE(!addr_net_contains(&n, (struct sockaddr *)&un));
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
