#include "fault.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#ifdef SPK_FAULT_INJECTION
bool spk_fault(const char *name)
{
	const char *active = secure_getenv("SPAREKEY_FAULT");
	return active && strcmp(active, name) == 0;
}
#endif

void spk_fault_kill(const char *name)
{
	if (spk_fault(name)) {
		raise(SIGKILL);
	}
}

void spk_fault_stop(const char *name)
{
	if (spk_fault(name)) {
		raise(SIGSTOP);
	}
}
