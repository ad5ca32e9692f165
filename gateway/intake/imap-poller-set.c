/* The IMAP pollers of several accounts, one thread each, started and
 * stopped together, and brought in line with a reloaded configuration:
 * an account added starts, one removed stops, one changed restarts. */
#include "gateway/intake/imap-poller.h"

#include "gateway/ops/secret-file.h"

#include <string.h>

/* One account's poller and its thread. */
typedef struct {
	DkImapPoller *poller;
	GCancellable *cancellable;
	GThread *thread;   /* NULL until started */
	char *fingerprint; /* the section's settings, to see a change */
} Entry;

struct DkImapPollerSet {
	GPtrArray *entries; /* of Entry* */
	gboolean started;
};

static void entry_stop(Entry *e)
{
	g_cancellable_cancel(e->cancellable);
	if (e->thread != NULL)
		g_thread_join(e->thread);
	e->thread = NULL;
}

static void entry_free(Entry *e)
{
	entry_stop(e);
	dk_imap_poller_free(e->poller);
	g_object_unref(e->cancellable);
	g_free(e->fingerprint);
	g_free(e);
}

static gpointer run_entry(gpointer data)
{
	Entry *e = data;
	dk_imap_poller_run(e->poller, e->cancellable);
	return NULL;
}

static void entry_start(Entry *e)
{
	e->thread = g_thread_new("imap", run_entry, e);
}

/* What identifies an account's settings: every key of its section, its
 * secrets (which the dump masks) and those of its files, and the store
 * the poller keeps its state in. */
static char *fingerprint(const DkConfig *config, const char *account)
{
	static const char *const secrets[] = {"password", "oauth_client_secret",
	                                      "oauth_refresh_token"};
	g_autofree char *section = g_strconcat("imap:", account, NULL);
	g_autofree char *header = g_strconcat("[", section, "]\n", NULL);
	g_autofree char *dump = dk_config_dump(config);
	const char *start = strstr(dump, header);
	const char *end = start ? strstr(start + 1, "\n[") : NULL;
	g_autofree char *own =
	    start ? g_strndup(start, end ? (gsize)(end - start) : strlen(start)) : g_strdup("");
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	for (guint i = 0; i < G_N_ELEMENTS(secrets); i++) {
		g_autofree char *key_file = g_strconcat(secrets[i], "_file", NULL);
		const char *path = dk_config_get_string(config, section, key_file);
		g_autofree char *from_file = *path ? dk_secret_file_read(path, NULL) : NULL;
		const char *value = dk_config_get_string(config, section, secrets[i]);
		g_checksum_update(sum, (const guchar *)value, -1);
		g_checksum_update(sum, (const guchar *)"\n", 1);
		if (from_file != NULL)
			g_checksum_update(sum, (const guchar *)from_file, -1);
		g_checksum_update(sum, (const guchar *)"\n", 1);
	}
	return g_strconcat(own, dk_config_get_string(config, "store", "data_dir"), "\n",
	                   g_checksum_get_string(sum), NULL);
}

static Entry *entry_new(const DkConfig *config, const char *account, DkPipeline *pipeline,
                        GError **error)
{
	DkImapPoller *poller = dk_imap_poller_new(config, account, pipeline, error);
	if (poller == NULL)
		return NULL;
	Entry *e = g_new0(Entry, 1);
	e->poller = poller;
	e->cancellable = g_cancellable_new();
	e->fingerprint = fingerprint(config, account);
	return e;
}

DkImapPollerSet *dk_imap_poller_set_new(const DkConfig *config, const char *const *accounts,
                                        DkPipeline *pipeline, GError **error)
{
	g_auto(GStrv) all = accounts == NULL ? dk_config_get_instances(config, "imap") : NULL;
	g_autoptr(DkImapPollerSet) set = g_new0(DkImapPollerSet, 1);
	set->entries = g_ptr_array_new_with_free_func((GDestroyNotify)entry_free);
	for (const char *const *a = accounts ? accounts : (const char *const *)all; *a != NULL;
	     a++) {
		Entry *e = entry_new(config, *a, pipeline, error);
		if (e == NULL)
			return NULL;
		g_ptr_array_add(set->entries, e);
	}
	return g_steal_pointer(&set);
}

guint dk_imap_poller_set_size(DkImapPollerSet *set)
{
	return set->entries->len;
}

DkImapPoller *dk_imap_poller_set_get(DkImapPollerSet *set, guint i)
{
	g_return_val_if_fail(i < set->entries->len, NULL);
	return ((Entry *)g_ptr_array_index(set->entries, i))->poller;
}

void dk_imap_poller_set_start(DkImapPollerSet *set)
{
	g_return_if_fail(!set->started);
	set->started = TRUE;
	for (guint i = 0; i < set->entries->len; i++)
		entry_start(g_ptr_array_index(set->entries, i));
}

gboolean dk_imap_poller_set_reload(DkImapPollerSet *set, const DkConfig *config,
                                   DkPipeline *pipeline, GError **error)
{
	g_auto(GStrv) wanted = dk_config_get_instances(config, "imap");
	gboolean ok = TRUE;
	/* Stop what was removed or changed. */
	for (guint i = set->entries->len; i-- > 0;) {
		Entry *e = g_ptr_array_index(set->entries, i);
		const char *name = dk_imap_poller_account(e->poller);
		g_autofree char *now = g_strv_contains((const char *const *)wanted, name)
		                           ? fingerprint(config, name)
		                           : NULL;
		if (now != NULL && strcmp(now, e->fingerprint) == 0)
			continue;
		g_message("imap account=%s event=%s", name, now ? "restarting" : "stopped");
		g_ptr_array_remove_index(set->entries, i);
	}
	/* Start what is new (or changed). */
	for (guint w = 0; wanted[w] != NULL; w++) {
		gboolean running = FALSE;
		for (guint i = 0; i < set->entries->len && !running; i++)
			running = strcmp(dk_imap_poller_account(dk_imap_poller_set_get(set, i)),
			                 wanted[w]) == 0;
		if (running)
			continue;
		GError *local = NULL;
		Entry *e = entry_new(config, wanted[w], pipeline, &local);
		if (e == NULL) {
			g_warning("imap account=%s event=not-started error=\"%s\"", wanted[w],
			          local->message);
			if (ok)
				g_propagate_error(error, local);
			else
				g_error_free(local);
			ok = FALSE;
			continue;
		}
		g_ptr_array_add(set->entries, e);
		g_message("imap account=%s event=started", wanted[w]);
		if (set->started)
			entry_start(e);
	}
	return ok;
}

void dk_imap_poller_set_stop(DkImapPollerSet *set)
{
	for (guint i = 0; i < set->entries->len; i++)
		g_cancellable_cancel(((Entry *)g_ptr_array_index(set->entries, i))->cancellable);
	for (guint i = 0; i < set->entries->len; i++)
		entry_stop(g_ptr_array_index(set->entries, i));
}

void dk_imap_poller_set_free(DkImapPollerSet *set)
{
	if (set == NULL)
		return;
	dk_imap_poller_set_stop(set);
	g_ptr_array_unref(set->entries);
	g_free(set);
}
