/* config.h: configuration from environment variables, described in one table per program.
 *
 * Every variable a program reads is a row: name, type, default, bounds, whether it is a
 * secret, and a line of help. Loading checks every row and also refuses any variable with
 * the project's prefix that no row names (a typo must not silently fall back to a default).
 * The same tables print the configuration reference in docs/, so the docs cannot drift. */
#ifndef CX_CONFIG_H
#define CX_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "common/error.h"

#define CX_ENV_PREFIX "CX_"
/* Every secret variable NAME also accepts NAME_FILE: the path of a file holding the value
 * (docker secrets, mounted secret volumes); its trailing line break is not part of it.
 * Setting both is an error. */
#define CX_CFG_FILE_SUFFIX "_FILE"

typedef enum cx_cfg_type {
        CX_CFG_STR,
        CX_CFG_INT,
        CX_CFG_BOOL,
} cx_cfg_type;

typedef struct cx_cfg_var {
        const char *name; /**< full variable name, CX_... */
        cx_cfg_type type;
        const char *def; /**< default as text; NULL means required */
        long long min;   /**< bounds for CX_CFG_INT (inclusive) */
        long long max;
        bool secret; /**< never printed, redacted from logs */
        const char *help;
} cx_cfg_var;

/* Tables end with a row whose name is NULL. */
#define CX_CFG_END                                        \
        {                                                 \
                NULL, CX_CFG_STR, NULL, 0, 0, false, NULL \
        }

/** Variables every daemon reads: Kafka, PostgreSQL, logging, the HTTP port. */
extern const cx_cfg_var cx_common_vars[];

typedef struct cx_config cx_config;

/**
 * @brief Read the variables of @p tables (a NULL-terminated list of tables) from @p envp.
 * @returns the configuration, or NULL with @p err naming the variable and what was expected.
 */
cx_config *cx_config_load(const cx_cfg_var *const *tables, char **envp, cx_err *err);

/** @brief Load or print the error on stderr and exit(2): the one place a daemon stops early. */
cx_config *cx_config_load_or_exit(const char *program, const cx_cfg_var *const *tables,
                                  char **envp);

/* Accessors; asking for a name no table declared is a programming error and aborts. */
const char *cx_config_str(const cx_config *cfg, const char *name);
long long cx_config_int(const cx_config *cfg, const char *name);
bool cx_config_bool(const cx_config *cfg, const char *name);
/** @brief true when the variable was set in the environment (not defaulted). */
bool cx_config_is_set(const cx_config *cfg, const char *name);

void cx_config_free(cx_config *cfg);

/**
 * @brief One variable straight from @p envp (NULL when unset or empty), for the small
 *        command-line helpers that run without their program's whole table (sealing a
 *        secret from a set-up script); daemons use cx_config_load().
 */
const char *cx_config_lookup(char **envp, const char *name);

/** @brief Print a Markdown table of @p tables: name, type, default, bounds, help. */
void cx_config_print_reference(FILE *out, const char *program, const cx_cfg_var *const *tables);

#endif
