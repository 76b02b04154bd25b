/* Unit tests of the org service's pure helpers: host names and the image
 * types recognised by their magic bytes. */
#include "org_app.h"

#include <criterion/criterion.h>
#include <string.h>

Test(org_util, valid_hosts)
{
	cr_assert(org_valid_host("portal.example.com"));
	cr_assert(org_valid_host("a-b.c1.io"));
	cr_assert(org_valid_host("localhost"));
	cr_assert_not(org_valid_host(""));
	cr_assert_not(org_valid_host("Portal.example.com"), "lower case only");
	cr_assert_not(org_valid_host("-a.example.com"));
	cr_assert_not(org_valid_host("a-.example.com"));
	cr_assert_not(org_valid_host("a..b"));
	cr_assert_not(org_valid_host(".a.b"));
	cr_assert_not(org_valid_host("a.b."));
	cr_assert_not(org_valid_host("a b.com"));
	cr_assert_not(org_valid_host("a_b.com"));
	cr_assert_not(org_valid_host("127.0.0.1"));
	cr_assert_not(org_valid_host("ex.com:8080"));
}

Test(org_util, long_labels)
{
	char h[300];

	memset(h, 'a', 63);
	strcpy(h + 63, ".com");
	cr_assert(org_valid_host(h));
	memset(h, 'a', 64);
	strcpy(h + 64, ".com");
	cr_assert_not(org_valid_host(h));
}

Test(org_util, image_types)
{
	static const unsigned char png[] = {0x89, 'P',  'N',  'G',
					    '\r', '\n', 0x1a, '\n', 0};
	static const unsigned char jpg[] = {0xff, 0xd8, 0xff, 0xe0};
	static const char webp[] = "RIFF\x10\0\0\0WEBPVP8 ";
	static const char svg1[] = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
	static const char svg2[] =
		"\xef\xbb\xbf  \n<?xml version=\"1.0\"?><!-- x --><svg/>";
	static const char xml[] = "<?xml version=\"1.0\"?><html/>";

	cr_assert_str_eq(org_image_type(png, sizeof(png)), "image/png");
	cr_assert_str_eq(org_image_type(jpg, sizeof(jpg)), "image/jpeg");
	cr_assert_str_eq(org_image_type((const unsigned char *)webp, 16),
			 "image/webp");
	cr_assert_str_eq(org_image_type((const unsigned char *)svg1,
					strlen(svg1)),
			 "image/svg+xml");
	cr_assert_str_eq(org_image_type((const unsigned char *)svg2,
					strlen(svg2)),
			 "image/svg+xml");
	cr_assert_null(org_image_type((const unsigned char *)xml, strlen(xml)));
	cr_assert_null(org_image_type((const unsigned char *)"GIF89a", 6));
	cr_assert_null(org_image_type(png, 4), "truncated PNG signature");
	cr_assert_null(org_image_type((const unsigned char *)"", 0));
}
