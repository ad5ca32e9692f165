/* Internals shared by the stages of the Sieve engine: tokens, the syntax
 * tree, the plug-in tables of commands and tests, and the interpreter state. */
#pragma once

#include "rules/sieve.h"

G_BEGIN_DECLS

/* Bounds against hostile scripts and messages. */
#define DK_SIEVE_MAX_SCRIPT_BYTES (1024 * 1024)
#define DK_SIEVE_MAX_IDENTIFIER 32      /* as Pigeonhole */
#define DK_SIEVE_MAX_DEPTH 32           /* nesting of blocks and tests */
#define DK_SIEVE_MAX_STRING (64 * 1024) /* one string, also after expansion */
#define DK_SIEVE_MAX_VARIABLES 256
#define DK_SIEVE_MAX_ACTIONS 1024
#define DK_SIEVE_MAX_DIAGNOSTICS 50
#define DK_SIEVE_MAX_MATCH_WORK 2000000 /* comparisons in one :matches */

/* ---- lexer (lexer.c) ---- */

typedef enum {
	DK_TOK_EOF,
	DK_TOK_IDENT,
	DK_TOK_TAG, /* :name, text without the colon */
	DK_TOK_NUMBER,
	DK_TOK_STRING, /* quoted or multi-line, text decoded */
	DK_TOK_LBRACKET,
	DK_TOK_RBRACKET,
	DK_TOK_LPAREN,
	DK_TOK_RPAREN,
	DK_TOK_LBRACE,
	DK_TOK_RBRACE,
	DK_TOK_COMMA,
	DK_TOK_SEMICOLON,
	DK_TOK_ERROR, /* text is the message */
} DkSieveTokenType;

typedef struct {
	DkSieveTokenType type;
	guint line, column;
	char *text;     /* owned; for IDENT, TAG, STRING and ERROR */
	guint64 number; /* for NUMBER, quantifier applied */
} DkSieveToken;

typedef struct _DkSieveLexer DkSieveLexer;

DkSieveLexer *dk_sieve_lexer_new(const char *source, gsize len);
/* The next token; the caller clears it with dk_sieve_token_clear(). After an
 * ERROR or EOF token the lexer keeps returning EOF. */
void dk_sieve_lexer_next(DkSieveLexer *lexer, DkSieveToken *token_out);
void dk_sieve_lexer_free(DkSieveLexer *lexer);
void dk_sieve_token_clear(DkSieveToken *token);
const char *dk_sieve_token_describe(DkSieveTokenType type);

/* ---- syntax tree (parser.c) ---- */

typedef enum {
	DK_SIEVE_ARG_STRING, /* a single string */
	DK_SIEVE_ARG_LIST,   /* a bracketed string list */
	DK_SIEVE_ARG_NUMBER,
	DK_SIEVE_ARG_TAG,
} DkSieveArgKind;

typedef struct _DkSieveArg DkSieveArg;
struct _DkSieveArg {
	DkSieveArgKind kind;
	guint line, column;
	GPtrArray *strings; /* of char*, for STRING (one) and LIST */
	guint64 number;
	char *tag;         /* for TAG, without the colon */
	DkSieveArg *value; /* for TAG: its argument when it takes one (borrowed) */
};

typedef struct _DkSieveDef DkSieveDef;
typedef struct _DkSieveNode DkSieveNode;

typedef enum {
	DK_MATCH_IS,
	DK_MATCH_CONTAINS,
	DK_MATCH_MATCHES,
	DK_MATCH_REGEX,
	DK_MATCH_COUNT,
	DK_MATCH_VALUE
} DkSieveMatchType;
typedef enum { DK_REL_GT, DK_REL_GE, DK_REL_LT, DK_REL_LE, DK_REL_EQ, DK_REL_NE } DkSieveRelOp;
typedef enum { DK_CMP_OCTET, DK_CMP_CASEMAP, DK_CMP_NUMERIC } DkSieveComparator;
typedef enum {
	DK_PART_ALL,
	DK_PART_LOCAL,
	DK_PART_DOMAIN,
	DK_PART_USER,
	DK_PART_DETAIL
} DkSieveAddressPart;

/* The comparison a test performs (RFC 5228 section 2.7). */
typedef struct {
	DkSieveMatchType type;
	DkSieveRelOp rel;
	DkSieveComparator comparator;
	DkSieveAddressPart part;
	GPtrArray *regexes; /* of GRegex*, compiled keys for :regex without variables */
} DkSieveMatch;

struct _DkSieveNode {
	char *name;
	guint line, column;
	const DkSieveDef *def; /* set by the validator */
	GPtrArray *args;       /* of DkSieveArg*, as written, owned */
	GPtrArray *tests;      /* of DkSieveNode*, owned */
	GPtrArray *block;      /* of DkSieveNode*, owned; NULL when no block */
	/* filled in by the validator: */
	GPtrArray *positional; /* of DkSieveArg*, borrowed from args */
	GPtrArray *tagged;     /* of DkSieveArg* (TAG), borrowed from args */
	DkSieveMatch match;
};

struct _DkSieveScript {
	GPtrArray *commands;   /* of DkSieveNode* */
	GPtrArray *extensions; /* of char*, NULL-terminated */
	gboolean variables;    /* "variables" was required: expand ${...} */
};

/* Parses source into script->commands; returns FALSE after adding the
 * syntax error to diags. */
gboolean dk_sieve_parse(DkSieveScript *script, const char *source, gsize len, GPtrArray *diags);
void dk_sieve_node_free(DkSieveNode *node);
void dk_sieve_diag_add(GPtrArray *diags, guint line, guint column, const char *format, ...)
    G_GNUC_PRINTF(4, 5);

/* ---- validator (validator.c) and plug-ins ---- */

typedef enum { DK_ARGT_STRING, DK_ARGT_LIST, DK_ARGT_NUMBER } DkSieveArgType;

typedef enum {
	DK_TAGS_MATCH = 1 << 0,      /* :is :contains :matches (+ :regex :count :value) */
	DK_TAGS_COMPARATOR = 1 << 1, /* :comparator "name" */
	DK_TAGS_ADDRESS = 1 << 2,    /* :all :localpart :domain (+ :user :detail) */
} DkSieveTagGroups;

typedef struct {
	const char *name;      /* without the colon */
	const char *extension; /* needed in require, or NULL */
	int arg;               /* -1: no argument, else a DkSieveArgType */
} DkSieveTagDef;

typedef struct _DkSieveValidator DkSieveValidator;
typedef struct _DkSieveInterp DkSieveInterp;

typedef enum { DK_STEP_NEXT, DK_STEP_STOP, DK_STEP_ERROR } DkSieveStep;

/* A command or test: one const table per plug-in file. */
struct _DkSieveDef {
	const char *name;
	const char *extension; /* needed in require, or NULL for the core */
	gboolean is_test;
	guint groups;               /* DkSieveTagGroups accepted */
	const DkSieveTagDef *tags;  /* further tags, ended by {NULL} */
	guint min_args, max_args;   /* positional arguments */
	const DkSieveArgType *args; /* types of the last max_args positionals,
	                             * right-aligned when fewer are given */
	int tests;                  /* 0: none, 1: one test, -1: a test list */
	gboolean block;             /* takes a block */
	/* Further checks after the generic ones; adds to diags and returns FALSE. */
	gboolean (*validate)(DkSieveValidator *v, DkSieveNode *node);
	DkSieveStep (*run)(DkSieveInterp *ip, const DkSieveNode *node);
	gboolean (*test)(DkSieveInterp *ip, const DkSieveNode *node);
};

/* Validates the tree and resolves defs and tags; FALSE with diags added. */
gboolean dk_sieve_validate(DkSieveScript *script, GPtrArray *diags);
void dk_sieve_validator_error(DkSieveValidator *v, guint line, guint column, const char *format,
                              ...) G_GNUC_PRINTF(4, 5);
gboolean dk_sieve_validator_has(DkSieveValidator *v, const char *extension);
/* A string argument that is known at compile time (no variables in it). */
gboolean dk_sieve_arg_constant(DkSieveValidator *v, const DkSieveArg *arg);

/* The tagged argument :name of a node, or NULL. */
const DkSieveArg *dk_sieve_node_tag(const DkSieveNode *node, const char *name);
const DkSieveArg *dk_sieve_node_arg(const DkSieveNode *node, guint index);

/* Every plug-in's table, NULL-terminated (registry.c). */
extern const DkSieveDef *const dk_sieve_defs[];
extern const char *const dk_sieve_known_extensions[];

/* ---- interpreter (interp.c) ---- */

struct _DkSieveInterp {
	const DkSieveScript *script;
	const DkSieveInput *input;
	DkSieveResult *result;
	GHashTable *variables;    /* lower-case name -> char* */
	GPtrArray *captures;      /* of char*: ${0}..${9} of the last successful match */
	GPtrArray *flags;         /* the imap4flags internal variable, of char* */
	GHashTable *addresses;    /* lower-case header name -> GPtrArray of addresses */
	char *body_lower;         /* the text in lower case, made on first use */
	guint64 steps, max_steps; /* spent and allowed (DkSieveInput's max_steps) */
	gboolean keep_cancelled;  /* by discard, fileinto, redirect, reject */
	char *error;
};

/* Spends cost steps of the run's budget; FALSE (the run has failed) when
 * the budget is spent. */
gboolean dk_sieve_interp_charge(DkSieveInterp *ip, const DkSieveNode *node, guint64 cost);
/* Runs a test and records it in the trace. */
gboolean dk_sieve_interp_test(DkSieveInterp *ip, const DkSieveNode *test);
/* Fails the run with a runtime error; returns DK_STEP_ERROR. */
DkSieveStep dk_sieve_interp_fail(DkSieveInterp *ip, const DkSieveNode *node, const char *format,
                                 ...) G_GNUC_PRINTF(3, 4);
/* Appends an action; the caller fills in the rest. NULL past the limit (the
 * run has failed). */
DkSieveAction *dk_sieve_interp_action(DkSieveInterp *ip, DkSieveActionType type,
                                      const DkSieveNode *node);

/* Expands ${...} when the variables extension is on; caller frees. */
char *dk_sieve_expand(DkSieveInterp *ip, const char *s);
/* The strings of an argument, expanded; caller frees with g_ptr_array_unref. */
GPtrArray *dk_sieve_expand_list(DkSieveInterp *ip, const DkSieveArg *arg);
char *dk_sieve_expand_arg(DkSieveInterp *ip, const DkSieveArg *arg);
void dk_sieve_variable_set(DkSieveInterp *ip, const char *name, const char *value);
const char *dk_sieve_variable_get(DkSieveInterp *ip, const char *name);
gboolean dk_sieve_variable_name_valid(const char *name);

/* ---- matching (match.c) ---- */

/* Compares the values against the keys (key-list arg) with the node's match
 * spec; sets captures on success for :matches and :regex. */
gboolean dk_sieve_match_values(DkSieveInterp *ip, const DkSieveNode *node, GPtrArray *values,
                               const DkSieveArg *keys);
/* Wildcard match of RFC 5228 section 2.7.1; captures_out (may be NULL)
 * receives ${0} and one string per wildcard; work_out (may be NULL) the
 * matching work done (at most DK_SIEVE_MAX_MATCH_WORK). */
gboolean dk_sieve_match_wildcard(const char *value, const char *pattern, gboolean casemap,
                                 GPtrArray *captures_out, gsize *work_out);
/* Parses comparator/match-type/relational names; FALSE when unknown. */
gboolean dk_sieve_comparator_parse(const char *name, DkSieveComparator *out);
gboolean dk_sieve_relop_parse(const char *name, DkSieveRelOp *out);
GRegex *dk_sieve_regex_new(const char *pattern, gboolean casemap, GError **error);

/* ---- flags (cmd-imap4flags.c) ---- */

/* Splits space-separated flag strings into a de-duplicated list. */
GPtrArray *dk_sieve_flags_split(GPtrArray *strings);
/* The flags a keep or fileinto stores (cmd-keep.c). */
GPtrArray *dk_sieve_store_flags(DkSieveInterp *ip, const DkSieveNode *node);
/* The keep or fileinto already filing into mailbox (NULL or "INBOX": where
 * keep files), or NULL. */
DkSieveAction *dk_sieve_find_store(DkSieveInterp *ip, const char *mailbox);
/* Adds flags (may be NULL) to a store action's flags, without duplicates. */
void dk_sieve_merge_flags(DkSieveAction *action, GPtrArray *flags);

/* ---- headers (tst-header.c) ---- */

/* Appends the trimmed decoded values of one header to out (of char*). */
void dk_sieve_header_values(DkSieveInterp *ip, const char *name, GPtrArray *out);

/* ---- addresses (tst-address.c) ---- */

/* The address part of one address "local@domain", or NULL if it has none
 * (a :detail without separator). Caller frees. */
char *dk_sieve_address_part(const char *address, DkSieveAddressPart part);

G_END_DECLS
