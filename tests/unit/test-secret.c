/* The digests and encodings of the secrets module, against GLib's and FIPS 180-4's answers. */
#include <stdio.h>
#include <glib.h>
#include <string.h>

#include "secret.h"

static void test_sha256_vectors(void)
{
	char hex[2 * SPK_SHA256_LEN + 1];

	spk_sha256_hex("", hex);
	g_assert_cmpstr(hex, ==,
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	spk_sha256_hex("abc", hex);
	g_assert_cmpstr(hex, ==,
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	spk_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", hex);
	g_assert_cmpstr(hex, ==,
			"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* Every tail length around the block and padding boundaries. */
static void test_sha256_lengths(void)
{
	unsigned char data[300], digest[SPK_SHA256_LEN];

	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] = (unsigned char)(i * 7 + 3);
	}
	for (size_t len = 0; len <= sizeof(data); len++) {
		g_autofree char *want = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
		char got[2 * SPK_SHA256_LEN + 1];
		spk_sha256(data, len, digest);
		for (size_t i = 0; i < SPK_SHA256_LEN; i++) {
			g_snprintf(got + 2 * i, 3, "%02x", digest[i]);
		}
		g_assert_cmpstr(got, ==, want);
	}
}

static void test_base64(void)
{
	const char *in = "user%3Aname:s3cr%2Bt?>";

	for (size_t len = 0; len <= strlen(in); len++) {
		g_autofree char *want = g_base64_encode((const guchar *)in, len);
		char *got = spk_base64(in, len);
		g_assert_cmpstr(got, ==, want);
		free(got);
	}
	char *url = spk_base64url("\xfb\xff", 2);
	g_assert_cmpstr(url, ==, "-_8");
	free(url);
}

/* Growing past the first allocation keeps every byte, in order, NUL-terminated. */
static void test_append(void)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	GString *want = g_string_new(NULL);

	for (int i = 0; i < 200; i++) {
		char piece[16];
		int n = snprintf(piece, sizeof(piece), "%d,", i);
		g_assert_cmpint(spk_secret_append(&buf, &len, &cap, piece, (size_t)n), ==, 0);
		g_string_append(want, piece);
	}
	g_assert_cmpuint(len, ==, want->len);
	g_assert_cmpuint(cap, >, len);
	g_assert_cmpstr(buf, ==, want->str);
	g_assert_cmpint(spk_secret_append(&buf, &len, &cap, "", 0), ==, 0);
	g_assert_cmpstr(buf, ==, want->str);
	spk_secret_free(buf);
	g_string_free(want, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/secret/sha256/vectors", test_sha256_vectors);
	g_test_add_func("/secret/sha256/lengths", test_sha256_lengths);
	g_test_add_func("/secret/base64", test_base64);
	g_test_add_func("/secret/append", test_append);
	return g_test_run();
}
