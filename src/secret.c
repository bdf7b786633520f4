#include "secret.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void spk_wipe(void *buf, size_t len)
{
	if (buf) {
		explicit_bzero(buf, len);
	}
}

void spk_secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

char *spk_secret_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

bool spk_memeq_ct(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char *x = a, *y = b;
	unsigned char diff = alen != blen;
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++) {
		diff |= x[i] ^ y[i];
	}
	return diff == 0;
}

int spk_random_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *spk_base64url(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = malloc(len / 3 * 4 + 5);
	size_t o = 0, i = 0;

	if (!out) {
		return NULL;
	}
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

static int b64url_value(char c)
{
	const char *p = c ? strchr(b64url_alphabet, c) : NULL;
	return p ? (int)(p - b64url_alphabet) : -1;
}

int spk_base64url_decode(const char *in, char **ret, size_t *ret_len)
{
	size_t len = strlen(in);
	while (len > 0 && in[len - 1] == '=') {
		len--;
	}
	if (len % 4 == 1) {
		return -EINVAL;
	}
	unsigned char *out = malloc(len / 4 * 3 + 3);
	if (!out) {
		return -ENOMEM;
	}
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value(in[i]);
		if (v < 0) {
			free(out);
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	out[o] = '\0';
	*ret = (char *)out;
	if (ret_len) {
		*ret_len = o;
	}
	return 0;
}

int spk_random_token(size_t nbytes, char **ret)
{
	unsigned char buf[64];

	if (nbytes > sizeof(buf)) {
		return -EINVAL;
	}
	int r = spk_random_bytes(buf, nbytes);
	if (r < 0) {
		return r;
	}
	char *s = spk_base64url(buf, nbytes);
	explicit_bzero(buf, sizeof(buf));
	if (!s) {
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}
