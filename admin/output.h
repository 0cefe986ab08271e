/* output: connector-admin's results on stdout: JSON with --json; otherwise `key: value`
 * lines, and lists of objects as tab-separated tables with a header line. */
#ifndef ADMIN_OUTPUT_H
#define ADMIN_OUTPUT_H

#include <jansson.h>
#include <stdio.h>

#include "admin/cli.h"

/** @brief @p v as indented `key: value` lines on @p out. */
void output_human(FILE *out, const json_t *v, int indent);

/** @brief Print @p result (stolen; NULL is a failure); @returns the exit code. */
int output_emit(const cli_inv *in, json_t *result);

/** @brief Print {"ok": true, "done": @p what, "id": @p id}; @returns exit 0. */
int output_emit_ok(const cli_inv *in, const char *what, const char *id);

#endif
