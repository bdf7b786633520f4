/*
 * Start N copies of a command at the same instant and time them, for
 * sparekey's concurrency benchmark. All N children are forked first and
 * wait on a pipe; closing it releases them together, each then execs the
 * command with stdout and stderr in OUTDIR/I.out and OUTDIR/I.err. The
 * clock runs from the release to the exit of the last child.
 *
 * Usage: fanout N OUTDIR COMMAND [ARG...]
 * Prints one line: "wall_ms=W failed=F statuses=S1,S2,..." (exit 0), or
 * exits 70 on a setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_N 1000

int main(int argc, char **argv)
{
	int gate[2];
	pid_t pids[MAX_N];
	int statuses[MAX_N];

	if (argc < 4) {
		fprintf(stderr, "usage: fanout N OUTDIR COMMAND [ARG...]\n");
		return 64;
	}
	int n = atoi(argv[1]);
	if (n < 1 || n > MAX_N || pipe(gate) < 0) {
		return 70;
	}
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fanout: fork");
			return 70;
		}
		if (pids[i] == 0) {
			char path[4096], c;
			close(gate[1]);
			snprintf(path, sizeof(path), "%s/%d.out", argv[2], i);
			int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			snprintf(path, sizeof(path), "%s/%d.err", argv[2], i);
			int err = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			int in = open("/dev/null", O_RDONLY);
			if (out < 0 || err < 0 || in < 0) {
				_exit(70);
			}
			while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
			}
			close(gate[0]);
			dup2(in, 0);
			dup2(out, 1);
			dup2(err, 2);
			execvp(argv[3], argv + 3);
			_exit(127);
		}
	}
	close(gate[0]);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	close(gate[1]); /* go */
	int failed = 0;
	for (int done = 0; done < n;) {
		int ws;
		pid_t p = wait(&ws);
		if (p < 0) {
			if (errno == EINTR) {
				continue;
			}
			break;
		}
		for (int i = 0; i < n; i++) {
			if (pids[i] == p) {
				statuses[i] = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
				failed += statuses[i] != 0;
				done++;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("wall_ms=%.3f failed=%d statuses=", ms, failed);
	for (int i = 0; i < n; i++) {
		printf("%s%d", i ? "," : "", statuses[i]);
	}
	printf("\n");
	return 0;
}
