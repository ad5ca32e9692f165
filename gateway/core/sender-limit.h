/* The intake's rate limit per sender ([limits] sender_per_hour): a flood
 * of mail from one address yields at most that many articles an hour; the
 * rest is tempfailed (the MTA keeps it and retries) or held in the
 * quarantine until an operator releases it (`docket quarantine
 * reprocess`). Checked by the writer inside its transaction, so messages
 * of one batch count each other. */
#pragma once

#include "gateway/core/pipeline.h"

G_BEGIN_DECLS

/* Decides whether item's message may become an article now. TRUE with
 * *hold_reason_out NULL: it may. TRUE with *hold_reason_out set (the
 * caller frees it): [limits] sender_action = hold, keep it in the
 * quarantine with that reason. FALSE with DK_ERROR_RATE_LIMITED (a
 * temporary error: LMTP 451 4.7.1, exit 75) with sender_action =
 * tempfail, or with the store's error. Exempt: no limit configured,
 * imported history, a message an operator takes back from the quarantine,
 * a verified agent's mail, a message without a From address. */
gboolean dk_sender_limit_check(DkStore *store, const DkPipelineItem *item,
                               const DkThreadPolicy *policy, char **hold_reason_out,
                               GError **error);

G_END_DECLS
