/*
 * What passes between sparekey-cli and sparekey-worker (worker.h), for
 * worker.c and worker-serve.c only: a job and its answer, each JSON framed
 * by a 4-byte length; then, from the caller, SPK_WIRE_SETTLED once the
 * answer is stored. Starting sparekey-worker detached (spk_wire_spawn) and
 * the framing serve the etcd lease keeper too (store-etcd-keeper.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "grant.h"
#include "worker.h"

#define SPK_WIRE_MESSAGE_MAX (1024 * 1024)
/* The lock of a worker of its own. */
#define SPK_WIRE_LOCK_FD 3
/* The caller writes the job at once; a worker never waits long for it. */
#define SPK_WIRE_JOB_WAIT_MS 10000
/*
 * How long the worker waits for the caller to store the answer before it
 * stores it itself. The caller's store write is bounded by the keyring's
 * timeouts; this is only a backstop for a caller that hangs.
 */
#define SPK_WIRE_SETTLE_WAIT_MS 120000
/* The one byte that says: the answer is stored, nothing left to do. */
#define SPK_WIRE_SETTLED 'S'

/* What neither the caller's terminal nor a stop meant for the caller may end. */
extern const int spk_wire_shielded_signals[];
extern const size_t spk_wire_n_shielded;

/*
 * Start sparekey-worker with argv (argv[0] its name), detached from the
 * caller: a session and process group of its own, the shielded signals
 * blocked until it ignores them, stdin from in, stdout and stderr to
 * /dev/null, fds[i] (kept open) at fd 3 + i. 0 with its pid, or a negative errno.
 */
int spk_wire_spawn(char *const argv[], int in, const int *fds, size_t n_fds, pid_t *ret_pid);

/* All of buf, or a negative errno (-EPIPE: the other side is gone). */
int spk_wire_write_all(int fd, const void *buf, size_t len);
/* timeout_ms < 0: no limit. -EPIPE at end of input, -ETIMEDOUT. */
int spk_wire_read_all(int fd, void *buf, size_t len, int timeout_ms);
int spk_wire_send(int fd, const char *text);
/* *ret: the message, NUL-terminated (a secret). */
int spk_wire_receive(int fd, int timeout_ms, char **ret);

const char *spk_wire_op_name(enum spk_worker_op op);
/* The answer: the merged grant (g), or the error (e) when g is NULL. */
char *spk_wire_answer_to_json(const struct spk_grant *g, const struct spk_error *e);
/* 0 with a grant (refresh) or none (revoke), else the worker's error. */
int spk_wire_answer_from_json(const char *text, struct spk_grant *ret, struct spk_error *err);

/*
 * The shared worker (refresh --all) gets each job as one message on its
 * SOCK_SEQPACKET control socket: the job's socket and the profile's lock.
 * Receiving: -EPIPE once no more will come (or the socket fails), -EBADMSG
 * for a message without them (skip it).
 */
int spk_wire_send_job_fds(int control, int sock, int lock_fd);
/* n fds (at most SPK_WIRE_MAX_FDS) as one message; the same errors. */
#define SPK_WIRE_MAX_FDS 3
int spk_wire_send_fds(int control, const int *fds, size_t n);
int spk_wire_receive_fds(int control, int *ret_fds, size_t n);
int spk_wire_receive_job_fds(int control, int *ret_sock, int *ret_lock_fd);
