/* booking: a CCV Shop order (GET /orders/{id} + "orderrows") -> the Exact document the loader
 * will POST, with the account and item definitions it refers to; also the upserts for
 * customer and product events and the exact.commands / dead-letter envelopes
 * (docs/commands.md). Pure computation: no I/O. */
#ifndef BOOKING_H
#define BOOKING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "booking/rules.h"
#include "booking/vat_engine.h"

/* Facts the caller keeps across orders (the daemon in PostgreSQL, the dry run in memory). */
struct booking_ctx {
        long long oss_ytd_cents;    /* intra-EU B2C net this year so far (auto OSS mode) */
        bool oss_prev_year_over;
        enum vies_state vies;       /* VIES answer for the order's VAT number, if asked */
};

struct booking {
        char source_id[32];
        struct vat_decision decision;
        const char *endpoint;       /* "salesorder/SalesOrders" or "salesinvoice/SalesInvoices" */
        json_t *body;               /* the document, accounts and items by code */
        json_t *account;            /* account definition (crm/Accounts fields + "contact") */
        json_t *items;              /* array of item definitions used by the lines */
        long long net_cents;        /* what Exact will book: sum of round2(qty * NetPrice) */
        long long vat_cents;        /* sum over lines of round2(amount * pct / 100) */
        long long gross_cents;      /* equals the shop's total_price */
        long long threshold_net_cents; /* amount to add to the OSS running total, or 0 */
};

/* Maps one order. Returns 0 and fills out (release with booking_clear), or -1 with the reason
 * in err; source_id is filled whenever the order has an id, also on failure. Rejections:
 * malformed order, not completed/cancelled, non-EUR, unknown country, missing address,
 * negative quantities, totals that do not add up, no VAT code mapped, VAT charged contrary to
 * the scenario, a needed item (shipping, discount, ...) not mapped. */
int booking_from_order(const struct rules *r, const json_t *order, const struct booking_ctx *ctx,
                       struct booking *out, char *err, size_t errlen);

void booking_clear(struct booking *b);

/* The dry-run success object {"source_id","scenario","endpoint","body","totals"} (+
 * "warnings" when the engine raised any). New reference. */
json_t *booking_result_json(const struct booking *b);

/* The exact.commands envelope for an order (kind sales_order or sales_invoice). trace_id may
 * be NULL. New reference, NULL on allocation failure. */
json_t *booking_command_json(const struct booking *b, const struct rules *r, const char *trace_id);

/* booking_dumps(booking_command_json(b, r, trace_id)), byte for byte, with the document
 * serialised once instead of twice (for the hash and for the text). Caller frees; NULL on
 * allocation failure. */
char *booking_command_dumps(const struct booking *b, const struct rules *r,
                            const char *trace_id);

/* Account definition from a CCV Personalinfo (order.customer or user.userinfo) and the
 * customer's user id (NULL or "" for guests). NULL with err when no stable code can be made
 * (guest without e-mail) or no name is known. */
json_t *booking_account_def(const json_t *personalinfo, const char *user_id, char *err,
                            size_t errlen);

/* exact.commands envelope for a customer event (GET /users/{id}). NULL with err on bad input. */
json_t *booking_account_upsert_json(const struct rules *r, const json_t *user,
                                    const char *trace_id, char *err, size_t errlen);

/* exact.commands envelope for a product event (GET /products/{id}). NULL with err on bad
 * input (no id, no name). */
json_t *booking_item_upsert_json(const struct rules *r, const json_t *product,
                                 const char *trace_id, char *err, size_t errlen);

/* Dead-letter record {"v","tenant","source_topic","source_id","trace_id","stage","reason",
 * "payload"}; payload is the original message text (kept verbatim as a string). */
json_t *booking_dead_letter_json(const char *tenant, const char *source_topic,
                                 const char *source_id, const char *trace_id, const char *reason,
                                 const char *payload);

/* Serialises with the flags every producer must use (compact, 15 significant digits for
 * reals, so amounts print as written). Caller frees. */
char *booking_dumps(const json_t *j);

/* json_loadb(text, len, flags, error), faster on the plain documents shops send: the same
 * tree (member order, integers vs reals, string bytes), and for anything unusual or malformed
 * jansson's own result and error. flags other than JSON_REJECT_DUPLICATES go straight to
 * jansson. NULL with error filled in on malformed input. */
json_t *booking_loadb(const char *text, size_t len, size_t flags, json_error_t *error);

/* "sha256:<hex>" of the compact serialisation of j (members in the order the builders
 * add them, which is fixed) into out[72]. Returns 0, or -1 on allocation failure. */
int booking_content_hash(const json_t *j, char out[72]);

#endif
