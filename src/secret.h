/*
 * Secrets: tokens, client secrets, authorization codes, PKCE verifiers.
 * They live in heap strings freed with spk_secret_free() (wipe, then free),
 * are compared in constant time and are made from getrandom() only. The
 * digests and encodings applied to them (SHA-256, base64, base64url) are
 * here too, in plain C: the fast program links this file and stays libc
 * only. Every string they return is malloc'd: free() it, or
 * spk_secret_free() when it encodes a secret.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* Wipe and free a NUL-terminated secret; accepts NULL. */
void spk_secret_free(char *s);
static inline void spk_secret_freep(char **p)
{
	spk_secret_free(*p);
	*p = NULL;
}
#define _cleanup_secret_ _cleanup_(spk_secret_freep)

/* Copy of s (NULL if s is NULL or on out-of-memory). */
char *spk_secret_dup(const char *s);

/* Wipe len bytes of buf (used for stack buffers and response bodies). */
void spk_wipe(void *buf, size_t len);

/*
 * Append n bytes of data to the growable buffer *buf (len bytes used, *cap
 * allocated; both 0 and NULL at first), keeping it NUL-terminated. It grows
 * by copying, never realloc, and wipes the old copy: a buffer that held a
 * token leaves none behind in freed memory. Free it with spk_secret_free().
 * -ENOMEM leaves the buffer as it was.
 */
int spk_secret_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n);

/* Constant-time comparison: time depends on the lengths only. */
bool spk_memeq_ct(const void *a, size_t alen, const void *b, size_t blen);

/* Fill buf with len bytes from getrandom(). */
int spk_random_bytes(void *buf, size_t len);

#define SPK_SHA256_LEN 32

/* SHA-256 (FIPS 180-4) of len bytes; the caller wipes ret when it is a secret's. */
void spk_sha256(const void *data, size_t len, unsigned char ret[SPK_SHA256_LEN]);
/* The same as 64 lowercase hex digits and a NUL. */
void spk_sha256_hex(const char *s, char ret[2 * SPK_SHA256_LEN + 1]);

/* Base64 with padding (RFC 4648 §4) of len bytes into a new string. */
char *spk_base64(const void *data, size_t len);

/* Base64url without padding (RFC 4648 §5) of len bytes into a new string. */
char *spk_base64url(const void *data, size_t len);

/* Decode base64url (padding optional) into a new NUL-terminated buffer. */
int spk_base64url_decode(const char *in, char **ret, size_t *ret_len);

/* A new random string of nbytes random bytes, base64url-encoded. */
int spk_random_token(size_t nbytes, char **ret);
