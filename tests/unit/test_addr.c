/* Unit tests: public/non-public IP address classification (SSRF guard). */
#include "addr.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <netinet/in.h>
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

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
