/* dryrun: orders in, bookings or rejections out, nothing else touched. */
#include "booking/dryrun.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "booking/booking.h"
#include "booking/commands.h"
#include "booking/dryrun_after.h"
#include "booking/fields.h"
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

/* The context of one order: the rules' onboarding figures plus what was counted before it
 * (by this run, or by the daemon when the state says so). */
static int order_ctx(const rules *r, const json_t *order, const dryrun_state *st,
                     struct oss_years *y, booking_ctx *ctx, long long **slot)
{
        int year = (int)(booking_tax_point(r, order) / 10000);
        long long stored = 0;
        char sid[32] = "";

        memset(ctx, 0, sizeof(*ctx));
        rules_oss_start(r, year, &ctx->oss_ytd_cents, &ctx->oss_prev_year_over);
        *slot = NULL;
        ctx->vies = VIES_NOT_CHECKED;
        if (st && st->oss_stored) {
                const json_t *id = json_object_get(order, "id");

                if (json_is_integer(id))
                        snprintf(sid, sizeof(sid), "%lld", (long long)json_integer_value(id));
                else if (json_is_string(id))
                        snprintf(sid, sizeof(sid), "%s", json_string_value(id));
                if (r->oss_mode == OSS_MODE_AUTO && st->oss_stored(st->arg, year, sid, &stored))
                        return -1;
                ctx->oss_ytd_cents += stored;
                return 0;
        }
        *slot = oss_year_slot(y, year);
        if (*slot)
                ctx->oss_ytd_cents += **slot;
        return 0;
}

/* The result line of one order. */
static void one_order(FILE *out, const rules *r, const json_t *order, const dryrun_state *st,
                      struct oss_years *years, json_t *seen)
{
        char sid[32];
        booking b;
        booking_ctx ctx;
        vies_outcome vo;
        long long *slot;
        char err[1024];
        int rc;

        if (order_ctx(r, order, st, years, &ctx, &slot) != 0) {
                emit_error(out, NULL, "the running OSS total could not be read");
                return;
        }
        /* a cancellation of an order this run booked is credited; one never booked is not */
        ctx.map_cancelled = field_id(order, "id", sid, sizeof(sid)) &&
                            dryrun_after_booked(seen, sid);
        rc = vies_book_order(r, order, &ctx, st ? st->vies : NULL, st ? st->arg : NULL, &b, &vo,
                             err, sizeof(err));
        if (rc == VIES_HELD) {
                json_t *o = json_object();

                json_object_set_new(o, "source_id", json_string(b.source_id));
                json_object_set_new(o, "held", json_string(vo.note));
                json_object_set_new(o, "vies", vies_answer_json(&vo.answer, r));
                emit(out, o);
        } else if (rc != VIES_BOOKED) {
                emit_error(out, b.source_id[0] ? b.source_id : NULL, err);
        } else {
                json_t *res = booking_result_json(&b);
                json_t *after = dryrun_after_step(seen, &b, r);

                if (slot && !after)
                        *slot += b.threshold_net_cents;
                if (after)
                        json_object_set_new(res, "after_booking", after);
                emit(out, res);
                booking_clear(&b);
        }
}

int dryrun_run_state(FILE *in, FILE *out, const rules *r, const dryrun_state *st)
{
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        struct oss_years years = { .n = 0 };
        json_t *seen = json_object();

        errno = 0;
        while ((len = getline(&line, &cap, in)) >= 0) {
                json_error_t jerr;
                json_t *order;
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
                one_order(out, r, order, st, &years, seen);
                json_decref(order);
        }
        free(line);
        json_decref(seen);
        fflush(out);
        return ferror(in) ? 2 : 0;
}

int dryrun_run_rules(FILE *in, FILE *out, const rules *r)
{
        return dryrun_run_state(in, out, r, NULL);
}

json_t *dryrun_vies_load(const char *path, char *err, size_t errlen)
{
        json_error_t jerr;
        json_t *obj = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *v;
        const char *k;
        enum vies_state s;

        if (!json_is_object(obj)) {
                snprintf(err, errlen, "--vies %s: %s", path,
                         obj ? "must hold a JSON object {VAT number: answer}" : jerr.text);
                json_decref(obj);
                return NULL;
        }
        json_object_foreach (obj, k, v) {
                if (!json_is_object(v) ||
                    vies_state_parse(json_string_value(json_object_get(v, "outcome")), &s) ||
                    s == VIES_NOT_CHECKED) {
                        snprintf(err, errlen,
                                 "--vies %s: answer for \"%.40s\" needs \"outcome\": valid, "
                                 "invalid or unavailable",
                                 path, k);
                        json_decref(obj);
                        return NULL;
                }
        }
        return obj;
}

static void copy_member(const json_t *o, const char *key, char *dst, size_t size)
{
        const char *s = json_string_value(json_object_get(o, key));

        snprintf(dst, size, "%s", s ? s : "");
}

int dryrun_vies_lookup(void *answers, const rules *r, const char *vat_number, vies_answer *out)
{
        const json_t *a = json_object_get(answers, vat_number);

        memset(out, 0, sizeof(*out));
        if (!a)
                return 0;
        vies_state_parse(json_string_value(json_object_get(a, "outcome")), &out->state);
        copy_member(a, "consultation", out->request_identifier, sizeof(out->request_identifier));
        copy_member(a, "date", out->request_date, sizeof(out->request_date));
        copy_member(a, "error", out->error, sizeof(out->error));
        return 0;
}

int dryrun_run(FILE *in, FILE *out, const char *rules_path, const char *vies_path)
{
        char err[512];
        rules *r = rules_load_file(rules_path, err, sizeof(err));
        json_t *answers = NULL;
        dryrun_state st = { NULL, dryrun_vies_lookup, NULL };
        int rc;

        if (!r) {
                fprintf(stderr, "transformer: %s\n", err);
                return 1;
        }
        if (vies_path && !(answers = dryrun_vies_load(vies_path, err, sizeof(err)))) {
                fprintf(stderr, "transformer: %s\n", err);
                rules_free(r);
                return 1;
        }
        st.arg = answers;
        rc = dryrun_run_state(in, out, r, answers ? &st : NULL);
        json_decref(answers);
        rules_free(r);
        return rc;
}
