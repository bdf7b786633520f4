#include "stop.h"

#include <pthread.h>

#include "log.h"
#include "macro.h"

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
static volatile sig_atomic_t noted;

static void note_stop(int sig)
{
	noted = sig;
}

void spk_stop_hold(struct spk_stop_hold *h)
{
	sigset_t blocked;

	h->active = false;
	if (pthread_sigmask(SIG_BLOCK, NULL, &blocked) != 0 || sigismember(&blocked, SIGTERM)) {
		return;
	}
	/* SA_RESTART: a read or poll under way goes on rather than failing. */
	struct sigaction hold = { .sa_handler = note_stop, .sa_flags = SA_RESTART };
	sigemptyset(&hold.sa_mask);
	noted = 0;
	for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++) {
		sigaction(stop_signals[i], &hold, &h->old[i]);
	}
	h->active = true;
}

void spk_stop_release(struct spk_stop_hold *h)
{
	if (!h->active) {
		return;
	}
	h->active = false;
	for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++) {
		sigaction(stop_signals[i], &h->old[i], NULL);
	}
	if (noted) {
		spk_log("signal %d held back until the refreshed grant was safe; raised now",
			(int)noted);
		raise(noted);
	}
}
