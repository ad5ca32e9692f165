/* What the three files of the configuration module share: the schema
 * (config-schema.c), the reader (config.c) and the validator
 * (config-check.c). Nothing outside them includes this. */
#pragma once

#include "gateway/config.h"

G_BEGIN_DECLS

typedef enum {
	DK_CONF_STRING,
	DK_CONF_INT,  /* a plain integer */
	DK_CONF_SIZE, /* bytes, with an optional K, M or G suffix */
	DK_CONF_BOOL,
	DK_CONF_LIST, /* comma-separated */
	DK_CONF_ENUM, /* one of choices, separated by | */
} DkConfType;

/* What a value means beyond its type: how config-check.c checks it. An
 * empty value is never checked here (it means the default, or "off");
 * where a value is required, a rule of its section says so. */
typedef enum {
	DK_CHECK_NONE,
	DK_CHECK_ADDRESS,      /* one mail address */
	DK_CHECK_ADDRESSES,    /* a list of mail addresses */
	DK_CHECK_RECIPIENTS,   /* a list of addresses and *@domain */
	DK_CHECK_DOMAIN,       /* one domain name */
	DK_CHECK_DOMAINS,      /* a list of domain names */
	DK_CHECK_HOST,         /* a host name or an IP address */
	DK_CHECK_LISTEN,       /* a list of IP:PORT, [IPv6]:PORT, unix:PATH */
	DK_CHECK_INET,         /* one IP:PORT or [IPv6]:PORT */
	DK_CHECK_MODE,         /* an octal file mode */
	DK_CHECK_GROUP,        /* a group of the system */
	DK_CHECK_CHARSET,      /* a charset iconv knows */
	DK_CHECK_WORD,         /* no white space */
	DK_CHECK_REGEX,        /* a GRegex with a capture group */
	DK_CHECK_SIEVE,        /* a Sieve script file that compiles */
	DK_CHECK_SLA_TARGET,   /* FIRST/RESOLUTION or none */
	DK_CHECK_HOURS,        /* business hours items */
	DK_CHECK_TIMEZONE,     /* an IANA zone */
	DK_CHECK_DATES,        /* YYYY-MM-DD items */
	DK_CHECK_DATES_FILE,   /* a file of dates */
	DK_CHECK_FILE,         /* a regular file docket can read */
	DK_CHECK_SECRET_FILE,  /* the same, and no other user may read it */
	DK_CHECK_DIR,          /* a directory */
	DK_CHECK_SMTP_URL,     /* smtp:// or smtps:// with a host */
	DK_CHECK_HTTP_URL,     /* https://, or http:// where the URL policy allows */
	DK_CHECK_STATUS_MAP,   /* ours=theirs, ours a ticket status */
	DK_CHECK_PRIORITY_MAP, /* ours=theirs, ours a ticket priority */
	DK_CHECK_FOLDERS,      /* IMAP folder names */
	DK_CHECK_PG_URL,       /* postgresql://, no password in it (config-store.c) */
} DkConfCheck;

typedef struct {
	const char *section; /* "name" or "name:*" for one section per instance */
	const char *key;
	DkConfType type;
	const char *value; /* the default */
	gint64 min, max;   /* for INT and SIZE */
	const char *choices;
	gboolean secret; /* masked in dumps */
	DkConfCheck check;
} DkConfKey;

/* The schema: every key docket reads. */
extern const DkConfKey dk_conf_schema[];
extern const gsize dk_conf_schema_len;

/* Whether section ("imap:support") is one of pattern ("imap:*", or a
 * plain name). */
gboolean dk_conf_section_matches(const char *pattern, const char *section);

/* The entry of key in section (key NULL: any key of the section, to know
 * whether the section exists), or NULL. */
const DkConfKey *dk_conf_schema_find(const char *section, const char *key);

/* The known key of section nearest to key in spelling, or the section
 * that has key when section does not; NULL when nothing is near. Returns
 * text for a message, e.g. "did you mean “recipients”?"; the caller
 * frees it. */
char *dk_conf_schema_suggest_key(const char *section, const char *key);

/* The same for an unknown section name. */
char *dk_conf_schema_suggest_section(const char *section);

struct DkConfig {
	char *path;
	GKeyFile *values;    /* the effective values, defaults filled in */
	GHashTable *lines;   /* "section\nkey" (or "section") -> line number */
	GPtrArray *notes;    /* of char*, NULL-terminated */
	GHashTable *derived; /* name -> what the validator made (dk_config_get_derived) */
	GHashTable *cache;   /* "section\nkey" -> its value and type (config.c): GKeyFile
	                      * only hands out copies */
	GMutex lock;         /* over cache: threads (the outbox lanes) read at once */
};

/* Where the validator collects its findings: every error at once. */
typedef struct {
	const DkConfig *config;
	GArray *errors; /* of DkConfError, sorted by line at the end */
} DkConfReport;

typedef struct {
	int line;
	guint order; /* in which it was found: the order within a line */
	char *text;
} DkConfError;

/* Adds an error "FILE:LINE: [section] key: why" (key NULL: "[section]: why";
 * section NULL: "FILE:LINE: why"). */
void dk_conf_report(DkConfReport *r, int line, const char *section, const char *key,
                    const char *format, ...) G_GNUC_PRINTF(5, 6);

/* The same at the line where key (or section) stands in the file, or the
 * section's line when the key is not written there. */
void dk_conf_report_key(DkConfReport *r, const char *section, const char *key, const char *format,
                        ...) G_GNUC_PRINTF(4, 5);

/* Checks the meaning of every value and the rules between keys; reports
 * into r and adds notes to config (config-rules.c). */
void dk_conf_check(DkConfig *config, DkConfReport *r);

/* Checks the meaning of every value by its schema entry's check
 * (config-check.c). */
void dk_conf_check_values(DkConfig *config, DkConfReport *r);

/* A domain name: dot-separated labels of letters, digits and hyphens (or
 * UTF-8). */
gboolean dk_conf_domain_ok(const char *domain);

/* Why address is not one plain mail address (local@domain), or NULL. */
char *dk_conf_address_why(const char *address);

/* Keeps data (freed with destroy) as what the validator made under name. */
void dk_conf_set_derived(DkConfig *config, const char *name, gpointer data, GDestroyNotify destroy);

/* A note for `docket config check` and the start of `docket serve`. */
void dk_conf_note(DkConfig *config, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* Whether the file sets section's key (else it has its default). */
gboolean dk_conf_is_set(const DkConfig *config, const char *section, const char *key);

/* The text of any key's value, whatever its type. */
const char *dk_conf_raw(const DkConfig *config, const char *section, const char *key);

/* Why url is not a PostgreSQL URL docket accepts (not postgresql://, a
 * password in it, a bad host or parameter), or NULL (config-store.c). */
char *dk_conf_pg_url_why(const char *url);

/* The rules of [store] backend = postgresql: url required, TLS that
 * proves the server unless insecure_tls, the keys unused with sqlite
 * (config-store.c). */
void dk_conf_check_store_backend(DkConfig *config, DkConfReport *r);

/* Parses a SIZE value. */
gboolean dk_conf_parse_size(const char *s, gint64 *out);

G_END_DECLS
