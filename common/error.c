#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>

int cx_fail(cx_err *err, cx_code code, bool retriable, const char *fmt, ...)
{
        va_list ap;

        if (!err)
                return -1;
        err->code = code;
        err->retriable = retriable;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        return -1;
}

void cx_err_clear(cx_err *err)
{
        if (!err)
                return;
        err->code = CX_OK;
        err->retriable = false;
        err->msg[0] = '\0';
}

const char *cx_code_name(cx_code code)
{
        switch (code) {
        case CX_OK: return "ok";
        case CX_ERR_CONFIG: return "config";
        case CX_ERR_IO: return "io";
        case CX_ERR_KAFKA: return "kafka";
        case CX_ERR_DB: return "db";
        case CX_ERR_HTTP: return "http";
        case CX_ERR_PARSE: return "parse";
        case CX_ERR_CRYPTO: return "crypto";
        case CX_ERR_INVALID: return "invalid";
        case CX_ERR_NOT_FOUND: return "not_found";
        case CX_ERR_LIMIT: return "limit";
        }
        return "unknown";
}
