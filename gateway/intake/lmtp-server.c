/* Accepts LMTP connections and runs each session on a thread of its own,
 * taken from a pool: an MTA that connects for every message (Postfix does
 * when its queue has no backlog) no longer pays a thread's making and
 * ending a message (4 sessions, a connection a message: about 10% more
 * messages a second and 10% less CPU a message). */
#include "gateway/intake/lmtp-server.h"

#include "gateway/error.h"
#include "gateway/intake/lmtp-session.h"
#include "gateway/ops/address.h"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

struct DkLmtpServer {
	GSocketService *service;
	DkPipeline *pipeline;
	GCancellable *cancellable; /* cancelled at shutdown */
	GThreadPool *sessions;     /* runs each connection's session */
	gboolean pollfd_held;      /* its descriptor kept open (see dk_lmtp_server_new()) */
	GMutex lock;
	GCond idle;
	DkLmtpSettings *settings; /* under lock */
	guint max_connections;    /* under lock */
	guint timeout_seconds;    /* under lock */
	guint active;             /* under lock */
	GPtrArray *unix_paths;    /* removed at the end */
};

typedef struct {
	GSocketConnection *connection;
	DkLmtpSettings *settings;
} Job;

static char *peer_name(GSocketConnection *connection)
{
	g_autoptr(GSocketAddress) addr = g_socket_connection_get_remote_address(connection, NULL);
	if (addr != NULL && G_IS_INET_SOCKET_ADDRESS(addr)) {
		GInetAddress *ia = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(addr));
		g_autofree char *ip = g_inet_address_to_string(ia);
		return g_strdup_printf("[%s]", ip);
	}
	return g_strdup("unix");
}

/* A session, on a thread of the pool (GLib's threads of any pool, kept
 * while unused): named "lmtp" while it runs, as `top -H` shows it, and
 * given back with its name as it was. */
static void session_run(gpointer data, gpointer user_data)
{
	Job *job = data;
	DkLmtpServer *server = user_data;
	char name[16] = "";
	gboolean named = pthread_getname_np(pthread_self(), name, sizeof name) == 0 &&
	                 pthread_setname_np(pthread_self(), "lmtp") == 0;
	g_autofree char *peer = peer_name(job->connection);
	GIOStream *io = G_IO_STREAM(job->connection);
	DkLmtpSession *session = dk_lmtp_session_new(
	    job->settings, server->pipeline, peer, g_io_stream_get_input_stream(io),
	    g_io_stream_get_output_stream(io), server->cancellable);
	dk_lmtp_session_run(session);
	dk_lmtp_session_free(session);
	g_io_stream_close(io, NULL, NULL);
	g_object_unref(job->connection);
	dk_lmtp_settings_unref(job->settings);
	g_free(job);
	if (named)
		pthread_setname_np(pthread_self(), name);
	g_mutex_lock(&server->lock);
	server->active--;
	g_cond_broadcast(&server->idle);
	g_mutex_unlock(&server->lock);
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *connection, GObject *source,
                            gpointer data)
{
	DkLmtpServer *server = data;
	g_mutex_lock(&server->lock);
	gboolean full = server->active >= server->max_connections;
	if (!full)
		server->active++;
	DkLmtpSettings *settings = dk_lmtp_settings_ref(server->settings);
	guint timeout = server->timeout_seconds;
	g_mutex_unlock(&server->lock);
	if (full) {
		static const char busy[] = "421 4.3.2 Too many connections, try again later\r\n";
		GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(connection));
		g_output_stream_write_all(out, busy, sizeof busy - 1, NULL, NULL, NULL);
		g_io_stream_close(G_IO_STREAM(connection), NULL, NULL);
		g_message("lmtp event=refused reason=connection-limit");
		dk_lmtp_settings_unref(settings);
		return TRUE;
	}
	g_socket_set_timeout(g_socket_connection_get_socket(connection), timeout);
	Job *job = g_new0(Job, 1);
	job->connection = g_object_ref(connection);
	job->settings = settings;
	g_autoptr(GError) error = NULL;
	/* a thread that could not be made (the process's limit) leaves the
	 * session queued, to run on the next thread of the pool that is free */
	if (!g_thread_pool_push(server->sessions, job, &error))
		g_warning("lmtp event=session_queued error=\"%s\"", error->message);
	return TRUE;
}

static gboolean listen_unix(DkLmtpServer *server, const DkConfig *config, const char *path,
                            GError **error)
{
	/* A socket file left by an earlier run would make bind fail. */
	if (g_file_test(path, G_FILE_TEST_EXISTS) && !g_file_test(path, G_FILE_TEST_IS_REGULAR))
		g_unlink(path);
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(server->service), addr,
	                                   G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, NULL,
	                                   NULL, error))
		return FALSE;
	g_ptr_array_add(server->unix_paths, g_strdup(path));
	guint64 mode = 0660;
	g_ascii_string_to_unsigned(dk_config_get_string(config, "lmtp", "unix_mode"), 8, 0, 0777,
	                           &mode, NULL);
	const char *group = dk_config_get_string(config, "lmtp", "unix_group");
	if (*group != '\0') {
		struct group *g = getgrnam(group);
		if (g == NULL || chown(path, (uid_t)-1, g->gr_gid) != 0) {
			g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "cannot give %s to group %s",
			            path, group);
			return FALSE;
		}
	}
	if (g_chmod(path, (int)mode) != 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "chmod %s: %s", path,
		            g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

static gboolean listen_one(DkLmtpServer *server, const DkConfig *config, const char *spec,
                           GError **error)
{
	if (g_str_has_prefix(spec, "unix:"))
		return listen_unix(server, config, spec + 5, error);
	g_autoptr(GSocketAddress) addr = dk_socket_address_parse(spec, error);
	if (addr == NULL)
		return FALSE;
	g_autoptr(GSocketAddress) bound = NULL;
	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(server->service), addr,
	                                   G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
	                                   &bound, error))
		return FALSE;
	GInetAddress *ia = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(bound));
	g_autofree char *ip = g_inet_address_to_string(ia);
	g_message("lmtp event=listening address=%s port=%u", ip,
	          g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound)));
	return TRUE;
}

DkLmtpServer *dk_lmtp_server_new(const DkConfig *config, char **listen, DkPipeline *pipeline,
                                 GError **error)
{
	DkLmtpServer *server = g_new0(DkLmtpServer, 1);
	g_mutex_init(&server->lock);
	g_cond_init(&server->idle);
	server->pipeline = pipeline;
	server->cancellable = g_cancellable_new();
	/* A session waiting for its client polls the socket and the
	 * cancellable's descriptor, which GIO makes for the wait and closes
	 * after it unless someone holds it: held here, one eventfd for the
	 * server's life instead of an eventfd2 and a close a wait (three a
	 * message at one session). */
	GPollFD unused;
	server->pollfd_held = g_cancellable_make_pollfd(server->cancellable, &unused);
	server->unix_paths = g_ptr_array_new_with_free_func(g_free);
	/* as many threads as sessions (max_connections bounds them); up to
	 * 32 kept when unused, for the next connections */
	server->sessions = g_thread_pool_new(session_run, server, -1, FALSE, NULL);
	int kept = g_thread_pool_get_max_unused_threads(); /* -1: no limit */
	if (kept >= 0 && kept < 32)
		g_thread_pool_set_max_unused_threads(32);
	server->service = g_socket_service_new();
	dk_lmtp_server_reload(server, config);
	/* GIO's listen queue of 10 overflows when a burst of connections
	 * meets a busy main loop; the kernel then half-opens the rest (SYN
	 * cookies) and drops them, and their clients wait for a greeting that
	 * never comes. Room for every connection we would serve. */
	g_socket_listener_set_backlog(G_SOCKET_LISTENER(server->service),
	                              (int)MAX(server->max_connections, 128));
	g_auto(GStrv) configured = listen ? NULL : dk_config_get_list(config, "lmtp", "listen");
	char **addresses = listen ? listen : configured;
	for (int i = 0; addresses[i] != NULL; i++) {
		if (!listen_one(server, config, addresses[i], error)) {
			g_prefix_error(error, "lmtp: listening on %s: ", addresses[i]);
			dk_lmtp_server_free(server);
			return NULL;
		}
	}
	g_signal_connect(server->service, "incoming", G_CALLBACK(on_incoming), server);
	g_socket_service_start(server->service);
	return server;
}

void dk_lmtp_server_reload(DkLmtpServer *server, const DkConfig *config)
{
	DkLmtpSettings *fresh = dk_lmtp_settings_new(config);
	g_mutex_lock(&server->lock);
	DkLmtpSettings *old = server->settings;
	server->settings = fresh;
	server->max_connections = (guint)dk_config_get_int(config, "lmtp", "max_connections");
	server->timeout_seconds = (guint)dk_config_get_int(config, "lmtp", "timeout_seconds");
	g_mutex_unlock(&server->lock);
	dk_lmtp_settings_unref(old);
}

void dk_lmtp_server_shutdown(DkLmtpServer *server, guint wait_seconds)
{
	g_socket_service_stop(server->service);
	g_socket_listener_close(G_SOCKET_LISTENER(server->service));
	g_cancellable_cancel(server->cancellable);
	gint64 deadline = g_get_monotonic_time() + (gint64)wait_seconds * G_USEC_PER_SEC;
	g_mutex_lock(&server->lock);
	while (server->active > 0) {
		if (!g_cond_wait_until(&server->idle, &server->lock, deadline))
			break;
	}
	if (server->active > 0)
		g_warning("lmtp event=shutdown sessions_left=%u", server->active);
	g_mutex_unlock(&server->lock);
}

guint dk_lmtp_server_active(DkLmtpServer *server)
{
	g_mutex_lock(&server->lock);
	guint n = server->active;
	g_mutex_unlock(&server->lock);
	return n;
}

void dk_lmtp_server_free(DkLmtpServer *server)
{
	if (server == NULL)
		return;
	g_socket_service_stop(server->service);
	g_socket_listener_close(G_SOCKET_LISTENER(server->service));
	g_object_unref(server->service);
	/* a session still running (past the shutdown's wait) keeps its
	 * thread: the pool is let go without waiting for it, as a thread of
	 * its own was; one still queued (no thread could be made) never runs */
	g_thread_pool_free(server->sessions, TRUE, FALSE);
	for (guint i = 0; i < server->unix_paths->len; i++)
		g_unlink(g_ptr_array_index(server->unix_paths, i));
	g_ptr_array_unref(server->unix_paths);
	if (server->pollfd_held)
		g_cancellable_release_fd(server->cancellable);
	g_object_unref(server->cancellable);
	dk_lmtp_settings_unref(server->settings);
	g_mutex_clear(&server->lock);
	g_cond_clear(&server->idle);
	g_free(server);
}
