/* dryrun: the `transformer --dry-run --rules FILE` contract (DESIGN.md "Transformer dry run"). */
#ifndef BOOKING_DRYRUN_H
#define BOOKING_DRYRUN_H

#include <stdio.h>

#include "booking/rules.h"
#include "booking/vies_policy.h"

/* Reads CCV order documents from in, one JSON object per line, and writes one result object
 * per line to out, in order. Returns 0, 1 when the rules file cannot be loaded (a message is
 * printed on stderr), or 2 when in cannot be read. @p vies_path: answers file, or NULL. */
int dryrun_run(FILE *in, FILE *out, const char *rules_path, const char *vies_path);

/* Same with rules already loaded (used by tests and the benchmark). */
int dryrun_run_rules(FILE *in, FILE *out, const rules *r);

/* The state the daemon keeps in PostgreSQL, from elsewhere: the preview reads the daemon's
 * own tables (ops_preview.c), the command line a file of VIES answers (--vies FILE). */
typedef struct dryrun_state {
        /* the running OSS total of @p year the connector counted before order @p source_id
         * (added to the rules' onboarding figure); NULL = what this run booked, in memory */
        int (*oss_stored)(void *arg, int year, const char *source_id, long long *cents);
        vies_lookup_fn vies; /* NULL: offline VAT-number checks only, no "vies" member */
        void *arg;
} dryrun_state;

int dryrun_run_state(FILE *in, FILE *out, const rules *r, const dryrun_state *st);

/* VIES answers for the dry run: a JSON object {"DE136695976": {"outcome": "valid",
 * "consultation": "...", "date": "..."}, ...} (outcome valid, invalid or unavailable; error
 * the VIES code of an unavailable answer). Returns NULL with err on a malformed file. A number
 * not in the file is "not_checked". */
json_t *dryrun_vies_load(const char *path, char *err, size_t errlen);
int dryrun_vies_lookup(void *answers, const rules *r, const char *vat_number, vies_answer *out);

#endif
