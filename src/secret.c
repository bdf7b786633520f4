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
static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 in one alphabet, padded with '=' to whole quanta or not at all. */
static char *base64_with(const char *alphabet, bool pad, const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = malloc(len / 3 * 4 + 5);
	size_t o = 0, i = 0;

	if (!out) {
		return NULL;
	}
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		if (pad) {
			out[o++] = '=';
		}
	}
	out[o] = '\0';
	return out;
}

char *spk_base64url(const void *data, size_t len)
{
	return base64_with(b64url_alphabet, false, data, len);
}

char *spk_base64(const void *data, size_t len)
{
	return base64_with(b64_alphabet, true, data, len);
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

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the primes. */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned n)
{
	return x >> n | x << (32 - n);
}

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], v[8];

	for (size_t i = 0; i < 16; i++) {
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	}
	for (size_t i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3;
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10;
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, h, sizeof(v));
	for (size_t i = 0; i < 64; i++) {
		uint32_t s1 = ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25);
		uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
		uint32_t t1 = v[7] + s1 + ch + sha256_k[i] + w[i];
		uint32_t s0 = ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22);
		uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
		memmove(v + 1, v, 7 * sizeof(*v));
		v[4] += t1;
		v[0] = t1 + s0 + maj;
	}
	for (size_t i = 0; i < 8; i++) {
		h[i] += v[i];
	}
	/* The schedule and the working state are derived from the (secret) message. */
	explicit_bzero(w, sizeof(w));
	explicit_bzero(v, sizeof(v));
}

void spk_sha256(const void *data, size_t len, unsigned char ret[SPK_SHA256_LEN])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const unsigned char *p = data;
	unsigned char last[128] = { 0 };
	size_t rest = len % 64, nlast = rest < 56 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t i = 0; i + 64 <= len; i += 64) {
		sha256_block(h, p + i);
	}
	/* The tail, a 1 bit, zeros, and the length in bits (big-endian). */
	if (rest > 0) {
		memcpy(last, p + len - rest, rest);
	}
	last[rest] = 0x80;
	for (size_t i = 0; i < 8; i++) {
		last[nlast - 1 - i] = (unsigned char)(bits >> (8 * i));
	}
	for (size_t i = 0; i < nlast; i += 64) {
		sha256_block(h, last + i);
	}
	for (size_t i = 0; i < 8; i++) {
		ret[4 * i] = (unsigned char)(h[i] >> 24);
		ret[4 * i + 1] = (unsigned char)(h[i] >> 16);
		ret[4 * i + 2] = (unsigned char)(h[i] >> 8);
		ret[4 * i + 3] = (unsigned char)h[i];
	}
	explicit_bzero(last, sizeof(last));
	explicit_bzero(h, sizeof(h));
}

void spk_sha256_hex(const char *s, char ret[2 * SPK_SHA256_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[SPK_SHA256_LEN];

	spk_sha256(s, strlen(s), digest);
	for (size_t i = 0; i < SPK_SHA256_LEN; i++) {
		ret[2 * i] = hex[digest[i] >> 4];
		ret[2 * i + 1] = hex[digest[i] & 15];
	}
	ret[2 * SPK_SHA256_LEN] = '\0';
	explicit_bzero(digest, sizeof(digest));
}

int spk_secret_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t grown = *cap ? *cap : 256;
		while (grown < *len + n + 1) {
			grown *= 2;
		}
		char *nb = malloc(grown);
		if (!nb) {
			return -ENOMEM;
		}
		if (*buf) {
			memcpy(nb, *buf, *len);
			spk_wipe(*buf, *cap);
			free(*buf);
		}
		*buf = nb;
		*cap = grown;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}
