#pragma once
/*
 * fakes/exact/xf_server.h — the HTTP side of exact-fake (libmicrohttpd).
 */
#include "xf.h"

struct xf_server;

/*
 * Starts listening on cfg->listen ("ADDR:PORT", port 0 picks a free one). @cfg must
 * outlive the server. Returns NULL and prints the reason on stderr on failure.
 */
struct xf_server *xf_server_start(const struct xf_config *cfg);
/* The port actually bound. */
unsigned xf_server_port(const struct xf_server *s);
/* Stops the daemon and frees all state. NULL-safe. */
void xf_server_stop(struct xf_server *s);
