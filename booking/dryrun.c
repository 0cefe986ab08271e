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

/* The running intra-EU B2C total per calendar year, as the daemon keeps it in PostgreSQL. */
struct oss_years {
        int year[16];
        long long cents[16];
        int n;
};

static long long *oss_year_slot(struct oss_years *y, int year)
{
        for (int i = 0; i < y->n; i++) {
                if (y->year[i] == year)
                        return &y->cents[i];
        }
        if (y->n == 16)
                return NULL;
        y->year[y->n] = year;
        y->cents[y->n] = 0;
        return &y->cents[y->n++];
}

/* The context of one order: the rules' onboarding figures plus what this run booked. */
static void order_ctx(const rules *r, const json_t *order, struct oss_years *y, booking_ctx *ctx,
                      long long **slot)
{
        int year = (int)(booking_tax_point(r, order) / 10000);

        rules_oss_start(r, year, &ctx->oss_ytd_cents, &ctx->oss_prev_year_over);
        *slot = oss_year_slot(y, year);
        if (*slot)
                ctx->oss_ytd_cents += **slot;
        ctx->vies = VIES_NOT_CHECKED;
}

int dryrun_run_rules(FILE *in, FILE *out, const rules *r)
{
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        struct oss_years years = { .n = 0 };

        errno = 0;
        while ((len = getline(&line, &cap, in)) >= 0) {
                json_error_t jerr;
                json_t *order;
                booking b;
                booking_ctx ctx;
                long long *slot;
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
                order_ctx(r, order, &years, &ctx, &slot);
                if (booking_from_order(r, order, &ctx, &b, err, sizeof(err)) != 0) {
                        emit_error(out, b.source_id[0] ? b.source_id : NULL, err);
                } else {
                        if (slot)
                                *slot += b.threshold_net_cents;
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
        rules *r = rules_load_file(rules_path, err, sizeof(err));
        int rc;

        if (!r) {
                fprintf(stderr, "transformer: %s\n", err);
                return 1;
        }
        rc = dryrun_run_rules(in, out, r);
        rules_free(r);
        return rc;
}
