/*
 * sparekey-worker: sends one request that spends a refresh token, for
 * sparekey-cli, detached from it (src/worker.h). sparekey-cli starts it
 * with the job on stdin (with --many: the jobs of refresh --all, each
 * handed over with its socket and lock); with --keeper, the etcd lease
 * keeper of a lock (src/store-etcd.h). It is not for people to run.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harden.h"
#include "store-etcd.h"
#include "worker.h"

int main(int argc, char **argv)
{
	if (isatty(STDIN_FILENO)) {
		fputs("sparekey-worker: started by sparekey, not by hand\n", stderr);
		return 64;
	}
	/* Tokens pass through here as they do through sparekey itself. */
	spk_harden();
	if (argc == 2 && strcmp(argv[1], "--keeper") == 0) {
		return spk_store_etcd_keeper_serve();
	}
	return argc == 2 && strcmp(argv[1], "--many") == 0 ? spk_worker_serve_many()
							   : spk_worker_serve();
}
