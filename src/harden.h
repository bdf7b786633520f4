/*
 * What every sparekey program does first: tokens pass through its memory,
 * so no core dumps, no ptrace by the user's other processes, and files it
 * creates readable by the user alone. libc only: the front runs it too.
 */
#pragma once

/* PR_SET_DUMPABLE 0, RLIMIT_CORE 0, umask 077. Cannot fail in a way that matters. */
void spk_harden(void);
