/* Unit tests for common/addr.c: the address syntaxes, their masks and
 * prefix conversions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "common/addr.h"
#include "common/ds.h"

static void
eth_parses_and_prints(void **state)
{
    (void) state;
    uint8_t mac[6], mask[6];
    struct ds s = DS_EMPTY_INITIALIZER;

    assert_int_equal(addr_parse_eth("00:11:22:AA:bb:Ff", mac, NULL), 0);
    addr_format_eth(&s, mac);
    assert_string_equal(ds_cstr(&s), "00:11:22:aa:bb:ff");

    assert_int_equal(addr_parse_eth_masked("01:00:00:00:00:00/"
                                           "01:00:00:00:00:00", mac, mask,
                                           NULL), 0);
    assert_int_equal(mask[0], 1);
    assert_int_equal(mask[5], 0);
    assert_int_equal(addr_parse_eth_masked("00:00:00:00:00:01", mac, mask,
                                           NULL), 0);
    assert_int_equal(mask[3], 0xff);
    ds_destroy(&s);
}

static void
eth_rejects_malformed(void **state)
{
    (void) state;
    static const char *const bad[] = {
        "", "00:11:22:33:44", "00:11:22:33:44:55:66", "0:11:22:33:44:55",
        "00-11-22-33-44-55", "00:11:22:33:44:5g", "00:11:22:33:44:55 ",
    };
    uint8_t mac[6] = { 9 }, mask[6];
    struct errbuf eb;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(addr_parse_eth(bad[i], mac, &eb), EINVAL);
        assert_non_null(strstr(eb.msg, "invalid Ethernet address"));
    }
    assert_int_equal(mac[0], 9);        /* Untouched on failure. */
    assert_int_equal(addr_parse_eth_masked("00:11:22:33:44:55/ff", mac, mask,
                                           &eb), EINVAL);
    assert_non_null(strstr(eb.msg, "bad mask"));
}

static void
ipv4_parses_masks_and_prefixes(void **state)
{
    (void) state;
    ovs_be32 ip, mask;
    struct ds s = DS_EMPTY_INITIALIZER;

    assert_int_equal(addr_parse_ipv4("192.0.2.1", &ip, NULL), 0);
    assert_int_equal(ntohl(ip), 0xc0000201);
    assert_int_equal(addr_parse_ipv4_masked("10.0.0.0/8", &ip, &mask, NULL),
                     0);
    assert_int_equal(ntohl(mask), 0xff000000);
    assert_int_equal(addr_parse_ipv4_masked("10.0.0.0/255.0.255.0", &ip,
                                            &mask, NULL), 0);
    assert_int_equal(ntohl(mask), 0xff00ff00);
    assert_int_equal(addr_parse_ipv4_masked("10.0.0.1", &ip, &mask, NULL), 0);
    assert_int_equal(mask, 0xffffffff);
    assert_int_equal(addr_parse_ipv4_masked("0.0.0.0/0", &ip, &mask, NULL),
                     0);
    assert_int_equal(mask, 0);

    addr_format_ipv4_masked(&s, htonl(0x0a000000), htonl(0xffffff00));
    ds_put_char(&s, ' ');
    addr_format_ipv4_masked(&s, htonl(0x0a000000), htonl(0xff00ff00));
    ds_put_char(&s, ' ');
    addr_format_ipv4_masked(&s, htonl(0x0a000001), htonl(0xffffffff));
    assert_string_equal(ds_cstr(&s),
                        "10.0.0.0/24 10.0.0.0/255.0.255.0 10.0.0.1");
    ds_destroy(&s);

    assert_int_equal(addr_ipv4_mask_to_prefix(htonl(0xfffffff0)), 28);
    assert_int_equal(addr_ipv4_mask_to_prefix(0), 0);
    assert_int_equal(addr_ipv4_mask_to_prefix(htonl(0xff00ff00)), -1);
    assert_int_equal(ntohl(addr_ipv4_prefix_to_mask(1)), 0x80000000);
    assert_int_equal(addr_ipv4_prefix_to_mask(32), 0xffffffff);
}

static void
ipv4_rejects_malformed(void **state)
{
    (void) state;
    static const char *const bad[] = {
        "", "1.2.3", "1.2.3.4.5", "1..3.4", "0x1.2.3.4", "1.2.3.4 ",
        "-1.2.3.4", "1.2.3.0001", "a.b.c.d",
    };
    ovs_be32 ip, mask;
    struct errbuf eb;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(addr_parse_ipv4(bad[i], &ip, &eb), EINVAL);
    }
    assert_int_equal(addr_parse_ipv4("1.2.3.256", &ip, &eb), ERANGE);
    assert_non_null(strstr(eb.msg, "above 255"));
    assert_int_equal(addr_parse_ipv4_masked("1.2.3.4/33", &ip, &mask, &eb),
                     ERANGE);
    assert_int_equal(addr_parse_ipv4_masked("1.2.3.4/", &ip, &mask, &eb),
                     EINVAL);
    assert_int_equal(addr_parse_ipv4_masked("1.2.3.4/1.2.3", &ip, &mask,
                                            &eb), EINVAL);
}

static void
ipv6_parses_masks_and_prefixes(void **state)
{
    (void) state;
    struct in6_addr ip, mask;
    struct ds s = DS_EMPTY_INITIALIZER;

    assert_int_equal(addr_parse_ipv6_masked("2001:db8::/32", &ip, &mask,
                                            NULL), 0);
    assert_int_equal(addr_ipv6_mask_to_prefix(&mask), 32);
    addr_format_ipv6_masked(&s, &ip, &mask);
    ds_put_char(&s, ' ');
    assert_int_equal(addr_parse_ipv6_masked("fe80::1/ffff:0:ffff::", &ip,
                                            &mask, NULL), 0);
    assert_int_equal(addr_ipv6_mask_to_prefix(&mask), -1);
    addr_format_ipv6_masked(&s, &ip, &mask);
    ds_put_char(&s, ' ');
    assert_int_equal(addr_parse_ipv6_masked("::ffff:10.0.0.1", &ip, &mask,
                                            NULL), 0);
    addr_format_ipv6_masked(&s, &ip, &mask);
    assert_string_equal(ds_cstr(&s), "2001:db8::/32 fe80::1/ffff:0:ffff:: "
                        "::ffff:10.0.0.1");
    ds_destroy(&s);

    for (unsigned int len = 0; len <= 128; len++) {
        addr_ipv6_prefix_to_mask(len, &mask);
        assert_int_equal(addr_ipv6_mask_to_prefix(&mask), (int) len);
    }
}

static void
ipv6_rejects_malformed(void **state)
{
    (void) state;
    struct in6_addr ip, mask;
    struct errbuf eb;

    assert_int_equal(addr_parse_ipv6("2001:db8::g", &ip, &eb), EINVAL);
    assert_int_equal(addr_parse_ipv6("1.2.3.4", &ip, &eb), EINVAL);
    assert_int_equal(addr_parse_ipv6("", &ip, &eb), EINVAL);
    assert_int_equal(addr_parse_ipv6_masked("::1/129", &ip, &mask, &eb),
                     ERANGE);
    assert_int_equal(addr_parse_ipv6_masked("::1/::g", &ip, &mask, &eb),
                     EINVAL);
    assert_non_null(strstr(eb.msg, "bad mask"));
    assert_int_equal(addr_parse_ipv6_masked(
                         "0000:0000:0000:0000:0000:0000:0000:0000:0000/64",
                         &ip, &mask, &eb), EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eth_parses_and_prints),
        cmocka_unit_test(eth_rejects_malformed),
        cmocka_unit_test(ipv4_parses_masks_and_prefixes),
        cmocka_unit_test(ipv4_rejects_malformed),
        cmocka_unit_test(ipv6_parses_masks_and_prefixes),
        cmocka_unit_test(ipv6_rejects_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
