/*
 * sparekey-worker: sends one request that spends a refresh token, for
 * sparekey-cli, detached from it (src/worker.h). sparekey-cli starts it
 * with the job on stdin; it is not for people to run.
 */
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "worker.h"

int main(void)
{
	if (isatty(STDIN_FILENO)) {
		fputs("sparekey-worker: started by sparekey, not by hand\n", stderr);
		return 64;
	}
	/* Tokens pass through here as they do through sparekey itself. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	struct rlimit no_core = { 0, 0 };
	(void)setrlimit(RLIMIT_CORE, &no_core);
	umask(077);
	return spk_worker_serve();
}
