/* The names of the store's enumerated values (values.h): one table each. */
#include "gateway/store/values.h"

#include <string.h>

static const char *const status_names[] = {
    [DK_STATUS_NEW] = "new",
    [DK_STATUS_OPEN] = "open",
    [DK_STATUS_IN_PROGRESS] = "in_progress",
    [DK_STATUS_WAITING] = "waiting",
    [DK_STATUS_ON_HOLD] = "on_hold",
    [DK_STATUS_RESOLVED] = "resolved",
    [DK_STATUS_CLOSED] = "closed",
};

const char *const dk_priority_names[DK_PRIORITY_COUNT + 1] = {"critical", "high", "medium",
                                                              "low",      "none", NULL};

static const char *const direction_names[] = {
    [DK_INBOUND] = "inbound",
    [DK_OUTBOUND] = "outbound",
};

static const char *const visibility_names[] = {
    [DK_PUBLIC] = "public",
    [DK_INTERNAL] = "internal",
};

static const char *const role_names[] = {
    [DK_ROLE_REQUESTER] = "requester",
    [DK_ROLE_SENDER] = "sender",
    [DK_ROLE_CC] = "cc",
    [DK_ROLE_AGENT] = "agent",
};

static const char *const outbox_kind_names[] = {
    [DK_OUTBOX_ACK] = "ack",
    [DK_OUTBOX_NOTICE] = "notice",
    [DK_OUTBOX_RELAY] = "relay",
    [DK_OUTBOX_REDIRECT] = "redirect",
    [DK_OUTBOX_CONNECTOR] = "connector",
    [DK_OUTBOX_OTHER] = NULL,
};

/* The index of name in names, or -1. */
static int find(const char *const *names, guint n, const char *name)
{
	for (guint i = 0; name != NULL && i < n; i++) {
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

const char *dk_ticket_status_name(DkTicketStatus status)
{
	return (guint)status < G_N_ELEMENTS(status_names) ? status_names[status] : NULL;
}

gboolean dk_ticket_status_parse(const char *name, DkTicketStatus *status_out)
{
	int i = find(status_names, G_N_ELEMENTS(status_names), name);
	if (i < 0)
		return FALSE;
	*status_out = (DkTicketStatus)i;
	return TRUE;
}

gboolean dk_ticket_status_is_closed(DkTicketStatus status)
{
	return status == DK_STATUS_RESOLVED || status == DK_STATUS_CLOSED;
}

gboolean dk_ticket_status_is_paused(DkTicketStatus status)
{
	return status == DK_STATUS_WAITING || status == DK_STATUS_ON_HOLD;
}

const char *dk_direction_name(DkDirection direction)
{
	return (guint)direction < G_N_ELEMENTS(direction_names) ? direction_names[direction] : NULL;
}

DkDirection dk_direction_from_name(const char *name)
{
	int i = find(direction_names, G_N_ELEMENTS(direction_names), name);
	return i < 0 ? DK_INBOUND : (DkDirection)i;
}

const char *dk_visibility_name(DkVisibility visibility)
{
	return (guint)visibility < G_N_ELEMENTS(visibility_names) ? visibility_names[visibility]
	                                                          : NULL;
}

DkVisibility dk_visibility_from_name(const char *name)
{
	int i = find(visibility_names, G_N_ELEMENTS(visibility_names), name);
	return i < 0 ? DK_PUBLIC : (DkVisibility)i;
}

const char *dk_participant_role_name(DkParticipantRole role)
{
	return (guint)role < G_N_ELEMENTS(role_names) ? role_names[role] : NULL;
}

gboolean dk_participant_role_parse(const char *name, DkParticipantRole *role_out)
{
	int i = find(role_names, G_N_ELEMENTS(role_names), name);
	if (i < 0)
		return FALSE;
	*role_out = (DkParticipantRole)i;
	return TRUE;
}

const char *dk_outbox_kind_name(DkOutboxKind kind)
{
	return (guint)kind < G_N_ELEMENTS(outbox_kind_names) ? outbox_kind_names[kind] : NULL;
}

DkOutboxKind dk_outbox_kind_from_name(const char *name)
{
	int i = find(outbox_kind_names, G_N_ELEMENTS(outbox_kind_names), name);
	return i < 0 ? DK_OUTBOX_OTHER : (DkOutboxKind)i;
}

void dk_ticket_status_set_add(DkTicketStatus *set, guint *n_io, DkTicketStatus status)
{
	for (guint i = 0; i < *n_io; i++)
		if (set[i] == status)
			return;
	set[(*n_io)++] = status;
}

gboolean dk_priority_known(const char *name)
{
	return find(dk_priority_names, DK_PRIORITY_COUNT, name) >= 0;
}
