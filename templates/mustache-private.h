/* The Mustache tree shared by the parser (mustache-parse.c) and the renderer
 * (mustache-render.c). Not for callers: they see DkTemplate as opaque. */
#pragma once

#include "templates/mustache.h"

typedef enum {
	DK_NODE_TEXT,     /* literal text */
	DK_NODE_VAR,      /* {{name}}, {{{name}}}, {{& name}} */
	DK_NODE_SECTION,  /* {{#name}} ... {{/name}} */
	DK_NODE_INVERTED, /* {{^name}} ... {{/name}} */
	DK_NODE_PARTIAL,  /* {{> name}}, {{> *name}} */
	DK_NODE_BLOCK,    /* {{$name}} ... {{/name}} */
	DK_NODE_PARENT,   /* {{< name}} ... {{/name}}, {{< *name}} */
} DkNodeKind;

typedef struct {
	DkNodeKind kind;
	char *text;          /* TEXT: the literal; else the name as written, '*' removed */
	gsize len;           /* length of TEXT */
	char **path;         /* VAR/SECTION/INVERTED, dynamic names: dotted parts; NULL for "." */
	gboolean escape;     /* VAR: {{name}} rather than {{{name}}} */
	gboolean dynamic;    /* PARTIAL/PARENT: the name is looked up in the context */
	char *indent;        /* PARTIAL/PARENT on a standalone line: the whitespace before it */
	GPtrArray *children; /* SECTION/INVERTED/BLOCK/PARENT: DkNode * */
	guint line, column;  /* where the tag starts, 1-based */
	/* BLOCK: its content as template source, for re-indenting (spec
	 * ~inheritance): dedented when the block opens on a standalone line
	 * ("standalone"; then INDENT is the indentation to put back), with the
	 * delimiters in effect where it starts. */
	char *body;
	char *body_otag, *body_ctag;
	gboolean standalone;
} DkNode;

struct _DkTemplate {
	GPtrArray *nodes; /* DkNode *, owned */
};

/* Parses a block's BODY that starts with the delimiters OTAG and CTAG. */
DkTemplate *dk_template_parse_body(const char *body, const char *otag, const char *ctag,
                                   GError **error);
