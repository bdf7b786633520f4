/*
 * Libraries loaded on first use. libcurl and libmicrohttpd (with OpenSSL,
 * GnuTLS, Kerberos, LDAP… behind them) cost several milliseconds of
 * dynamic linking and library constructors; a `token` answered from the
 * keyring needs neither, so http.c and loopback.c open them only when they
 * are about to talk to the network.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct spk_dl_symbol {
	const char *name;
	void **slot; /* receives the address; a function pointer, cast */
};

struct spk_dl_library {
	const char *soname;
	const char *package; /* the Debian package that ships it, for the message */
	const struct spk_dl_symbol *symbols;
	size_t n_symbols;
	bool open; /* set by spk_dl_open() */
};

/*
 * Open lib->soname (RTLD_NOW) and resolve every symbol into its slot,
 * once; later calls return 0 at once. On failure err names the library
 * and the package to reinstall. The library stays loaded for good.
 */
int spk_dl_open(struct spk_dl_library *lib, struct spk_error *err);

/* One table row: a function pointer field `name` resolving symbol "prefix##name". */
#define SPK_DL_SYMBOL(table, prefix, field) \
	{ \
#prefix #field, (void **)&(table).field \
	}
