/* Classification of a message: auto-reply, bounce, bulk or list mail, spam
 * verdict and mail loop, from its headers and MIME structure.
 *
 * A pure function over a parsed message: no I/O. Each walk over the MIME
 * tree is bounded in depth and in parts, and text is scanned only up to a
 * fixed size, so hostile input costs bounded time. */
#pragma once

#include <gmime/gmime.h>

#include "parsers/message.h"

G_BEGIN_DECLS

/* Fills m->classification from gm (the GMime form of the same message) and
 * from m's headers (dk_message_header()), subject, from and message_id.
 * own_domains is a NULL-terminated list of docket's own mail domains (lower
 * case), used for loop detection; it may be NULL.
 *  - auto_reply: an answer a machine made to a message: RFC 3834
 *    "Auto-Submitted: auto-replied" (section 5), X-Autoreply,
 *    X-Autorespond, Precedence: auto_reply, an out-of-office subject in one
 *    of the languages of classify-autoreply.c's table, or a read receipt
 *    (RFC 8098 disposition notification). A bounce is never an auto_reply.
 *  - auto_generated: other machine mail (monitoring alerts, SaaS notices,
 *    cron): Auto-Submitted with any other value but "no" ("auto-generated",
 *    "auto-notified"), or X-Auto-Response-Suppress: All alone. It is mail
 *    to work on, never to answer automatically; never with auto_reply.
 *  - bounce: a delivery status notification (RFC 3464 multipart/report with
 *    report-type=delivery-status, or a message/delivery-status part) with a
 *    failed or delayed recipient, or a non-standard bounce recognised from a
 *    mailer-daemon sender, a failure subject and the texts of common MTAs.
 *    Set to a newly allocated DkBounce with the failed recipient, the RFC
 *    3463 status and the Message-ID of the returned message where found.
 *    ARF feedback reports (report-type=feedback-report), read receipts and
 *    DSNs that report delivery are not bounces.
 *  - bulk: List-Id, List-Unsubscribe, or Precedence bulk, list or junk.
 *  - spam: X-Spam-Flag: YES or X-Spam-Status: Yes.
 *  - loop: an X-Loop header naming docket or one of own_domains, or a
 *    Message-ID (not a synthetic one) in one of own_domains.
 * A bounce already in m->classification is freed and replaced. */
void dk_classify(GMimeMessage *gm, DkMessage *m, const char *const *own_domains);

/* Detects a bounce in gm (see dk_classify); NULL when it is none. The
 * caller frees the result with dk_bounce_free(). */
DkBounce *dk_classify_bounce(GMimeMessage *gm, const DkMessage *m);

/* TRUE when subject reads like an automatic or out-of-office reply
 * ("Out of Office: ...", "Automatiskt svar: ...", "自动回复: ..."), by the
 * table of languages in classify-autoreply.c. */
gboolean dk_classify_auto_reply_subject(const char *subject);

/* Frees a DkBounce and its strings; NULL is allowed. */
void dk_bounce_free(DkBounce *bounce);

G_END_DECLS
