#include "harden.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

void spk_harden(void)
{
	/* Tokens live in this process's memory: no core dumps, no ptrace by peers. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	struct rlimit no_core = { 0, 0 };
	(void)setrlimit(RLIMIT_CORE, &no_core);
	umask(077);
}
