/* Fuzz target: the loader's command parser and checks. Any bytes must end in a valid command
 * or a reason, never a crash; a command judged valid must name a tenant, a source id and a
 * known kind. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader/command_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char why[300] = "";
        json_t *cmd = NULL;
        int rc = command_parse((const char *)data, size, "fuzz", &cmd, why, sizeof(why));

        if (rc == 0) {
                const char *kind = command_str(cmd, "kind");

                if (!cmd || strcmp(command_str(cmd, "tenant"), "fuzz") != 0 ||
                    !command_str(cmd, "source_id")[0])
                        abort();
                if (strcmp(kind, "sales_order") && strcmp(kind, "sales_invoice") &&
                    strcmp(kind, "account_upsert") && strcmp(kind, "item_upsert"))
                        abort();
        } else if (!why[0]) {
                abort();
        }
        json_decref(cmd);
        return 0;
}
