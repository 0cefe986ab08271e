/* input: what connector-admin reads besides its arguments: secrets (never from arguments,
 * where they would show in ps and shell history) and text files, from a path or stdin ("-"). */
#ifndef ADMIN_INPUT_H
#define ADMIN_INPUT_H

#include <stddef.h>

#include "common/error.h"

/**
 * @brief One non-empty line from @p path ("-" is stdin), without its line end, registered for
 *        redaction in the logs. Free it with input_free_secret().
 * @returns the secret, or NULL with CX_ERR_PARSE.
 */
char *input_secret(const char *path, cx_err *err);

/** @brief Wipe and free a secret from input_secret() (NULL is fine). */
void input_free_secret(char *s);

/**
 * @brief The first line of stdin without its line end, up to @p max characters (a longer one
 *        is cut, and then refused by the caller's length check). Free with input_free_secret().
 * @returns the line, or NULL (CX_ERR_PARSE) when stdin is empty.
 */
char *input_first_line(size_t max, cx_err *err);

/** @brief The whole of @p path ("-" is stdin), up to 16 MiB (malloc'd), or NULL. */
char *input_text(const char *path, cx_err *err);

#endif
