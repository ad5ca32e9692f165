/* docket.conf: one INI file read with GKeyFile. Every key has a default, so
 * no file is needed; every key the program reads is declared in the schema
 * in config.c, and a key the schema does not know is an error. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct DkConfig DkConfig;

/* The configuration made of the embedded defaults only. Never fails. */
DkConfig *dk_config_new_default(void);

/* Reads path over the defaults. path NULL means $DOCKET_CONFIG, or no file
 * at all when that is unset. Errors (DK_ERROR_CONFIG) name the file, the
 * line and the key: unknown section or key, a value of the wrong type or out
 * of range, a line that is not "key = value". */
DkConfig *dk_config_load(const char *path, GError **error);

/* Reads len bytes of docket.conf text over the defaults, as dk_config_load
 * does a file; name stands for the file in errors and dk_config_path(). A
 * NUL byte in the text is an error (DK_ERROR_CONFIG). */
DkConfig *dk_config_load_data(const char *data, gsize len, const char *name, GError **error);

/* The file the configuration came from, or NULL for the defaults. */
const char *dk_config_path(const DkConfig *config);

/* Typed getters. section/key must be in the schema (a programmer error
 * otherwise). For sections declared as "name:*", pass the full section
 * name, e.g. "imap:support". Strings belong to the configuration. */
const char *dk_config_get_string(const DkConfig *config, const char *section, const char *key);
gint64 dk_config_get_int(const DkConfig *config, const char *section, const char *key);
gboolean dk_config_get_bool(const DkConfig *config, const char *section, const char *key);
/* A comma-separated list, items trimmed, empty items dropped. Free with
 * g_strfreev. */
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
