/* mail.h: plain-text e-mail over SMTP (libcurl). One message, one connection: the panel sends
 * a few (invitations, password resets, notifications), so nothing is queued or kept open.
 * Every call is bounded by the configured timeout. */
#ifndef CX_MAIL_H
#define CX_MAIL_H

#include <stdbool.h>

#include "common/error.h"

typedef struct cx_mail_cfg {
        const char *url;      /**< smtp://host:port or smtps://host:port; "" = not configured */
        const char *from;     /**< envelope and From: address */
        const char *user;     /**< "" = no authentication */
        const char *password; /**< with user */
        bool starttls;        /**< smtp://: insist on STARTTLS before anything is sent */
        long timeout_ms;      /**< the whole exchange */
} cx_mail_cfg;

/** @brief Whether @p cfg names a server. */
bool cx_mail_configured(const cx_mail_cfg *cfg);

/**
 * @brief Send @p text (UTF-8, lines separated by \n) with @p subject to @p to.
 * @returns 0, or -1: CX_ERR_PARSE for an address or subject with line breaks or no '@',
 *          CX_ERR_CONFIG when no server is configured, CX_ERR_HTTP (retriable) when the
 *          server refuses or cannot be reached in time.
 */
int cx_mail_send(const cx_mail_cfg *cfg, const char *to, const char *subject, const char *text,
                 cx_err *err);

#endif
