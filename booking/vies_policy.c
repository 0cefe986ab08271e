/* vies_policy: see vies_policy.h. */
#include "booking/vies_policy.h"

#include <stdio.h>
#include <string.h>

#include "vat/vat_number.h"

static const char *const policy_names[] = { "recheck", "hold", "domestic", "off" };
static const char *const state_names[] = { "not_checked", "valid", "invalid", "unavailable" };

const char *vies_policy_name(enum vies_policy p)
{
        return p <= VIES_POLICY_OFF ? policy_names[p] : "recheck";
}

enum vies_policy rules_vies_policy(const rules *r)
{
        const char *s = json_string_value(json_object_get(r->extra, "vies_policy"));

        for (int i = 0; s && i <= VIES_POLICY_OFF; i++) {
                if (!strcmp(s, policy_names[i]))
                        return (enum vies_policy)i;
        }
        return VIES_POLICY_RECHECK;
}

const char *rules_vies_requester(const rules *r)
{
        const char *s = json_string_value(json_object_get(r->extra, "vat_number"));

        return s && *s ? s : NULL;
}

/* Rules member vies_domestic_rate as basis points, 0 when absent (the standard rate). */
static int domestic_rate_bp(const rules *r)
{
        const json_t *v = json_object_get(r->extra, "vies_domestic_rate");

        return json_is_number(v) ? (int)(json_number_value(v) * 100.0 + 0.5) : 0;
}

int vies_rules_validate(const rules *r, char *err, size_t errlen)
{
        const json_t *p = json_object_get(r->extra, "vies_policy");
        const json_t *v = json_object_get(r->extra, "vat_number");
        const json_t *rate = json_object_get(r->extra, "vies_domestic_rate");
        enum vat_class cls;
        char norm[48], cc[3] = "";

        if (p &&
            (!json_is_string(p) ||
             (strcmp(json_string_value(p), "recheck") && strcmp(json_string_value(p), "hold") &&
              strcmp(json_string_value(p), "domestic") && strcmp(json_string_value(p), "off")))) {
                snprintf(err, errlen,
                         "rules: \"vies_policy\" must be recheck, hold, domestic or off (what to "
                         "do with an intra-community supply when VIES cannot answer)");
                return -1;
        }
        if (rate && !json_is_null(rate) &&
            (!json_is_number(rate) || json_number_value(rate) <= 0 ||
             json_number_value(rate) >= 100 ||
             (cls = vat_rates_class_ever(r->home_country, "", domestic_rate_bp(r))) ==
                     VAT_CLASS_NONE ||
             cls == VAT_CLASS_ZERO)) {
                snprintf(err, errlen,
                         "rules: \"vies_domestic_rate\" (the rate of vies_policy domestic) must "
                         "be a %s VAT rate above 0",
                         r->home_country);
                return -1;
        }
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v) ||
            vat_number_check(json_string_value(v), norm, sizeof(norm)) != VAT_NUMBER_VALID ||
            (vat_number_country(norm, cc), strcmp(cc, r->home_country))) {
                snprintf(err, errlen,
                         "rules: \"vat_number\" (the administration's own VAT number, sent to "
                         "VIES as the requester) must be a valid %s VAT number",
                         r->home_country);
                return -1;
        }
        return 0;
}

const char *vies_state_name(enum vies_state s)
{
        return s <= VIES_UNAVAILABLE ? state_names[s] : "not_checked";
}

int vies_state_parse(const char *name, enum vies_state *out)
{
        for (int i = 0; name && i <= VIES_UNAVAILABLE; i++) {
                if (!strcmp(name, state_names[i])) {
                        *out = (enum vies_state)i;
                        return 0;
                }
        }
        return -1;
}

int vies_split(const char *vat, char cc[3], char *number, size_t size)
{
        if (!vat || strlen(vat) < 4 || strlen(vat) - 2 >= size)
                return -1;
        memcpy(cc, vat, 2);
        cc[2] = '\0';
        snprintf(number, size, "%s", vat + 2);
        return 0;
}

/* "VIES DE136695976 valid, consultation X, 2026-12-02" and the like. */
static void note_of(const vies_answer *a, const char *tail, char *note, size_t len)
{
        char date[16] = "";

        snprintf(date, sizeof(date), "%.10s", a->request_date);
        snprintf(note, len, "VIES %s %s%s%s%s%s%s%s%s%s", a->vat_number, vies_state_name(a->state),
                 a->error[0] ? " (" : "", a->error, a->error[0] ? ")" : "",
                 a->request_identifier[0] ? ", consultation " : "", a->request_identifier,
                 date[0] ? ", " : "", date, tail);
}

enum vies_action vies_policy_decide(const rules *r, const vies_answer *a, enum vies_state *state,
                                    char *note, size_t notelen)
{
        enum vies_policy p = rules_vies_policy(r);

        *state = a->state;
        switch (a->state) {
        case VIES_NOT_CHECKED:
                snprintf(note, notelen, "VIES %s not checked (offline check only)", a->vat_number);
                return VIES_ACTION_BOOK;
        case VIES_VALID: note_of(a, "", note, notelen); return VIES_ACTION_BOOK;
        case VIES_INVALID:
                note_of(a, ": not a valid VAT number on the day of supply, no 0% ICP", note,
                        notelen);
                return VIES_ACTION_REBOOK;
        case VIES_UNAVAILABLE: break;
        }
        if (p == VIES_POLICY_HOLD) {
                note_of(a, "; vies_policy hold: not booked until VIES answers", note, notelen);
                return VIES_ACTION_HOLD;
        }
        if (p == VIES_POLICY_DOMESTIC) {
                note_of(a, "; vies_policy domestic: no 0% ICP without a VIES confirmation", note,
                        notelen);
                return VIES_ACTION_REBOOK;
        }
        note_of(a,
                "; vies_policy recheck: booked as ICP on the offline check, VIES asked again later",
                note, notelen);
        *state = VIES_NOT_CHECKED;
        return VIES_ACTION_RECHECK;
}

json_t *vies_answer_json(const vies_answer *a, const rules *r)
{
        json_t *o = json_object();

        json_object_set_new(o, "vat_number", json_string(a->vat_number));
        json_object_set_new(o, "outcome", json_string(vies_state_name(a->state)));
        if (a->request_identifier[0])
                json_object_set_new(o, "consultation", json_string(a->request_identifier));
        if (a->request_date[0])
                json_object_set_new(o, "date", json_string(a->request_date));
        if (a->error[0])
                json_object_set_new(o, "error", json_string(a->error));
        if (a->state == VIES_UNAVAILABLE)
                json_object_set_new(o, "policy",
                                    json_string(vies_policy_name(rules_vies_policy(r))));
        if (a->state != VIES_NOT_CHECKED)
                json_object_set_new(o, "cached", json_boolean(a->from_cache));
        return o;
}

/* Whether the order needs VIES: the engine chose ICP (also when the booking then failed,
 * e.g. VAT charged: a negative answer makes it a sale to a consumer, which may book). */
static bool needs_vies(const rules *r, const booking *b, vies_lookup_fn lookup)
{
        return lookup && b->decision.scenario == VAT_SCENARIO_ICP &&
               rules_vies_policy(r) != VIES_POLICY_OFF;
}

int vies_book_order(const rules *r, const json_t *order, booking_ctx *ctx, vies_lookup_fn lookup,
                    void *arg, booking *out, vies_outcome *vo, char *err, size_t errlen)
{
        enum vies_state state;
        char why[512];
        int first;

        memset(vo, 0, sizeof(*vo));
        ctx->vies = VIES_NOT_CHECKED;
        ctx->vies_domestic = false;
        first = booking_from_order(r, order, ctx, out, err, errlen);
        if (!needs_vies(r, out, lookup))
                return first == 0 ? VIES_BOOKED : VIES_REJECTED;
        vo->consulted = true;
        if (lookup(arg, r, out->decision.vat_number, &vo->answer) != 0) {
                booking_clear(out);
                snprintf(err, errlen, "VIES answer for %s could not be looked up",
                         out->decision.vat_number);
                return VIES_LOOKUP_FAILED;
        }
        snprintf(vo->answer.vat_number, sizeof(vo->answer.vat_number), "%s",
                 out->decision.vat_number);
        vo->action = vies_policy_decide(r, &vo->answer, &state, vo->note, sizeof(vo->note));
        if (vo->action == VIES_ACTION_HOLD) {
                booking_clear(out);
                return VIES_HELD;
        }
        if (vo->action == VIES_ACTION_REBOOK) {
                booking_clear(out);
                ctx->vies = state;
                /* VIES down and the policy says the home rate: the shop's 0% order becomes a
                 * home sale out of what the customer paid (booking.c) */
                ctx->vies_domestic = state == VIES_UNAVAILABLE;
                ctx->vies_domestic_bp = domestic_rate_bp(r);
                if (booking_from_order(r, order, ctx, out, why, sizeof(why)) != 0) {
                        snprintf(err, errlen, "%s: %s", vo->note, why);
                        return VIES_REJECTED;
                }
        } else if (first != 0) {
                /* valid, or unknown under recheck: the refusal stands, nothing to re-check */
                vo->action = VIES_ACTION_BOOK;
                return VIES_REJECTED;
        }
        out->vies = vies_answer_json(&vo->answer, r);
        return VIES_BOOKED;
}
