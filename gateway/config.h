/* docket.conf: one INI file. Every key has a default, so no file is
 * needed; every key the program reads is declared in the schema
 * (config-schema.c), and one validator (config-check.c) checks the whole
 * file whenever it is read: by `docket config check`, serve, poll, deliver
 * and every other command, and at SIGHUP. A file that loads is one every
 * part of docket accepts. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct DkConfig DkConfig;

/* The configuration made of the embedded defaults only. Never fails. */
DkConfig *dk_config_new_default(void);

/* Reads path over the defaults and validates it. path NULL means
 * $DOCKET_CONFIG, or no file at all when that is unset. On error
 * (DK_ERROR_CONFIG) the message holds every problem found, one a line,
 * each "FILE:LINE: [section] key: why": a line that is not "[section]" or
 * "key = value", an unknown section or key (with the nearest known one), a
 * key set twice, a value of the wrong type or out of range, a value that
 * means nothing to docket (an address, a listen address, a URL, a file
 * that is missing or that others may read, a Sieve script that does not
 * compile, an SLA target...), and keys that contradict each other. */
DkConfig *dk_config_load(const char *path, GError **error);

/* Reads len bytes of docket.conf text over the defaults, as dk_config_load
 * does a file; name stands for the file in errors and dk_config_path(). A
 * NUL byte in the text is an error (DK_ERROR_CONFIG). */
DkConfig *dk_config_load_data(const char *data, gsize len, const char *name, GError **error);

/* [store] backend: where the tickets are kept. */
typedef enum {
	DK_STORE_BACKEND_SQLITE,     /* data_dir/docket.db, the default */
	DK_STORE_BACKEND_POSTGRESQL, /* [store] url, password_file (store-pg-conninfo.h) */
} DkStoreBackend;

DkStoreBackend dk_config_store_backend(const DkConfig *config);

/* The file the configuration came from, or NULL for the defaults. */
const char *dk_config_path(const DkConfig *config);

/* What a valid configuration still deserves to be told: settings that
 * weaken security (each named "insecure") and defaults that deliver
 * nothing anywhere (notifications written to a Maildir). NULL-terminated,
 * owned by the configuration; `docket config check` prints them and
 * `docket serve` logs them at start. */
const char *const *dk_config_notes(const DkConfig *config);

/* What the validator made of the configuration, kept with it so that it is
 * not made again (and is exactly what was checked): under "rules", the
 * compiled [rules] script (a DkRules, gateway/core/rules-apply.h). NULL
 * when there is none. Owned by the configuration. */
gpointer dk_config_get_derived(const DkConfig *config, const char *name);

/* The line of the file where key (or, key NULL, section) is written; the
 * section's line for a key left to its default; 0 when neither is in the
 * file. For errors found after loading. */
int dk_config_line(const DkConfig *config, const char *section, const char *key);

/* Typed getters. section/key must be in the schema (a programmer error
 * otherwise). For sections declared as "name:*", pass the full section
 * name, e.g. "imap:support". Strings belong to the configuration. */
const char *dk_config_get_string(const DkConfig *config, const char *section, const char *key);
gint64 dk_config_get_int(const DkConfig *config, const char *section, const char *key);
gboolean dk_config_get_bool(const DkConfig *config, const char *section, const char *key);
/* A comma-separated list, items trimmed, empty items dropped (an item of
 * a list of addresses, domains or listen addresses never holds white
 * space: the validator refuses "a@x b@x"). Free with g_strfreev. */
char **dk_config_get_list(const DkConfig *config, const char *section, const char *key);

/* The names of the sections "prefix:NAME" present in the file, e.g. the
 * IMAP accounts for prefix "imap". Free with g_strfreev. */
char **dk_config_get_instances(const DkConfig *config, const char *prefix);

/* The effective configuration as an INI text: every key with its value,
 * secrets masked. The caller frees it. */
char *dk_config_dump(const DkConfig *config);

void dk_config_free(DkConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkConfig, dk_config_free)

G_END_DECLS
