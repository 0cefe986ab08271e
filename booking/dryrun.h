/* dryrun: the `transformer --dry-run --rules FILE` contract (DESIGN.md "Transformer dry run"). */
#ifndef BOOKING_DRYRUN_H
#define BOOKING_DRYRUN_H

#include <stdio.h>

#include "booking/rules.h"

/* Reads CCV order documents from in, one JSON object per line, and writes one result object
 * per line to out, in order. Returns 0, 1 when the rules file cannot be loaded (a message is
 * printed on stderr), or 2 when in cannot be read. */
int dryrun_run(FILE *in, FILE *out, const char *rules_path);

/* Same with rules already loaded (used by tests and the benchmark). */
int dryrun_run_rules(FILE *in, FILE *out, const rules *r);

#endif
