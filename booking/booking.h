/* booking: a CCV Shop order (GET /orders/{id} + "orderrows") -> the Exact document the loader
 * will POST, with the account and item definitions it refers to. Pure computation: no I/O.
 * The envelopes around it are in commands.h, the JSON reader and writer in json_fast.h. */
#ifndef BOOKING_H
#define BOOKING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "booking/rules.h"
#include "booking/vat_engine.h"

/* Exact's limits on an item code and on a line or item description (characters). */
#define BOOKING_MAX_ITEM_CODE 30
#define BOOKING_MAX_DESCRIPTION 60

/* Facts the caller keeps across orders (the daemon in PostgreSQL, the dry run in memory). */
typedef struct booking_ctx {
        long long oss_ytd_cents; /* intra-EU B2C net this year so far (auto OSS mode) */
        bool oss_prev_year_over;
        enum vies_state vies; /* VIES answer for the order's VAT number, if asked */
        /* vies_policy domestic with VIES unavailable: a 0% order is booked at the home rate
         * vies_domestic_bp (0: the standard rate on the tax point), out of the gross paid */
        bool vies_domestic;
        int vies_domestic_bp;
        bool map_cancelled; /* map a cancelled order (status 8) as it was, to be credited,
                               * instead of refusing it */
} booking_ctx;

typedef struct booking {
        char source_id[32];
        vat_decision decision;
        const char *endpoint;  /* "salesorder/SalesOrders" or "salesinvoice/SalesInvoices" */
        json_t *body;          /* the document, accounts and items by code */
        json_t *account;       /* account definition (crm/Accounts fields + "contact") */
        json_t *items;         /* array of item definitions used by the lines */
        long long net_cents;   /* what Exact will book: sum of round2(qty * NetPrice) */
        long long vat_cents;   /* sum over lines of round2(amount * pct / 100) */
        long long gross_cents; /* equals the shop's total_price */
        long long threshold_net_cents; /* amount to add to the OSS running total, or 0 */
        json_t *vies;      /* the VIES consultation (vies_policy.h), set by the caller, or NULL */
        bool cancelled;    /* the order is cancelled in the shop (ctx->map_cancelled) */
        json_t *line_keys; /* array of strings parallel to the body's lines */
        json_t *after;     /* the after-booking members (booking_after_members) */
} booking;

/* Maps one order. Returns 0 and fills out (release with booking_clear), or -1 with the reason
 * in err; source_id is filled whenever the order has an id, also on failure. Rejections:
 * malformed order, not completed/cancelled, non-EUR, unknown country, missing address,
 * negative quantities, totals that do not add up, no VAT code mapped, VAT charged contrary to
 * the scenario, a needed item (shipping, discount, ...) not mapped. */
int booking_from_order(const rules *r, const json_t *order, const booking_ctx *ctx, booking *out,
                       char *err, size_t errlen);

void booking_clear(booking *b);

/* The command members about the order's life after booking (docs/commands.md), into
 * b->after: shop_revision, cancelled, refunds, payment, corrections. None of them is part of
 * content_hash. Called by booking_from_order; 0, or -1 with err (malformed credit invoice). */
int booking_after_members(const rules *r, const json_t *order, booking *b, char *err,
                          size_t errlen);

/* "sha256:<hex>" of the shop's bookable state of the order: rows (id, quantity, price,
 * discount, total, VAT), charges, discounts, total, billing and delivery address; the same
 * shop state gives the same revision, whatever the rules. */
int booking_shop_revision(const json_t *order, char out[72]);

/* The order's tax point as YYYYMMDD: the calendar day of its create_date in the
 * administration's time zone (the document's OrderDate), the moment the customer bought and
 * paid; 0 when the order has no readable create_date (the rates then in force are today's).
 * CCV orders carry no invoice date of their own. */
long booking_tax_point(const rules *r, const json_t *order);

/* The ship-to of an order (CCV Personalinfo `customer`) as a crm/Addresses row of Type 4
 * (AddressLine1-3, Postcode, City, State, Country, Phone), or NULL when there is nothing to
 * deliver elsewhere: the delivery address is empty (CCV: same as billing) or the same place
 * as the billing address, or the order is picked up (`deliver_method` "pickup"). */
json_t *booking_delivery_address(const json_t *customer, const char *deliver_method);

/* Account definition from a CCV Personalinfo (order.customer or user.userinfo) and the
 * customer's user id (NULL or "" for guests). NULL with err when no stable code can be made
 * (guest without e-mail) or no name is known. */
json_t *booking_account_def(const json_t *personalinfo, const char *user_id, char *err,
                            size_t errlen);

#endif
