/*
 * Test-only fault points, compiled in only with -Dfault_injection=true
 * (never in a release build). $SPAREKEY_FAULT names the active one:
 *   kill-after-journal  SIGKILL right after the worker handed back a
 *                       journaled refresh answer, before it is stored
 *   kill-after-store    SIGKILL after the store write, before the journal goes
 *   fail-store          the store write after a refresh fails
 *   kill-worker-after-send  the refresh worker dies right after the
 *                       provider answered (a power cut, for the worker)
 *   kill-after-revoke   SIGKILL in logout once the worker's revocation was
 *                       answered, before the grant is deleted here
 *   stop-after-send     the refresh worker stops itself (SIGSTOP) right after
 *                       the provider answered, before the answer is journaled
 *                       (a machine cut off; the test sends SIGCONT); with
 *                       store = etcd its lease keeper stops renewing the lease
 *                       while the in-flight record is there
 *   stop-after-journal  the refresh worker stops itself right after the
 *                       answer is in the rescue journal, before it is stored
 *                       (the test then takes the machine away)
 */
#pragma once

#include <stdbool.h>

#ifdef SPK_FAULT_INJECTION
bool spk_fault(const char *name);
#else
static inline bool spk_fault(const char *name)
{
	(void)name;
	return false;
}
#endif

/* A kill-* point: the process dies here when it is the active fault. */
void spk_fault_kill(const char *name);

/* A stop-* point: the process stops itself (SIGSTOP) here when it is the active fault. */
void spk_fault_stop(const char *name);
