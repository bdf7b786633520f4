/*
 * Test-only fault points, compiled in only with -Dfault_injection=true
 * (never in a release build). $SPAREKEY_FAULT names the active one:
 *   kill-after-journal  SIGKILL right after a refresh answer is journaled
 *   kill-after-store    SIGKILL after the store write, before the journal goes
 *   fail-store          the store write after a refresh fails
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
