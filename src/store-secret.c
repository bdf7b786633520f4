/*
 * The Secret Service backend (libsecret). Attributes are public metadata:
 * only the profile name and the kind of item go there; the value is the
 * secret. MUST:
 *  - bound every call in time (a dead keyring must not hang a cron job);
 *  - never prompt: a locked collection is reported, not unlocked;
 *  - tell "no bus", "no Secret Service" and "locked" apart, because a
 *    lookup in a locked collection just finds nothing.
 */
#include <errno.h>
/* For the item-path calls of secret-paths.h, which libsecret keeps behind this macro. */
#define SECRET_API_SUBJECT_TO_CHANGE
#include <libsecret/secret.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "secret.h"
#include "store.h"
#include "store-check.h"

#define KEYRING_TIMEOUT_MS 5000

static const SecretSchema item_schema = {
	"org.sparekey.Grant",
	SECRET_SCHEMA_NONE,
	{
		{ "profile", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ NULL, 0 },
	},
	0,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
};

static const char file_store_hint[] =
	"run sparekey in your desktop session, or keep grants in a file: "
	"sparekey login PROFILE --store file";

/* A watchdog that cancels whatever keyring call runs past its deadline. */
struct deadline {
	GCancellable *cancel;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void *deadline_watch(void *arg)
{
	struct deadline *d = arg;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += KEYRING_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&d->lock);
	while (!d->done) {
		if (pthread_cond_timedwait(&d->cond, &d->lock, &until) == ETIMEDOUT) {
			g_cancellable_cancel(d->cancel);
			break;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

static void deadline_start(struct deadline *d)
{
	d->cancel = g_cancellable_new();
	d->done = false;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	if (pthread_create(&d->thread, NULL, deadline_watch, d) != 0) {
		d->thread = 0;
	}
}

static void deadline_stop(struct deadline *d)
{
	pthread_mutex_lock(&d->lock);
	d->done = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	if (d->thread) {
		pthread_join(d->thread, NULL);
	}
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	g_object_unref(d->cancel);
}

static void route_glib_log(const char *domain, GLogLevelFlags level, const char *message,
			   gpointer userdata)
{
	(void)level;
	(void)userdata;
	spk_log("%s: %s", domain ? domain : "glib", message);
}

/* Why there is no session bus, in the words of the variables involved. */
static const char *no_bus_cause(void)
{
	return spk_env_has_session_bus()
		       ? "DBUS_SESSION_BUS_ADDRESS does not work"
		       : "DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus "
			 "is missing";
}

static int keyring_locked(const char *profile, struct spk_error *err)
{
	return spk_error_set(
		err, SPK_ERR_TEMPFAIL, -EACCES,
		"%s: the keyring collection is locked. Unlock it (log in to the desktop "
		"once), then try again",
		profile);
}

static int keyring_failure(GError *gerr, const char *profile, const char *what,
			   struct spk_error *err)
{
	int r;
	if (g_error_matches(gerr, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		r = spk_error_set(err, SPK_ERR_TEMPFAIL, -ETIMEDOUT,
				  "%s: the keyring did not answer within %d s. Try again later; "
				  "if it keeps happening, %s",
				  profile, KEYRING_TIMEOUT_MS / 1000, file_store_hint);
	} else if (g_error_matches(gerr, SECRET_ERROR, SECRET_ERROR_IS_LOCKED)) {
		r = keyring_locked(profile, err);
	} else if (g_error_matches(gerr, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
		   g_error_matches(gerr, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER)) {
		r = spk_error_set(
			err, SPK_ERR_TEMPFAIL, -ENOENT,
			"%s: no Secret Service (keyring) runs on the session bus. Start "
			"gnome-keyring, or keep grants in a file: sparekey login %s --store "
			"file",
			profile, profile);
	} else {
		r = spk_error_set(err, SPK_ERR_TEMPFAIL, -EIO, "%s: cannot %s the keyring (%s)",
				  profile, what, gerr->message);
	}
	g_error_free(gerr);
	return r;
}

/*
 * The first open of the process, done by one thread while the others wait:
 * libsecret then shares that service and its encrypted session (one D-Bus
 * connection, one key exchange) with every later call, instead of each of
 * refresh --all's threads opening its own.
 */
static GMutex first_open_lock;
static gint first_open_done;

static int connect_service(const char *profile, struct deadline *d, SecretService **ret,
			   struct spk_error *err);

/* The Secret Service, or an error naming what is missing. */
static int open_service(const char *profile, struct deadline *d, SecretService **ret,
			struct spk_error *err)
{
	if (g_atomic_int_get(&first_open_done)) {
		return connect_service(profile, d, ret, err);
	}
	g_mutex_lock(&first_open_lock);
	int r = connect_service(profile, d, ret, err);
	/* Done even if it failed: the others then try on their own, at once. */
	g_atomic_int_set(&first_open_done, 1);
	g_mutex_unlock(&first_open_lock);
	return r;
}

static int connect_service(const char *profile, struct deadline *d, SecretService **ret,
			   struct spk_error *err)
{
	GError *gerr = NULL;

	if (!g_atomic_int_get(&first_open_done)) {
		/* Only the first open gets here, alone: no other thread is in GLib yet. */
		g_log_set_default_handler(route_glib_log, NULL);
	}
	/* cron, systemd and SSH sessions lack the variable but not the bus. */
	g_autofree char *fallback = spk_path_session_bus_fallback();
	if (fallback) {
		spk_log("keyring: using the session bus %s", fallback);
		g_setenv("DBUS_SESSION_BUS_ADDRESS", fallback, TRUE);
	}
	GDBusConnection *bus = g_bus_get_sync(G_BUS_TYPE_SESSION, d->cancel, &gerr);
	if (!bus) {
		if (g_error_matches(gerr, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			return keyring_failure(gerr, profile, "reach", err);
		}
		int r = spk_error_set(
			err, SPK_ERR_TEMPFAIL, -ENOTCONN,
			"%s: no D-Bus session bus to reach the keyring (%s). Either %s", profile,
			no_bus_cause(), file_store_hint);
		g_error_free(gerr);
		return r;
	}
	/* Held until libsecret has it too: letting go first would close it and connect twice. */
	SecretService *service =
		secret_service_get_sync(SECRET_SERVICE_OPEN_SESSION, d->cancel, &gerr);
	g_object_unref(bus);
	if (!service) {
		return keyring_failure(gerr, profile, "open", err);
	}
	g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(service), KEYRING_TIMEOUT_MS);
	*ret = service;
	return 0;
}

/* One bounded conversation with the Secret Service. */
struct keyring {
	struct deadline d;
	SecretService *service;
};

static int keyring_open(const char *profile, struct keyring *k, struct spk_error *err)
{
	k->service = NULL;
	deadline_start(&k->d);
	return open_service(profile, &k->d, &k->service, err);
}

static void keyring_close(struct keyring *k)
{
	if (k->service) {
		g_object_unref(k->service);
	}
	deadline_stop(&k->d);
}

/* A method call to the Secret Service on the service's own connection, bounded like the rest. */
static GVariant *keyring_call(struct keyring *k, const char *path, const char *interface,
			      const char *method, GVariant *params, const GVariantType *reply,
			      GError **gerr)
{
	GDBusProxy *proxy = G_DBUS_PROXY(k->service);
	return g_dbus_connection_call_sync(g_dbus_proxy_get_connection(proxy),
					   g_dbus_proxy_get_name(proxy), path, interface, method,
					   params, reply, G_DBUS_CALL_FLAGS_NO_AUTO_START,
					   KEYRING_TIMEOUT_MS, k->d.cancel, gerr);
}

/*
 * The value of the item at path, by Service.GetSecrets in our session. Not
 * secret_service_get_secret_for_dbus_path_sync: libsecret 0.20.5 never
 * frees the reply there (valgrind: "definitely lost", on every read).
 */
static SecretValue *get_secret_at(struct keyring *k, const char *path, GError **gerr)
{
	const char *session = secret_service_get_session_dbus_path(k->service);
	if (!session) {
		g_set_error_literal(gerr, G_IO_ERROR, G_IO_ERROR_FAILED, "no secret session");
		return NULL;
	}
	const char *paths[] = { path, NULL };
	GVariant *reply = keyring_call(k, g_dbus_proxy_get_object_path(G_DBUS_PROXY(k->service)),
				       "org.freedesktop.Secret.Service", "GetSecrets",
				       g_variant_new("(^aoo)", paths, session),
				       G_VARIANT_TYPE("(a{o(oayays)})"), gerr);
	if (!reply) {
		return NULL;
	}
	GVariant *secrets = g_variant_get_child_value(reply, 0);
	GVariant *secret = g_variant_lookup_value(secrets, path, G_VARIANT_TYPE("(oayays)"));
	SecretValue *value = secret ? secret_service_decode_dbus_secret(k->service, secret) : NULL;
	if (secret) {
		g_variant_unref(secret);
	}
	g_variant_unref(secrets);
	g_variant_unref(reply);
	if (!value) {
		/* Left out of the answer: locked since the search. */
		g_set_error_literal(gerr, SECRET_ERROR, SECRET_ERROR_IS_LOCKED,
				    "the item is locked");
	}
	return value;
}

/* Several unlocked items match (written by something else): the newest wins. */
static int load_newest(struct keyring *k, GHashTable *attrs, const char *profile, const char *kind,
		       SecretValue **ret, struct spk_error *err)
{
	GError *gerr = NULL;
	GList *items = secret_service_search_sync(k->service, &item_schema, attrs,
						  SECRET_SEARCH_ALL | SECRET_SEARCH_LOAD_SECRETS,
						  k->d.cancel, &gerr);
	if (gerr) {
		return keyring_failure(gerr, profile, "read from", err);
	}
	SecretItem *best = NULL;
	for (GList *l = items; l; l = l->next) {
		SecretItem *item = l->data;
		if (!secret_item_get_locked(item) &&
		    (!best || secret_item_get_modified(item) > secret_item_get_modified(best))) {
			best = item;
		}
	}
	*ret = best ? secret_item_get_secret(best) : NULL;
	g_list_free_full(items, g_object_unref);
	if (!best) {
		spk_log("keyring: no %s for %s", kind, profile);
		return -ENOENT;
	}
	return 0;
}

static int secret_load(const struct spk_profile *p, const char *kind, char **ret_value,
		       struct spk_error *err)
{
	const char *profile = p->name;
	struct keyring k;
	GError *gerr = NULL;
	g_auto(GStrv) unlocked = NULL, locked = NULL;
	SecretValue *value = NULL;
	int r = keyring_open(profile, &k, err);

	if (r < 0) {
		goto out;
	}
	GHashTable *attrs =
		secret_attributes_build(&item_schema, "profile", profile, "kind", kind, NULL);
	/*
	 * Item paths first, then one secret by path: the two calls libsecret's
	 * own lookup makes, without an item proxy (and its D-Bus round trips)
	 * per match. Unlike that lookup, a locked match is reported, never
	 * unlocked: it would prompt.
	 */
	if (!secret_service_search_for_dbus_paths_sync(k.service, &item_schema, attrs, k.d.cancel,
						       &unlocked, &locked, &gerr)) {
		r = keyring_failure(gerr, profile, "read from", err);
	} else if (unlocked && unlocked[0] && !unlocked[1]) {
		value = get_secret_at(&k, unlocked[0], &gerr);
		r = gerr ? keyring_failure(gerr, profile, "read from", err) : 0;
	} else if (unlocked && unlocked[0]) {
		r = load_newest(&k, attrs, profile, kind, &value, err);
	} else if (locked && locked[0]) {
		r = keyring_locked(profile, err);
	} else {
		spk_log("keyring: no %s for %s", kind, profile);
		r = -ENOENT;
	}
	g_hash_table_unref(attrs);
	if (r == 0) {
		const char *text = value ? secret_value_get_text(value) : NULL;
		char *copy = text ? strdup(text) : NULL;
		r = copy ? 0
			 : spk_error_set(err, SPK_ERR_TEMPFAIL, -EIO,
					 "%s: the keyring item for the %s has no text value",
					 profile, kind);
		if (copy) {
			*ret_value = copy;
		}
	}
	if (value) {
		secret_value_unref(value);
	}
out:
	keyring_close(&k);
	return r;
}

/*
 * Give the one existing item at path a new value with Item.SetSecret: it
 * costs gnome-keyring half the CPU of a CreateItem that replaces the item
 * (3.2 against 6.4 ms per store with 150 items, measured), and that CPU is
 * what bounds refresh --all.
 */
static gboolean set_secret_at(struct keyring *k, const char *path, SecretValue *sv, GError **gerr)
{
	GVariant *secret = secret_service_encode_dbus_secret(k->service, sv);
	if (!secret) {
		g_set_error_literal(gerr, G_IO_ERROR, G_IO_ERROR_FAILED, "no secret session");
		return FALSE;
	}
	GVariant *reply =
		keyring_call(k, path, "org.freedesktop.Secret.Item", "SetSecret",
			     g_variant_new("(@(oayays))", secret), G_VARIANT_TYPE("()"), gerr);
	if (reply) {
		g_variant_unref(reply);
	}
	return reply != NULL;
}

static int secret_save(const struct spk_profile *p, const char *kind, const char *value,
		       struct spk_error *err)
{
	const char *profile = p->name;
	struct keyring k;
	GError *gerr = NULL;
	g_auto(GStrv) unlocked = NULL, locked = NULL;
	char label[160];
	int r = keyring_open(profile, &k, err);

	if (r < 0) {
		goto out;
	}
	snprintf(label, sizeof(label), "sparekey %s for %s",
		 strcmp(kind, "grant") == 0 ? "grant" : "client secret", profile);
	GHashTable *attrs =
		secret_attributes_build(&item_schema, "profile", profile, "kind", kind, NULL);
	SecretValue *sv = secret_value_new(value, -1, "text/plain");
	gboolean ok = secret_service_search_for_dbus_paths_sync(
		k.service, &item_schema, attrs, k.d.cancel, &unlocked, &locked, &gerr);
	if (ok && unlocked && unlocked[0] && !unlocked[1]) {
		ok = set_secret_at(&k, unlocked[0], sv, &gerr);
	} else if (ok) {
		/* New, or several matches: replaces the item with these very attributes. */
		ok = secret_service_store_sync(k.service, &item_schema, attrs,
					       SECRET_COLLECTION_DEFAULT, label, sv, k.d.cancel,
					       &gerr);
	}
	secret_value_unref(sv);
	g_hash_table_unref(attrs);
	if (!ok) {
		r = gerr ? keyring_failure(gerr, profile, "write to", err)
			 : spk_error_set(err, SPK_ERR_TEMPFAIL, -EIO,
					 "%s: the keyring refused to store the %s", profile, kind);
		goto out;
	}
	spk_log("keyring: stored the %s for %s", kind, profile);
out:
	keyring_close(&k);
	return r;
}

static int secret_remove(const struct spk_profile *p, const char *kind, struct spk_error *err)
{
	const char *profile = p->name;
	struct keyring k;
	GError *gerr = NULL;
	int r = keyring_open(profile, &k, err);

	if (r < 0) {
		goto out;
	}
	GHashTable *attrs =
		secret_attributes_build(&item_schema, "profile", profile, "kind", kind, NULL);
	gboolean removed =
		secret_service_clear_sync(k.service, &item_schema, attrs, k.d.cancel, &gerr);
	g_hash_table_unref(attrs);
	if (gerr) {
		r = keyring_failure(gerr, profile, "delete from", err);
		goto out;
	}
	r = removed ? 0 : -ENOENT;
out:
	keyring_close(&k);
	return r;
}

/*
 * The service, and the default collection unlocked if there is one: what
 * storing a grant will need. Without a default collection the first store
 * makes one, so its absence is no failure.
 */
int spk_store_secret_check(const char *profile, struct spk_error *err)
{
	struct keyring k;
	GError *gerr = NULL;
	struct spk_error open_err = { 0 };
	int r = keyring_open(profile, &k, &open_err);

	/* Worded afresh for login: the cause only, and retrying cannot help. */
	if (r == -ENOTCONN) {
		r = spk_error_set(err, SPK_ERR_CONFIG, r,
				  "%s: no D-Bus session bus to reach the keyring (%s)", profile,
				  no_bus_cause());
	} else if (r == -ENOENT) {
		r = spk_error_set(err, SPK_ERR_CONFIG, r,
				  "%s: no Secret Service (keyring) runs on the session bus",
				  profile);
	} else if (r < 0) {
		r = spk_error_set(err, open_err.kind, r, "%s", open_err.msg);
	} else {
		SecretCollection *c =
			secret_collection_for_alias_sync(k.service, SECRET_COLLECTION_DEFAULT,
							 SECRET_COLLECTION_NONE, k.d.cancel, &gerr);
		if (gerr) {
			r = keyring_failure(gerr, profile, "reach", err);
		} else if (c && secret_collection_get_locked(c)) {
			r = keyring_locked(profile, err);
		}
		if (c) {
			g_object_unref(c);
		}
	}
	keyring_close(&k);
	if (r == 0) {
		spk_log("keyring: reachable for %s", profile);
	}
	return r;
}

const struct spk_store_backend spk_store_secret = {
	.name = "secret",
	.load = secret_load,
	.save = secret_save,
	.remove = secret_remove,
	.guard = &spk_store_local_guard,
};
