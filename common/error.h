/* error.h: the error type and the error-handling convention used everywhere.
 *
 * Convention: a function that can fail returns 0 on success and -1 on failure, and
 * fills the caller's `cx_err *` (which may be NULL) with a code, a message a person
 * can act on, and whether trying again may help. Functions that return pointers
 * return NULL on failure and fill the error the same way. Nothing in common/ exits
 * the process except the configuration loader, whose whole job is to stop early. */
#ifndef CX_ERROR_H
#define CX_ERROR_H

#include <stdbool.h>

typedef enum cx_code {
        CX_OK = 0,
        CX_ERR_CONFIG,    /**< bad or missing configuration */
        CX_ERR_IO,        /**< file or socket error */
        CX_ERR_KAFKA,     /**< broker or client error */
        CX_ERR_DB,        /**< PostgreSQL error */
        CX_ERR_HTTP,      /**< transport error or unexpected HTTP status */
        CX_ERR_PARSE,     /**< malformed input (JSON, numbers, dates) */
        CX_ERR_CRYPTO,    /**< encryption failed or tampering detected */
        CX_ERR_INVALID,   /**< well-formed input that breaks a rule */
        CX_ERR_NOT_FOUND, /**< the thing asked for does not exist */
        CX_ERR_LIMIT,     /**< a size, time or rate bound was hit */
} cx_code;

typedef struct cx_err {
        cx_code code;
        bool retriable; /**< the same call may succeed later (network, 5xx, lock) */
        char msg[512];
} cx_err;

/** @brief Fill @p err (if not NULL) and return -1, so callers can `return cx_fail(...)`. */
int cx_fail(cx_err *err, cx_code code, bool retriable, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/** @brief Reset @p err to "no error". */
void cx_err_clear(cx_err *err);

/** @brief Short stable name of a code, for logs and metrics labels ("db", "http"...). */
const char *cx_code_name(cx_code code);

#endif
