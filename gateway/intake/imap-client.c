/* IMAP commands over libetpan for the poller: connection set-up with
 * certificate checks and authentication, SELECT, UID SEARCH/FETCH, the
 * after-commit MOVE or flag, NOOP and IDLE. */
#include "gateway/intake/imap-client.h"

#include "gateway/error.h"
#include "gateway/intake/imap-oauth.h"
#include "gateway/intake/imap-tls.h"
#include "gateway/store/store-file.h"

#include <errno.h>
#include <libetpan/libetpan.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct DkImapClient {
	DkImapAccount *account;
	mailimap *imap;
	gboolean broken; /* the connection failed: no LOGOUT on it */
};

static gboolean is_ok(int rc)
{
	return rc == MAILIMAP_NO_ERROR || rc == MAILIMAP_NO_ERROR_AUTHENTICATED ||
	       rc == MAILIMAP_NO_ERROR_NON_AUTHENTICATED;
}

/* Sets error for libetpan's rc while doing something; the server's own
 * words are added when it gave any. Returns FALSE. */
static gboolean imap_error(DkImapClient *c, int rc, const char *doing, GError **error)
{
	const char *said = c->imap->imap_response;
	gboolean network = rc == MAILIMAP_ERROR_STREAM || rc == MAILIMAP_ERROR_CONNECTION_REFUSED ||
	                   rc == MAILIMAP_ERROR_PARSE || rc == MAILIMAP_ERROR_FATAL ||
	                   rc == MAILIMAP_ERROR_SSL || rc == MAILIMAP_ERROR_MEMORY ||
	                   rc == MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION;
	gboolean refused = rc == MAILIMAP_ERROR_LOGIN || rc == MAILIMAP_ERROR_SASL;
	const char *what = network ? "connection lost or timed out" : "the server refused";
	c->broken = c->broken || network;
	if (rc == MAILIMAP_ERROR_CONNECTION_REFUSED)
		what = "cannot connect";
	else if (rc == MAILIMAP_ERROR_SSL)
		what = "TLS handshake failed (is tls = imaps right for this port?)";
	g_set_error(error, DK_ERROR, refused ? DK_ERROR_PERMANENT : DK_ERROR_TEMPORARY,
	            "imap %s:%u: %s: %s%s%s%s", c->account->host, c->account->port, doing, what,
	            (!network && said && *said) ? " (server said: " : "",
	            (!network && said) ? said : "", (!network && said && *said) ? ")" : "");
	return FALSE;
}

/* A UID set with consecutive runs folded into ranges. */
static struct mailimap_set *make_set(const guint32 *uids, guint n)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	for (guint i = 0; i < n;) {
		guint j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		mailimap_set_add_interval(set, uids[i], uids[j]);
		i = j + 1;
	}
	return set;
}

/* IMAP is a dialogue of short commands: without TCP_NODELAY, Nagle's
 * algorithm and delayed ACKs add tens of milliseconds to each. Keep-alive
 * lets the kernel notice a peer that vanished while docket waits. */
static void tune_socket(DkImapClient *c)
{
	int fd = mailstream_low_get_fd(mailstream_get_low(c->imap->imap_stream));
	int on = 1, idle = 60, interval = 10, probes = 3;
	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
}

static gboolean open_transport(DkImapClient *c, GError **error)
{
	const DkImapAccount *a = c->account;
	int rc;
	if (a->tls == DK_IMAP_TLS_IMAPS)
		rc = mailimap_ssl_connect_with_callback(c->imap, a->host, a->port,
		                                        dk_imap_tls_setup, a->host);
	else
		rc = mailimap_socket_connect(c->imap, a->host, a->port);
	if (!is_ok(rc))
		return imap_error(
		    c, rc == MAILIMAP_ERROR_STREAM ? MAILIMAP_ERROR_CONNECTION_REFUSED : rc,
		    "connecting", error);
	tune_socket(c);
	if (a->tls == DK_IMAP_TLS_STARTTLS) {
		rc = mailimap_socket_starttls_with_callback(c->imap, dk_imap_tls_setup, a->host);
		if (!is_ok(rc))
			return imap_error(c, rc, "STARTTLS", error);
	}
	if (a->tls != DK_IMAP_TLS_NONE &&
	    !dk_imap_tls_verify(c->imap->imap_stream, a->host, a->ca_file, error)) {
		c->broken = TRUE; /* say nothing more to an untrusted server */
		g_prefix_error(error, "imap %s:%u: ", a->host, a->port);
		return FALSE;
	}
	return TRUE;
}

static gboolean authenticate(DkImapClient *c, GError **error)
{
	DkImapAccount *a = c->account;
	int rc;
	switch (a->auth) {
	case DK_IMAP_AUTH_LOGIN:
		rc = mailimap_login(c->imap, a->user, a->password);
		break;
	case DK_IMAP_AUTH_PLAIN:
		rc = mailimap_authenticate(c->imap, "PLAIN", a->host, NULL, NULL, a->user, a->user,
		                           a->password, NULL);
		break;
	case DK_IMAP_AUTH_XOAUTH2: {
		g_autofree char *token = dk_imap_oauth_access_token(a, error);
		if (token == NULL)
			return FALSE;
		rc = mailimap_oauth2_authenticate(c->imap, a->user, token);
		break;
	}
	default:
		g_assert_not_reached();
	}
	if (!is_ok(rc)) {
		g_autofree char *doing = g_strdup_printf("authentication as %s", a->user);
		return imap_error(c, rc == MAILIMAP_ERROR_STREAM ? rc : MAILIMAP_ERROR_LOGIN, doing,
		                  error);
	}
	/* Capabilities change after login (RFC 3501 section 6.2.3): ask again. */
	struct mailimap_capability_data *caps = NULL;
	rc = mailimap_capability(c->imap, &caps);
	if (caps != NULL)
		mailimap_capability_data_free(caps);
	return is_ok(rc) || imap_error(c, rc, "CAPABILITY", error);
}

DkImapClient *dk_imap_client_connect(DkImapAccount *account, GError **error)
{
	g_autoptr(DkImapClient) c = g_new0(DkImapClient, 1);
	c->account = account;
	c->imap = mailimap_new(0, NULL);
	mailimap_set_timeout(c->imap, account->timeout_seconds);
	if (!open_transport(c, error) || !authenticate(c, error))
		return NULL;
	/* CREATE fails harmlessly when the folder exists (RFC 3501 section
	 * 6.3.3); a real problem shows up at the first MOVE. */
	if (account->move)
		mailimap_create(c->imap, account->processed_folder);
	mailimap_create(c->imap, account->error_folder);
	return g_steal_pointer(&c);
}

void dk_imap_client_free(DkImapClient *client)
{
	if (client == NULL)
		return;
	if (client->imap != NULL) {
		if (client->imap->imap_stream != NULL && !client->broken)
			mailimap_logout(client->imap);
		mailimap_free(client->imap);
	}
	g_free(client);
}

gboolean dk_imap_client_select(DkImapClient *c, const char *folder, guint32 *uidvalidity_out,
                               GError **error)
{
	int rc = mailimap_select(c->imap, folder);
	if (!is_ok(rc)) {
		g_autofree char *doing = g_strdup_printf("SELECT %s", folder);
		return imap_error(c, rc, doing, error);
	}
	*uidvalidity_out =
	    c->imap->imap_selection_info ? c->imap->imap_selection_info->sel_uidvalidity : 0;
	return TRUE;
}

static gint compare_uid(gconstpointer a, gconstpointer b)
{
	guint32 x = *(const guint32 *)a, y = *(const guint32 *)b;
	return x < y ? -1 : x > y;
}

GArray *dk_imap_client_search_after(DkImapClient *c, guint32 last_uid, GError **error)
{
	/* "UID n:*" always matches the highest UID, even one below n
	 * (RFC 3501 section 6.4.8): filter. */
	struct mailimap_search_key *key =
	    mailimap_search_key_new_uid(mailimap_set_new_interval(last_uid + 1, 0));
	clist *result = NULL;
	int rc = mailimap_uid_search(c->imap, NULL, key, &result);
	mailimap_search_key_free(key);
	if (!is_ok(rc))
		return imap_error(c, rc, "UID SEARCH", error), NULL;
	GArray *uids = g_array_new(FALSE, FALSE, sizeof(guint32));
	for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it)) {
		guint32 uid = *(uint32_t *)clist_content(it);
		if (uid > last_uid)
			g_array_append_val(uids, uid);
	}
	mailimap_search_result_free(result);
	g_array_sort(uids, compare_uid);
	return uids;
}

void dk_imap_message_free(DkImapMessage *message)
{
	if (message == NULL)
		return;
	if (message->raw != NULL)
		g_bytes_unref(message->raw);
	if (message->fd >= 0)
		close(message->fd);
	g_free(message);
}

/* The UID of one FETCH response (0: none), its body section into *out
 * (NULL: none). */
static guint32 body_of(struct mailimap_msg_att *att, struct mailimap_msg_att_body_section **out)
{
	guint32 uid = 0;
	struct mailimap_msg_att_body_section *body = NULL;
	for (clistiter *it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		struct mailimap_msg_att_static *s = item->att_data.att_static;
		if (s->att_type == MAILIMAP_MSG_ATT_UID)
			uid = s->att_data.att_uid;
		else if (s->att_type == MAILIMAP_MSG_ATT_BODY_SECTION)
			body = s->att_data.att_body_section;
	}
	*out = body;
	return uid;
}

/* The message of one FETCH response; NULL when it lacks its UID or body
 * (an unsolicited flag update, say). */
static DkImapMessage *message_from(struct mailimap_msg_att *att)
{
	struct mailimap_msg_att_body_section *body = NULL;
	guint32 uid = body_of(att, &body);
	if (uid == 0 || body == NULL)
		return NULL;
	DkImapMessage *m = g_new0(DkImapMessage, 1);
	m->uid = uid;
	m->fd = -1;
	m->size = body->sec_length;
	m->raw = g_bytes_new(body->sec_body_part ? body->sec_body_part : "", body->sec_length);
	return m;
}

/* The UID and RFC822.SIZE of one FETCH response; FALSE when it lacks one. */
static gboolean size_from(struct mailimap_msg_att *att, guint32 *uid_out, guint32 *size_out)
{
	*uid_out = 0;
	gboolean sized = FALSE;
	for (clistiter *it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		struct mailimap_msg_att_static *s = item->att_data.att_static;
		if (s->att_type == MAILIMAP_MSG_ATT_UID)
			*uid_out = s->att_data.att_uid;
		else if (s->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE)
			*size_out = s->att_data.att_rfc822_size, sized = TRUE;
	}
	return *uid_out != 0 && sized;
}

gboolean dk_imap_client_sizes(DkImapClient *c, const guint32 *uids, guint n, guint32 *sizes_out,
                              GError **error)
{
	struct mailimap_fetch_type *type = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_rfc822_size());
	struct mailimap_set *set = make_set(uids, n);
	clist *result = NULL;
	int rc = mailimap_uid_fetch(c->imap, set, type, &result);
	mailimap_set_free(set);
	mailimap_fetch_type_free(type);
	if (!is_ok(rc))
		return imap_error(c, rc, "UID FETCH RFC822.SIZE", error);
	memset(sizes_out, 0, n * sizeof *sizes_out);
	for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it)) {
		guint32 uid, size = 0;
		if (!size_from(clist_content(it), &uid, &size))
			continue;
		guint32 *at = bsearch(&uid, uids, n, sizeof *uids, compare_uid);
		if (at != NULL)
			sizes_out[at - uids] = size;
	}
	mailimap_fetch_list_free(result);
	return TRUE;
}

GPtrArray *dk_imap_client_fetch(DkImapClient *c, const guint32 *uids, guint n, GError **error)
{
	struct mailimap_fetch_type *type = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(
	    type, mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
	struct mailimap_set *set = make_set(uids, n);
	clist *result = NULL;
	int rc = mailimap_uid_fetch(c->imap, set, type, &result);
	mailimap_set_free(set);
	mailimap_fetch_type_free(type);
	if (!is_ok(rc))
		return imap_error(c, rc, "UID FETCH", error), NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)dk_imap_message_free);
	for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it)) {
		DkImapMessage *m = message_from(clist_content(it));
		if (m != NULL)
			g_ptr_array_add(out, m);
	}
	mailimap_fetch_list_free(result);
	return out;
}

/* One piece of uid from offset: written to fd, its length into *length_out;
 * *found_out FALSE when the server sent no body for uid. */
static gboolean fetch_piece(DkImapClient *c, guint32 uid, gsize offset, int fd, gsize *length_out,
                            gboolean *found_out, GError **error)
{
	struct mailimap_fetch_type *type = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(
	    type, mailimap_fetch_att_new_body_peek_section_partial(
	              mailimap_section_new(NULL), (uint32_t)offset, DK_IMAP_PIECE));
	struct mailimap_set *set = mailimap_set_new_single(uid);
	clist *result = NULL;
	int rc = mailimap_uid_fetch(c->imap, set, type, &result);
	mailimap_set_free(set);
	mailimap_fetch_type_free(type);
	if (!is_ok(rc))
		return imap_error(c, rc, "UID FETCH BODY.PEEK[]<>", error);
	*found_out = FALSE;
	gboolean written = TRUE;
	for (clistiter *it = clist_begin(result); it != NULL && !*found_out; it = clist_next(it)) {
		struct mailimap_msg_att_body_section *body = NULL;
		if (body_of(clist_content(it), &body) != uid || body == NULL)
			continue;
		*found_out = TRUE;
		*length_out = body->sec_length;
		written = dk_store_file_write_all(fd, body->sec_body_part, body->sec_length);
	}
	int saved = errno;
	mailimap_fetch_list_free(result);
	if (!written)
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
		            "writing a fetched message to its spool file: %s", g_strerror(saved));
	return written;
}

DkImapMessage *dk_imap_client_fetch_to(DkImapClient *c, guint32 uid, int fd, GError **error)
{
	gsize size = 0, length = DK_IMAP_PIECE;
	while (length == DK_IMAP_PIECE) {
		gboolean found = FALSE;
		if (size > G_MAXUINT32 - DK_IMAP_PIECE) {
			g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
			            "UID %u is larger than 4 GiB", uid);
			return NULL;
		}
		if (!fetch_piece(c, uid, size, fd, &length, &found, error))
			return NULL;
		if (!found && size == 0)
			return NULL; /* expunged meanwhile */
		if (!found) {
			g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
			            "UID %u went away while it was fetched", uid);
			return NULL;
		}
		size += length;
	}
	DkImapMessage *m = g_new0(DkImapMessage, 1);
	m->uid = uid;
	m->fd = fd;
	m->size = size;
	return m;
}

static gboolean store_flag(DkImapClient *c, const guint32 *uids, guint n,
                           struct mailimap_flag *flag, GError **error)
{
	struct mailimap_flag_list *flags = mailimap_flag_list_new_empty();
	mailimap_flag_list_add(flags, flag);
	struct mailimap_store_att_flags *att = mailimap_store_att_flags_new_add_flags_silent(flags);
	struct mailimap_set *set = make_set(uids, n);
	int rc = mailimap_uid_store(c->imap, set, att);
	mailimap_set_free(set);
	mailimap_store_att_flags_free(att);
	return is_ok(rc) || imap_error(c, rc, "UID STORE", error);
}

gboolean dk_imap_client_flag_seen(DkImapClient *c, const guint32 *uids, guint n, GError **error)
{
	return store_flag(c, uids, n, mailimap_flag_new_seen(), error);
}

gboolean dk_imap_client_move(DkImapClient *c, const guint32 *uids, guint n, const char *folder,
                             GError **error)
{
	g_autofree char *doing = g_strdup_printf("moving to %s", folder);
	struct mailimap_set *set = make_set(uids, n);
	int rc;
	if (mailimap_has_extension(c->imap, "MOVE")) {
		rc = mailimap_uid_move(c->imap, set, folder);
		mailimap_set_free(set);
		return is_ok(rc) || imap_error(c, rc, doing, error);
	}
	rc = mailimap_uid_copy(c->imap, set, folder);
	if (is_ok(rc) && store_flag(c, uids, n, mailimap_flag_new_deleted(), error)) {
		/* Without UIDPLUS, EXPUNGE also removes whatever else another
		 * client marked \Deleted: the best RFC 3501 allows. */
		rc = mailimap_has_extension(c->imap, "UIDPLUS") ? mailimap_uid_expunge(c->imap, set)
		                                                : mailimap_expunge(c->imap);
	} else if (is_ok(rc)) {
		mailimap_set_free(set);
		return FALSE;
	}
	mailimap_set_free(set);
	return is_ok(rc) || imap_error(c, rc, doing, error);
}

gboolean dk_imap_client_noop(DkImapClient *c, GError **error)
{
	int rc = mailimap_noop(c->imap);
	return is_ok(rc) || imap_error(c, rc, "NOOP", error);
}

gboolean dk_imap_client_can_idle(DkImapClient *c)
{
	return mailimap_has_idle(c->imap);
}

/* Waits up to ms for the server to speak or cancellable to fire. */
static gboolean wait_readable(DkImapClient *c, gint64 ms, GCancellable *cancellable)
{
	if (c->imap->imap_stream->read_buffer_len > 0)
		return TRUE;
	struct pollfd fds[2] = {{.fd = mailimap_idle_get_fd(c->imap), .events = POLLIN}};
	GPollFD cancel_fd = {.fd = -1};
	nfds_t nfds = 1;
	if (cancellable != NULL && g_cancellable_make_pollfd(cancellable, &cancel_fd)) {
		fds[1] = (struct pollfd){.fd = cancel_fd.fd, .events = POLLIN};
		nfds = 2;
	}
	int rc = poll(fds, nfds, (int)MIN(ms, G_MAXINT));
	if (cancel_fd.fd >= 0)
		g_cancellable_release_fd(cancellable);
	return rc > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

gboolean dk_imap_client_idle(DkImapClient *c, guint seconds, GCancellable *cancellable,
                             gboolean *activity_out, GError **error)
{
	*activity_out = FALSE;
	int rc = mailimap_idle(c->imap);
	if (!is_ok(rc))
		return imap_error(c, rc, "IDLE", error);
	gint64 deadline = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	while (!g_cancellable_is_cancelled(cancellable)) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		if (left <= 0)
			break;
		if (wait_readable(c, left, cancellable)) {
			*activity_out = TRUE;
			break;
		}
	}
	/* RFC 2177: DONE ends IDLE; the tagged OK must come within the
	 * time-out, or the connection is dead (the watchdog's test). */
	rc = mailimap_idle_done(c->imap);
	return is_ok(rc) || imap_error(c, rc, "ending IDLE", error);
}
