/* The LMTP listener: TCP and Unix sockets, one thread per session, a
 * connection limit, and a shutdown that lets transactions in DATA finish. */
#pragma once

#include "gateway/config.h"
#include "gateway/core/pipeline.h"

G_BEGIN_DECLS

typedef struct DkLmtpServer DkLmtpServer;

/* Binds every address of listen (NULL: [lmtp] listen): "127.0.0.1:2424",
 * "[::1]:2424", "unix:/run/docket/lmtp". Sessions run once the main loop
 * runs. pipeline must outlive the server. */
DkLmtpServer *dk_lmtp_server_new(const DkConfig *config, char **listen, DkPipeline *pipeline,
                                 GError **error);

/* Takes limits and recipients from config for sessions that start from
 * now on. */
void dk_lmtp_server_reload(DkLmtpServer *server, const DkConfig *config);

/* Stops accepting, ends idle sessions with 421, lets a session in DATA
 * finish its transaction, and waits up to wait_seconds for all to end. */
void dk_lmtp_server_shutdown(DkLmtpServer *server, guint wait_seconds);

/* Sessions open now. */
guint dk_lmtp_server_active(DkLmtpServer *server);

void dk_lmtp_server_free(DkLmtpServer *server);

G_END_DECLS
