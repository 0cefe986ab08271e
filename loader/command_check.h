/* command_check: the shape of an exact.commands message (docs/commands.md), checked before
 * any call to Exact: an invalid command costs no request and never counts towards Exact's
 * error limit. Pure functions on JSON, no I/O, so they can be fuzzed on their own. */
#ifndef LOADER_COMMAND_CHECK_H
#define LOADER_COMMAND_CHECK_H

#include <jansson.h>
#include <stddef.h>

/**
 * @brief Parse @p len bytes of @p payload as a command for the tenant of message key @p key
 *        (may be empty) and check its envelope and structure.
 * @param out receives the parsed object whenever the payload is a JSON object, valid or not
 *        (so a dead letter can still name its source id); the caller json_decref()s it.
 * @returns 0 for a valid command, -1 with the reason in @p why.
 */
int command_parse(const char *payload, size_t len, const char *key, json_t **out, char *why,
                  size_t why_size);

/** @brief Structure and mandatory fields of a parsed command. @returns 0, or -1 with @p why. */
int command_validate(const json_t *cmd, char *why, size_t why_size);

/** @brief Member @p k of @p o as text, "" when absent or not a string. */
const char *command_str(const json_t *o, const char *k);

/** @brief The lines member of a document: SalesInvoiceLines or SalesOrderLines. */
const char *command_lines_member(int invoice);

#endif
