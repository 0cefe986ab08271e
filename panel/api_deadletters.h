/* api_deadletters: a tenant's dead letters: list, one with its payload, redrive and drop
 * (operators only). A dead letter of another tenant is "not found". */
#ifndef PANEL_API_DEADLETTERS_H
#define PANEL_API_DEADLETTERS_H

#include <stdbool.h>

#include "panel/rq.h"

void api_deadletters_list(rq *q, const char *t);
void api_deadletters_action(rq *q, const char *t, const char *ids, const char *action);

#endif
