/* What the files of the desk's views share (desk-view.c, desk-view-ticket.c,
 * desk-view-queues.c). */
#pragma once

#include "gateway/json.h"
#include "gateway/store/values.h"

/* A JSON string of s, null for NULL or "" (a template's section hides it). */
json_t *dk_desk_jstr(const char *s);

/* Sets key to the time as people read it and key_iso to ISO 8601 (for
 * <time datetime>). */
void dk_desk_set_time(json_t *o, const char *key, gint64 t);

/* "in progress" for in_progress. */
json_t *dk_desk_status_label(DkTicketStatus status);

/* One <option>: {value, label, selected}; takes label. */
json_t *dk_desk_option(const char *value, json_t *label, gboolean selected);

/* The priorities as options, chosen selected. */
json_t *dk_desk_priority_options(const char *chosen);

/* "-", "2h5m", "-35m", "1h paused", "met", "late": the class the SLA
 * column's text is shown with ("none", "running", "overdue", "paused",
 * "met", "late"). */
const char *dk_desk_sla_state(const char *left);
