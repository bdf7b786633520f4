/*
 * Where things live, from the environment (read with secure_getenv), and
 * what a profile may be called. libc only: the front binary uses it too,
 * and the names here are the one place both programs learn them from.
 * Returned paths are malloc'd; NULL when the environment gives no answer.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* --config's default: $XDG_CONFIG_HOME/sparekey/config, else ~/.config/sparekey/config. */
char *spk_path_config_file(void);
/* $XDG_RUNTIME_DIR/sparekey (tmpfs, per login session), or NULL without one. */
char *spk_path_runtime_dir(void);
/* $XDG_STATE_HOME/sparekey, else ~/.local/state/sparekey; NULL without HOME. */
char *spk_path_state_dir(void);

/*
 * The state-directory files that stand between a refresh and its stored
 * result: PROFILE.rescue (the rescue journal: an answer not yet stored)
 * and PROFILE.inflight (a request sent by a worker, answer not yet safe).
 */
enum spk_state_file {
	SPK_STATE_JOURNAL,
	SPK_STATE_INFLIGHT,
};
/* The file's name in the state directory ("PROFILE.rescue"); NULL on out-of-memory. */
char *spk_path_state_name(const char *profile, enum spk_state_file which);
/* Its path, NULL without a state directory. */
char *spk_path_state_file(const char *profile, enum spk_state_file which);
/*
 * Does either wait for profile (or is there no state directory to tell)?
 * The fast `token` paths never answer then: the full program first settles it.
 */
bool spk_path_refresh_pending(const char *profile);

/*
 * The programs of this installation, each found next to the running one
 * (a build tree, or the same directory), else where it is installed: the
 * front (bindir), sparekey-cli and sparekey-worker (libexecdir). In buf.
 */
const char *spk_path_front(char *buf, size_t size);
const char *spk_path_cli(char *buf, size_t size);
const char *spk_path_worker(char *buf, size_t size);

/* Is DBUS_SESSION_BUS_ADDRESS set? */
bool spk_env_has_session_bus(void);
/*
 * The session bus for cron, systemd services and SSH sessions, where
 * DBUS_SESSION_BUS_ADDRESS is unset: "unix:path=$XDG_RUNTIME_DIR/bus" or
 * "unix:path=/run/user/UID/bus" when that socket exists. NULL when the
 * variable is set (nothing to do) or no such socket exists.
 */
char *spk_path_session_bus_fallback(void);

/*
 * A refresh lock handed over by the front ($SPAREKEY_LOCK_FD): the fd, or
 * -1. The variable is removed, so that no child inherits the claim.
 */
int spk_env_take_lock_fd(void);
/* The front's side: name fd in $SPAREKEY_LOCK_FD for the program it execs. */
int spk_env_put_lock_fd(int fd);

/*
 * exec --keep-fresh's token file, in the runtime directory: "PROFILE.PID.bearer"
 * (one per run, so that runs side by side never share one; not ".token",
 * which the cache of profile "PROFILE.PID" would be). NULL on out-of-memory.
 */
char *spk_path_token_file_name(const char *profile, long pid);

/*
 * KUBERNETES_EXEC_INFO, the JSON document kubectl gives its exec plugins
 * (borrowed from the environment), or NULL when unset or empty.
 */
const char *spk_env_kube_exec_info(void);

/* Profile names: 1..64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool spk_profile_name_valid(const char *name);
