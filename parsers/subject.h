/* Subjects of replies and forwards: the chain of prefixes mail clients put
 * in front ("Re: AW: Fwd:", "RE[2]:", "回复："), and the ticket token
 * docket puts into every subject it sends ("[docket #12]").
 *
 * Pure functions over UTF-8 text; no I/O. The subject's words are never
 * evidence for threading: only the token is (DESIGN.md, "Threading, in
 * order of trust"). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The length in bytes of the chain of reply and forward prefixes at the
 * start of subject, spaces after it included: 0 when there is none.
 * Recognised (case-insensitive for Latin, Greek and Cyrillic letters):
 * Re, Fwd, Fw, AW, WG, SV, VS, VB, Antw, Doorst, TR, RV, Rif, R, I, Odp,
 * PD, Res, Enc, YNT, İLT, Vá, Továbbítás, ΑΠ, ΣΧΕΤ, ΠΡΘ, Отв, Ответ, Пересл,
 * 回复, 答复, 转发, 回覆, 轉寄, 返信, 転送, 답장, 전달; each may carry a
 * counter ("Re[2]:", "Re^2:", "Re(2):") and ends with ":" or a full-width
 * "：", spaces allowed before it. Bounded: at most 64 prefixes are looked
 * at. */
gsize dk_subject_prefix_length(const char *subject);

/* subject without its prefix chain and surrounding spaces; newly
 * allocated. */
char *dk_subject_strip(const char *subject);

/* Finds the first "[prefix #number]" in subject: the prefix compared
 * case-insensitively, spaces allowed around "#", the number 1 to 18
 * digits. Another system's token ("[RT #12]", "#12", "[docket-eu #12]")
 * never matches. TRUE with the number in number_out. */
gboolean dk_subject_find_token(const char *subject, const char *prefix, gint64 *number_out);

/* The subject for a new ticket: prefixes stripped and every "[prefix #n]"
 * token of ours removed; newly allocated. */
char *dk_subject_clean(const char *subject, const char *prefix);

G_END_DECLS
