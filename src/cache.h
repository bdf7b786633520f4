/*
 * The runtime access-token cache: $XDG_RUNTIME_DIR/sparekey/PROFILE.token
 * (tmpfs, dir 0700, file 0600). It lets `sparekey token` answer a valid
 * token without loading the keyring, TLS or GLib. It holds the access
 * token only, never the refresh token, and is trusted only while the
 * config file it was made from is unchanged.
 *
 * This module depends on libc alone: the small front binary links it.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#define SPK_CACHE_MAX 16384

/* Identity of the config file when the entry was made. */
struct spk_config_stamp {
	char path[512];
	int64_t mtime_ns;
	int64_t size;
	uint64_t ino;
};

struct spk_cache_entry {
	int64_t expires_at;
	int64_t min_valid; /* the profile's margin in seconds (see flow.c's margin_of) */
	struct spk_config_stamp config;
	char *access_token; /* secret */
};

/* The stamp of the config file at path (an absent file has size -1). */
void spk_config_stamp_of(const char *path, struct spk_config_stamp *ret);
int spk_config_stamp_equal(const struct spk_config_stamp *a, const struct spk_config_stamp *b);

int spk_cache_write(const char *dir, const char *profile, const struct spk_cache_entry *e);
/* -ENOENT when absent; -EPERM/-EACCES when not ours/private; -EBADMSG when malformed. */
int spk_cache_read(const char *dir, const char *profile, struct spk_cache_entry *ret);
int spk_cache_remove(const char *dir, const char *profile);
void spk_cache_entry_done(struct spk_cache_entry *e);
