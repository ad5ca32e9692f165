/* docket's Sieve (RFC 5228) engine: compile a script once, run it for each
 * message against the normalised DkMessage and a ticket context, and get back
 * an ordered list of actions and a trace of the tests evaluated.
 *
 * The engine does no I/O: the caller reads the script and the message, and
 * applies the actions. A compiled script is read-only: several threads may
 * run it at once. Supported extensions are listed in rules/README.md. */
#pragma once

#include <glib.h>

#include "parsers/message.h"

G_BEGIN_DECLS

#define DK_SIEVE_ERROR (dk_sieve_error_quark())
GQuark dk_sieve_error_quark(void);

typedef enum {
	DK_SIEVE_ERROR_SYNTAX,  /* the lexer or parser rejected the script */
	DK_SIEVE_ERROR_INVALID, /* well-formed, but the validator rejected it */
	DK_SIEVE_ERROR_LIMIT,   /* the script exceeds a size or nesting bound */
} DkSieveError;

/* One compile error: where and what was expected. */
typedef struct {
	guint line;   /* 1-based */
	guint column; /* 1-based, in bytes */
	char *message;
} DkSieveDiagnostic;

/* What docket knows about the ticket a message belongs to. Strings may be
 * NULL (treated as ""). */
typedef struct {
	gboolean is_new;      /* the message opens a new ticket */
	const char *status;   /* new open in_progress waiting on_hold resolved closed */
	const char *priority; /* critical high medium low none */
	const char *queue;    /* the queue the ticket is in */
	gboolean is_agent;    /* the sender is one of docket's agents */
	/* The ticket's SLA states that hold (NULL-terminated; NULL: none):
	 * breached, first_response_breached, resolution_breached, paused,
	 * answered, no_target. */
	const char *const *sla;
} DkSieveTicket;

/* Everything a script reads. message is required; the rest may be zero. */
typedef struct {
	const DkMessage *message;
	gsize size;                /* raw size in octets, for the size test */
	const char *envelope_from; /* MAIL FROM; "" for the null sender, NULL if unknown */
	const char *envelope_to;   /* RCPT TO; NULL if unknown */
	const DkSieveTicket *ticket;
	gint64 now;            /* Unix seconds for currentdate; 0 = the real time */
	GTimeZone *local_zone; /* the zone of date tests without :zone; NULL = UTC */
	/* The run's budget in steps; 0: DK_SIEVE_DEFAULT_STEPS. Every test and
	 * command costs 1, every value compared 1 more per 64 octets, a
	 * :matches 1 per 64 units of its matching work, a :regex
	 * DK_SIEVE_REGEX_COST (each bounded by PCRE2's match limit). The same
	 * script and message always cost the same, however fast the machine. */
	guint64 max_steps;
} DkSieveInput;

#define DK_SIEVE_DEFAULT_STEPS G_GUINT64_CONSTANT(1000000)
#define DK_SIEVE_REGEX_COST 1000

typedef enum {
	DK_SIEVE_ACTION_KEEP,
	DK_SIEVE_ACTION_DISCARD,
	DK_SIEVE_ACTION_FILEINTO,
	DK_SIEVE_ACTION_REDIRECT,
	DK_SIEVE_ACTION_REJECT,
	DK_SIEVE_ACTION_EREJECT,
	DK_SIEVE_ACTION_ADDFLAG,
	DK_SIEVE_ACTION_SETFLAG,
	DK_SIEVE_ACTION_REMOVEFLAG,
	DK_SIEVE_ACTION_TICKET_PRIORITY,
	DK_SIEVE_ACTION_TICKET_STATUS,
	DK_SIEVE_ACTION_TICKET_ASSIGN,
	DK_SIEVE_ACTION_TICKET_ORGANISATION,
	DK_SIEVE_ACTION_TICKET_FIELD,
	DK_SIEVE_ACTION_TICKET_CORRELATE,
	DK_SIEVE_ACTION_TICKET_NOACK,
	DK_SIEVE_ACTION_TICKET_TEMPLATE,
} DkSieveActionType;

/* One action, in the order the script executed it. */
typedef struct {
	DkSieveActionType type;
	guint line;        /* the command's line; 0 for the implicit keep */
	char *value;       /* mailbox, address, reason, priority, status, assignee,
	                    * organisation, field value, key, template; else NULL */
	char *name;        /* ticket_field's field name; else NULL */
	GPtrArray *flags;  /* of char*: the flags stored with keep/fileinto, or the
	                    * flags added/set/removed; NULL for other actions */
	gboolean copy;     /* :copy on fileinto/redirect (RFC 3894) */
	gboolean implicit; /* the implicit keep of RFC 5228 section 2.10.2 */
} DkSieveAction;

/* One test the interpreter evaluated. */
typedef struct {
	guint line;
	const char *test; /* the test's name (static) */
	gboolean result;
} DkSieveTraceEntry;

typedef struct {
	GPtrArray *actions;       /* of DkSieveAction*, in order, implicit keep last */
	GPtrArray *trace;         /* of DkSieveTraceEntry*, in evaluation order */
	GArray *fired_lines;      /* of guint: lines of the action commands executed */
	GPtrArray *flags;         /* of char*: the imap4flags internal variable at the end */
	char *error;              /* a runtime error, or NULL; on error the actions are
	                           * just the implicit keep (RFC 5228 section 2.10.6) */
	gboolean budget_exceeded; /* the error is the spent budget (max_steps) */
	guint64 steps;            /* the steps the run took */
} DkSieveResult;

typedef struct _DkSieveScript DkSieveScript;

/* Compiles a script (UTF-8 text of len bytes, or -1 for NUL-terminated).
 * On failure returns NULL, sets DK_SIEVE_ERROR with "LINE:COL: message" of
 * the first problem, and, if diagnostics_out is given, stores there every
 * problem found as DkSieveDiagnostic* (caller frees the array). */
DkSieveScript *dk_sieve_compile(const char *source, gssize len, GPtrArray **diagnostics_out,
                                GError **error);

/* The extensions the script requires, NULL-terminated; owned by the script. */
const char *const *dk_sieve_script_extensions(const DkSieveScript *script);

void dk_sieve_script_free(DkSieveScript *script);

/* Runs a compiled script. Never fails as a whole: runtime errors and limits
 * are reported in ->error with the implicit keep as the only action. The
 * caller frees the result with dk_sieve_result_free(). */
DkSieveResult *dk_sieve_execute(const DkSieveScript *script, const DkSieveInput *input);

void dk_sieve_result_free(DkSieveResult *result);

/* The action's name as in the script ("keep", "fileinto", "ticket_priority"). */
const char *dk_sieve_action_type_name(DkSieveActionType type);

void dk_sieve_diagnostic_free(DkSieveDiagnostic *diagnostic);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkSieveScript, dk_sieve_script_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkSieveResult, dk_sieve_result_free)

G_END_DECLS
