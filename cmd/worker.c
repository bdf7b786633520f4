/*
 * sparekey-worker: sends one request that spends a refresh token, for
 * sparekey-cli, detached from it (src/worker.h). sparekey-cli starts it
 * with the job on stdin (with --many: the jobs of refresh --all, each
 * handed over with its socket and lock); it is not for people to run.
 */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "worker.h"

int main(int argc, char **argv)
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
	return argc == 2 && strcmp(argv[1], "--many") == 0 ? spk_worker_serve_many()
							 : spk_worker_serve();
}
