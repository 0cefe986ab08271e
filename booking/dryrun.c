/* dryrun: orders in, bookings or rejections out, nothing else touched. */
#include "booking/dryrun.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "booking/booking.h"
#include "booking/commands.h"
#include "booking/json_fast.h"

static void emit(FILE *out, json_t *obj)
{
        char *s = booking_dumps(obj);

        if (s) {
                fputs(s, out);
                fputc('\n', out);
                free(s);
        }
        json_decref(obj);
}

static void emit_error(FILE *out, const char *source_id, const char *reason)
{
        json_t *o = json_object();

        json_object_set_new(o, "source_id", source_id ? json_string(source_id) : json_null());
        json_object_set_new(o, "error", json_string(reason));
        emit(out, o);
}

int dryrun_run_rules(FILE *in, FILE *out, const struct rules *r)
{
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        /* the running intra-EU B2C total the daemon keeps in PostgreSQL, kept here in memory */
        struct booking_ctx ctx = { .oss_ytd_cents = r->oss_ytd_cents,
                                   .oss_prev_year_over = r->oss_prev_year_over,
                                   .vies = VIES_NOT_CHECKED };

        errno = 0;
        while ((len = getline(&line, &cap, in)) >= 0) {
                json_error_t jerr;
                json_t *order;
                struct booking b;
                char err[512];

                while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                        line[--len] = '\0';
                order = booking_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
                if (!order) {
                        snprintf(err, sizeof(err), "malformed JSON: %s (column %d)", jerr.text,
                                 jerr.column);
                        emit_error(out, NULL, err);
                        continue;
                }
                if (booking_from_order(r, order, &ctx, &b, err, sizeof(err)) != 0) {
                        emit_error(out, b.source_id[0] ? b.source_id : NULL, err);
                } else {
                        ctx.oss_ytd_cents += b.threshold_net_cents;
                        emit(out, booking_result_json(&b));
                        booking_clear(&b);
                }
                json_decref(order);
        }
        free(line);
        fflush(out);
        return ferror(in) ? 2 : 0;
}

int dryrun_run(FILE *in, FILE *out, const char *rules_path)
{
        char err[512];
        struct rules *r = rules_load_file(rules_path, err, sizeof(err));
        int rc;

        if (!r) {
                fprintf(stderr, "transformer: %s\n", err);
                return 1;
        }
        rc = dryrun_run_rules(in, out, r);
        rules_free(r);
        return rc;
}
