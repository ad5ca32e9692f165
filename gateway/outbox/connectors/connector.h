/* Help-desk connectors: one small interface (a const table of functions per
 * system), a DkConnector made from a [connector:NAME] section, the HTTP
 * plumbing they share (libcurl, JSON in and out), and the outbox side that
 * runs rows of kind "connector" (outbox/connector-events.h writes them).
 *
 * Each connector's comments say where what it sends comes from, tagged:
 *   [SPEC] the vendor's published OpenAPI or Swagger document;
 *   [DOC]  the vendor's prose documentation;
 *   [3P]   seen only in third-party clients of the API;
 *   [INF]  inferred: a choice not verified against the vendor, kept in
 *          one place per connector so that it is easy to correct.
 * The mock servers in tests/connectors are written from the same sources,
 * not from the connector code.
 *
 * Configuration of [connector:NAME]:
 *   type             webhook | connectwise | incidentiq | ninjaone |
 *                    opspilot | omnidesk
 *   base_url         the system's API root (ConnectWise:
 *                    https://SITE/v4_6_release/apis/3.0; NinjaOne:
 *                    https://REGION.ninjarmm.com; OpsPilot: the portal's
 *                    origin, before /api/msp-portal; Omnidesk:
 *                    https://ACCOUNT.omnidesk.com), or the webhook URL
 *   credentials_file "name = value" lines, never logged nor dumped:
 *                    webhook: secret; connectwise: company, public_key,
 *                    private_key, client_id; incidentiq: token, site_id,
 *                    product_id (optional); ninjaone: client_id,
 *                    client_secret, token_url, scope (ninjaone.c);
 *                    opspilot, omnidesk: api_key
 *   queues           docket queues whose tickets go there ("*": all)
 *   timeout_seconds  per request (default 30)
 *   claim_seconds    how long a row being sent is claimed (0, default:
 *                    4 x timeout_seconds + 60)
 *   max_parallel     runners of its outbox lane: requests at once (default 4)
 *   ca_file          extra CA bundle; TLS verification is always on
 *   reference_prefix our reference is PREFIX-NUMBER (default "docket")
 *   board, company   ConnectWise board name and company identifier;
 *                    NinjaOne: board id searched for lost creates
 *   ticket_form      NinjaOne (read by its init)
 *   organisation_map domain=id items, "*" for other domains: the
 *                    requester's mail domain to the NinjaOne clientId,
 *                    OpsPilot customerId or Omnidesk brandID; without "*",
 *                    other domains get company (OpsPilot) or brand (Omnidesk)
 *   status_map, priority_map  ours=theirs items over the defaults (see
 *                    each connector's file for its defaults)
 *   location_id, issue_type_id, issue_category_id, issue_id,
 *   default_requester_id  Incident IQ: the GUIDs a new ticket needs, and
 *                    the user it is for when the sender is not a user
 *   brand, channel, note_type  Omnidesk: default brand id, the channel id
 *                    of mail (1), the message type of internal notes
 *   api_key_in       Omnidesk: query (apiKey=KEY on the URL) or header */
#pragma once

#include "gateway/config.h"
#include "gateway/store/store-outbox.h"
#include "gateway/outbox/worker.h"

#include <jansson.h>

struct curl_slist;

G_BEGIN_DECLS

typedef struct DkConnector DkConnector;

/* An attachment of the event's article: its bytes, or NULL when it is
 * larger than the connector's limit (then only named). */
typedef struct {
	char *filename; /* never NULL: "attachment" when it had none */
	char *content_type;
	gsize size;
	GBytes *data;
} DkConnectorFile;

void dk_connector_file_free(gpointer file);

/* What happened, as a connector sees it. */
typedef struct {
	const char *event; /* "ticket.created", "article.created", "ticket.updated" */
	const DkTicket *ticket;
	const DkArticle *article;  /* the article the event came with, or NULL */
	const char *field;         /* ticket.updated: "status", "priority" or "assignee" */
	const char *old_value;     /* ticket.updated; may be NULL */
	const char *new_value;     /* ticket.updated; may be NULL */
	const char *reference;     /* our reference: PREFIX-NUMBER */
	const char *remote_ticket; /* the system's id of the ticket, or NULL */
	gint64 outbox_id;          /* the row: stable over retries */
	gint64 since;              /* the row's creation (Unix seconds): whatever
	                            * the event made on the system is newer */
	const GPtrArray *files;    /* the article's attachments (DkConnectorFile),
	                            * empty when it has none */
} DkConnectorEvent;

/* What an agent did on the system, as the way back reads it: a public
 * comment (id and text; author the agent's address when the system gives
 * one) or the ticket's status, in our word. */
typedef struct {
	char *id;     /* the system's id of the comment; NULL for a status */
	char *text;   /* the comment's text; NULL for a status */
	char *author; /* or NULL */
	char *status; /* our status; NULL for a comment */
} DkConnectorChange;

/* A new change (copies of the strings given; NULL ones stay NULL). */
DkConnectorChange *dk_connector_change_new(const char *id, const char *text, const char *author,
                                           const char *status);
void dk_connector_change_free(gpointer change);

/* One system. Functions return FALSE with a DK_ERROR_TEMPORARY or
 * DK_ERROR_PERMANENT error (dk_connector_http sets them). Optional entries
 * are NULL. */
typedef struct {
	const char *type;
	/* Whether the system gives tickets ids that later events need. */
	gboolean remote_ids;
	/* Adds the authentication headers to a request. */
	gboolean (*auth)(DkConnector *c, struct curl_slist **headers, GError **error);
	/* Optional: a "name=value" query parameter (escaped) that every URL
	 * carries for authentication, or NULL; never shown in errors. */
	gboolean (*auth_query)(DkConnector *c, char **param_out, GError **error);
	/* Creates the ticket (with the event's article as its description);
	 * *remote_out the system's id (NULL when it gives none). */
	gboolean (*create_ticket)(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
	                          GError **error);
	/* Adds the article: its direction and visibility decide the kind. */
	gboolean (*add_comment)(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
	                        GError **error);
	/* Changes status, priority or assignee. */
	gboolean (*update)(DkConnector *c, const DkConnectorEvent *e, GError **error);
	/* Optional: the system's id of the ticket an earlier attempt at the
	 * event's create made (it carries e->reference and is newer than
	 * e->since); *remote_out NULL when there is none. */
	gboolean (*lookup)(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
	                   GError **error);
	/* Optional: the ids (char*, oldest first) of comments on the remote
	 * ticket that look like this event's (after a lost answer); the caller
	 * skips those already recorded for other articles. */
	gboolean (*find_comment)(DkConnector *c, const DkConnectorEvent *e, GPtrArray *ids_out,
	                         GError **error);
	/* Authenticates and reads vocabularies; appends findings to report,
	 * one line each; FALSE when misconfigured. Creates nothing. */
	gboolean (*check)(DkConnector *c, GString *report, GError **error);
	/* Optional, the way back: what agents did on the remote ticket since
	 * the watermark cursor (NULL: since it was made), oldest first, into
	 * changes_out (DkConnectorChange): public comments not written through
	 * the API by docket where the system tells them apart, and one status
	 * change when the ticket's status differs from the one the cursor saw.
	 * Internal notes are not read. *cursor_out the new watermark (opaque
	 * text kept by docket). Reads only. */
	gboolean (*read_back)(DkConnector *c, const char *remote_ticket, const char *cursor,
	                      GPtrArray *changes_out, char **cursor_out, GError **error);
	/* Optional: called once the event's ticket (ticket.created) or comment
	 * (article.created) is made or found after a lost answer, before it is
	 * recorded, with the remote ticket: sends the article's files that the
	 * request could not carry. Must be idempotent: a retry calls it again. */
	gboolean (*attach)(DkConnector *c, const DkConnectorEvent *e, const char *remote,
	                   GError **error);
	/* Optional: the system's limit of one attachment in bytes (0: sends
	 * none); attachment_max_bytes overrides it. */
	gint64 file_limit;
	/* Optional: reads the type's own keys of section into c->state
	 * (freed with c->state_free); DK_ERROR_CONFIG when they are wrong. */
	gboolean (*init)(DkConnector *c, const DkConfig *config, const char *section,
	                 GError **error);
} DkConnectorOps;

struct DkConnector {
	char *name;
	const DkConnectorOps *ops;
	char *base_url;          /* without a trailing slash */
	GHashTable *credentials; /* name -> value */
	char **queues;
	gint64 timeout_seconds;
	gint64 claim_seconds; /* 0: from timeout_seconds */
	char *ca_file;        /* or NULL */
	char *reference_prefix;
	char *board, *company;  /* "" when unset */
	GHashTable *status_map; /* ours -> theirs, defaults filled in */
	GHashTable *priority_map;
	gint64 retry_after;     /* seconds from the last 429/503, 0 when none */
	const DkConfig *config; /* borrowed: outlives the connector */
	gpointer state;         /* the type's own cache (ops->init may set it), or NULL */
	GDestroyNotify state_free;
	gint64 rate_reset; /* X-RateLimit-Reset of the last answer, or 0 */
};

/* The connector of [connector:NAME]; DK_ERROR_CONFIG when the section is
 * missing or incomplete or its credentials cannot be read. */
DkConnector *dk_connector_new(const DkConfig *config, const char *name, GError **error);
void dk_connector_free(DkConnector *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkConnector, dk_connector_free)

/* A credential by name, or NULL. */
const char *dk_connector_credential(const DkConnector *c, const char *name);

/* Our value's name in the system: the map's entry, else value itself. */
const char *dk_connector_map(GHashTable *map, const char *value);

/* One JSON request to base_url + path (path an absolute http(s) URL: to
 * it; body NULL: none; an extra Content-Type replaces the JSON one). 2xx:
 * TRUE, the parsed response in *response_out (NULL when empty or not JSON;
 * may be NULL to ignore it). Transport failures, timeouts, 408, 429 and 5xx are
 * DK_ERROR_TEMPORARY (c->retry_after from Retry-After, RFC 9110 section
 * 10.2.3, or on a 429 without it from X-RateLimit-Reset); other statuses
 * DK_ERROR_PERMANENT with the body in the message. extra: more headers,
 * NULL-terminated, or NULL. */
gboolean dk_connector_http(DkConnector *c, const char *method, const char *path, const char *body,
                           const char *const *extra, json_t **response_out, GError **error);

/* The article's new text, "(no text)" when it has none or a is NULL. */
const char *dk_connector_text(const DkArticle *a);

/* The integer "id" member of o as text (free it), or NULL. */
char *dk_connector_id(const json_t *o);

/* *remote_out the id of an answer; DK_ERROR_PERMANENT when it has none. */
gboolean dk_connector_take_id(const DkConnector *c, const json_t *reply, char **remote_out,
                              GError **error);

/* The object's member, an integer or a non-empty string, as a new
 * string; NULL when it is neither. */
char *dk_connector_member_id(const json_t *object, const char *member);

/* dk_connector_http with a body that may hold any byte. */
gboolean dk_connector_http_bytes(DkConnector *c, const char *method, const char *path, GBytes *body,
                                 const char *const *extra, json_t **response_out, GError **error);

/* The limit of one attachment: attachment_max_bytes when set, else
 * system_default; 0 (no files at all) when system_default is. */
gint64 dk_connector_file_limit(const DkConnector *c, gint64 system_default);

/* A line "(not sent: NAME, N bytes, over the limit of L bytes)" for each
 * file over limit (or not loaded), or with limit 0 "(not sent: NAME, N
 * bytes: the system takes no files from docket)" for each file, each after
 * a newline; "" when none. */
char *dk_connector_files_left_out(const GPtrArray *files, gint64 limit);

/* multipart/form-data (RFC 7578), built part by part into out: a field
 * (content_type NULL: none named), a file part (its name quoted, quotes
 * and line breaks replaced), and the closing boundary, which hands out
 * over as the body. */
void dk_connector_form_field(GByteArray *out, const char *boundary, const char *name,
                             const char *content_type, const char *value);
void dk_connector_form_file(GByteArray *out, const char *boundary, const char *name,
                            const DkConnectorFile *f);
GBytes *dk_connector_form_end(GByteArray *out, const char *boundary);

/* dk_connector_http with body (or NULL) serialised compactly. */
gboolean dk_connector_http_json(DkConnector *c, const char *method, const char *path,
                                const json_t *body, json_t **response_out, GError **error);

/* The versioned JSON event (README.md, "Connectors"): version 1, event,
 * id (stable over retries), reference, ticket, article (or absent),
 * change (ticket.updated). */
json_t *dk_connector_event_json(const DkConnector *c, const DkConnectorEvent *e);

/* A vocabulary word: ours and the system's default for it. */
typedef struct {
	const char *ours, *theirs;
} DkConnectorWord;

/* A system's words for one field ("status": status_map overrides the
 * defaults; "priority": priority_map), and every word the system knows. */
typedef struct {
	const char *field;
	const DkConnectorWord *defaults;
	gsize n;
	const char *const *known; /* NULL-terminated */
} DkConnectorVocabulary;

/* The system's word for ours: the map's entry, else the default, else
 * NULL (ours has no word there: leave the system's value alone). */
const char *dk_connector_word(const DkConnector *c, const DkConnectorVocabulary *v,
                              const char *ours);

/* Our words whose system word is theirs, comma-joined in the order of the
 * defaults (as DkConnectorChange's status wants them), or NULL. */
char *dk_connector_words_back(const DkConnector *c, const DkConnectorVocabulary *v,
                              const char *theirs);

/* Whether every word the defaults and maps of both vocabularies give is
 * known; appends a line to report for each that is not. */
gboolean dk_connector_words_known(const DkConnector *c, const DkConnectorVocabulary *status,
                                  const DkConnectorVocabulary *priority, GString *report);

/* A key of the connector's section, its default when unset; borrowed
 * from the configuration. */
const char *dk_connector_setting(const DkConnector *c, const char *key);
gint64 dk_connector_setting_int(const DkConnector *c, const char *key);

/* A list key of "name=value" items as a new table, name -> value. */
GHashTable *dk_connector_setting_map(const DkConnector *c, const char *key);

/* The organisation id that organisation_map gives the address's domain
 * (compared without regard to case), else its "*" entry, else fallback;
 * NULL when that is empty. Free with g_free. */
char *dk_connector_for_domain(const DkConnector *c, const char *address, const char *fallback);

/* The operations of a type, or NULL. */
const DkConnectorOps *dk_connector_ops(const char *type);
extern const DkConnectorOps dk_connector_webhook;
extern const DkConnectorOps dk_connector_connectwise;
extern const DkConnectorOps dk_connector_incidentiq;
extern const DkConnectorOps dk_connector_ninjaone;
extern const DkConnectorOps dk_connector_opspilot;
extern const DkConnectorOps dk_connector_omnidesk;

/* The connectors of a configuration, by name. */
typedef struct DkConnectors DkConnectors;
DkConnectors *dk_connectors_new(const DkConfig *config, GError **error);
void dk_connectors_free(DkConnectors *set);

/* What one pass of the way back did. */
typedef struct {
	guint tickets;  /* remote tickets read */
	guint comments; /* comments that became replies */
	guint statuses; /* status changes mirrored */
	guint skipped;  /* changes docket could not take (reason logged) */
	guint failed;   /* tickets whose reading failed (retried next pass) */
} DkReadBackStats;

/* The way back for connector name (NULL: every connector with poll_seconds
 * set): for each of its tickets that is not closed and has no row still
 * to go there, reads what agents did since the stored watermark and, in
 * one transaction per ticket, turns each public comment into a reply to
 * the customer (dk_desk_reply: mailed through the outbox, threaded like
 * any reply), mirrors the status (dk_desk_set_status, by
 * "connector:NAME"), records the comment's remote id (so it is taken once
 * and never sent back) and the new watermark. A reading that fails is
 * logged, counted and tried again next pass; store errors are returned. */
gboolean dk_connectors_read_back(DkConnectors *set, const DkConfig *config, DkStore *store,
                                 const char *name, gint64 now, DkReadBackStats *stats,
                                 GError **error);

/* `docket serve`'s way back: a thread that runs dk_connectors_read_back
 * for each connector with poll_seconds set, every poll_seconds, on its own
 * store connection (config is borrowed and must outlive it). Without such
 * a connector it starts no thread. */
typedef struct DkReadBackWorker DkReadBackWorker;
DkReadBackWorker *dk_read_back_start(const DkConfig *config);
/* Stops it between passes and frees it. */
void dk_read_back_stop(DkReadBackWorker *w);

/* The author docket gives the changes it mirrors from connector c. */
char *dk_connector_origin(const DkConnector *c);

/* The connector called name in the set, or NULL (not configured, or
 * broken: see dk_connectors_new). */
DkConnector *dk_connectors_get(DkConnectors *set, const char *name);

/* Performs one due "connector" row: claims it, runs the event, records
 * the remote ids, and marks it done, deferred (backoff, or Retry-After)
 * or failed, with an event on the ticket. A ticket's rows go in order;
 * when its create failed for good, the later ones are held (state held,
 * a "connector_held" event) until the create is retried. */
gboolean dk_connectors_run_row(DkConnectors *set, const DkConfig *config, DkStore *store,
                               const DkOutboxRow *row, gint64 now, DkOutboxStats *stats,
                               GError **error);

G_END_DECLS
