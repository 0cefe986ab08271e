/* log.h: JSON-lines logging to stderr.
 *
 * One event is one line, written with a single write(2) so lines from several threads never
 * interleave. Each line is a JSON object: ts, level, program, event, msg, plus any fields
 * the caller adds. Registered secrets (credentials, tokens) are replaced by "***" wherever
 * they would appear. librdkafka, libcurl and libpq messages are routed here by the modules
 * that own those handles. */
#ifndef CX_LOG_H
#define CX_LOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum cx_log_level {
        CX_LOG_DEBUG,
        CX_LOG_INFO,
        CX_LOG_WARN,
        CX_LOG_ERROR,
} cx_log_level;

/** @brief Set the program name and the lowest level written. Safe to call again. */
void cx_log_init(const char *program, cx_log_level min_level);

/** @brief Parse "debug", "info", "warn" or "error". @returns 0, or -1 if unknown. */
int cx_log_level_parse(const char *text, cx_log_level *out);

/** @brief Never print @p secret (copied) in any later log line; any number of secrets (one
 *  pass per line whatever their number). Strings under 4 bytes are ignored. */
void cx_log_add_secret(const char *secret);

/** @brief Stop redacting @p secret (a tenant's rotated or dropped secret). */
void cx_log_forget_secret(const char *secret);

/** @brief How many secrets are registered. */
size_t cx_log_secret_count(void);

/** @brief Forget every secret and free the table (at exit, for leak checkers). */
void cx_log_free_secrets(void);

/** @brief Whether a line of @p level would be written. */
bool cx_log_enabled(cx_log_level level);

/** @brief Log event @p event with a printf-style message. */
void cx_log(cx_log_level level, const char *event, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/**
 * @brief Like cx_log() with extra members: @p fields is a JSON object whose members are added
 *        to the line (e.g. tenant, source_id). The reference to @p fields is stolen.
 */
void cx_log_fields(cx_log_level level, const char *event, json_t *fields, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/** @brief Replace every registered secret in @p text by "***". @returns a malloc'd copy. */
char *cx_log_redact(const char *text);

#endif
