/* The pipeline item's fields, shared by the files of the pipeline module:
 * pipeline.c (prepare), writer.c (commit) and sender-limit.c. Everyone
 * else goes through the accessors of pipeline.h. */
#pragma once

#include "gateway/core/pipeline.h"
#include "gateway/core/thread.h"

G_BEGIN_DECLS

struct DkPipelineItem {
	GBytes *raw;             /* NULL when the raw is in raw_fd */
	DkMessage *message;      /* NULL when the message goes to the quarantine */
	char *quarantine_reason; /* why it could not be read, when message is NULL */
	gint64 requeued_from;    /* a quarantine entry this item replaces, or 0 */
	gboolean release;        /* released: an article whatever set it aside */
	char *bounce_mark;       /* the address a verified bounce of it marks, or NULL;
	                          * kept here for its DkEffects */
	char *intake;
	char *envelope_from;
	char **recipients;
	gint64 received_at;
	DkThreadPolicy *policy;        /* the pipeline's, borrowed; NULL: the defaults */
	struct DkRules *rules;         /* the Sieve script to run (a reference), or NULL */
	const DkConfig *config;        /* the pipeline's; NULL: no notifications */
	const struct DkSlaPolicy *sla; /* the pipeline's SLA policy; NULL: the defaults */
	const struct DkConversation *conversation; /* the pipeline's; NULL: the defaults */
	const DkEffectsOps *effects; /* the pipeline's; NULL: effects are not carried out */
	gpointer effects_prepared;   /* what effects->prepare returned, or NULL */
	char *ack_template;          /* the rules' ticket_template, or NULL */
	char *keep_numbers;          /* history: DkIntake.keep_numbers */
	gint64 number_from;          /* history: DkIntake.number_from */
	DkDelivery result;           /* valid when error is NULL after commit */
	GError *error;               /* this message's own failure, if any */
	int raw_fd;                  /* the raw in a file (from offset 0; the item's own
	                              * descriptor) when raw is NULL; -1 otherwise */
	gsize raw_size;              /* the raw's size, in either case */
	char raw_sha256[65]; /* the hex SHA-256 of raw, computed while preparing; "" if not */
};

G_END_DECLS
