/* vies_policy: what a VIES answer (or its absence) does to an order the VAT engine would book
 * as an intra-community supply (docs/vat-engine.md "VIES"). Pure: the daemon asks VIES
 * (taxstate/), the dry run reads the answers from a file, the preview from the daemon's cache;
 * all three decide here, so they agree. */
#ifndef BOOKING_VIES_POLICY_H
#define BOOKING_VIES_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "booking/booking.h"
#include "booking/rules.h"
#include "booking/vat_engine.h"

/* Rules member vies_policy: what to do when VIES cannot answer (member state unavailable,
 * timeout, concurrency cap, transport error). */
enum vies_policy {
        VIES_POLICY_RECHECK = 0, /* book the ICP on the offline check, ask again later */
        VIES_POLICY_HOLD,        /* do not book yet; the order is retried once VIES answers */
        VIES_POLICY_DOMESTIC,    /* no 0% without proof: the sale is taxed as without number */
        VIES_POLICY_OFF,         /* never ask VIES for this tenant (offline check only) */
};

typedef struct vies_answer {
        enum vies_state state; /* VALID, INVALID, UNAVAILABLE; NOT_CHECKED = no answer known */
        char vat_number[48];   /* normalised, with prefix (EL..., XI...) */
        char request_identifier[64]; /* the consultation number ("" without requester) */
        char request_date[40];       /* as VIES wrote it */
        char error[48];              /* VIES's code (MS_UNAVAILABLE, TIMEOUT, ...) */
        bool from_cache;
} vies_answer;

/* What the caller does with the order. */
enum vies_action {
        VIES_ACTION_BOOK = 0, /* book (the booking to use is in the decision's state) */
        VIES_ACTION_RECHECK,  /* book on the offline check and queue a re-check */
        VIES_ACTION_HOLD,     /* do not book; keep the order until VIES answers */
        VIES_ACTION_REBOOK,   /* book again with *state (VIES negative or not trusted) */
};

enum vies_policy rules_vies_policy(const rules *r);
const char *vies_policy_name(enum vies_policy p);
/* The tenant's own VAT number (rules member vat_number): the requester of the consultation,
 * or NULL when the rules do not give one. */
const char *rules_vies_requester(const rules *r);
/* Checks vies_policy and vat_number of the rules (called by rules_validate). */
int vies_rules_validate(const rules *r, char *err, size_t errlen);

const char *vies_state_name(enum vies_state s);
int vies_state_parse(const char *name, enum vies_state *out);

/* VIES's own form of a normalised number: country code and number without it. */
int vies_split(const char *vat, char cc[3], char *number, size_t size);

/* Decides for an ICP booking @p d and answer @p a. *state is the VIES state to book with on
 * REBOOK; @p note gets the sync-log text of the consultation ("VIES DE136695976 valid,
 * consultation WAPI..., 2026-12-02"). */
enum vies_action vies_policy_decide(const rules *r, const vies_answer *a, enum vies_state *state,
                                    char *note, size_t notelen);

/* The consultation as the command's and dry run's "vies" member (new reference). */
json_t *vies_answer_json(const vies_answer *a, const rules *r);


/* Where answers come from: returns 0 with *out filled (state NOT_CHECKED when there is none),
 * or -1 when the lookup itself failed (database trouble: the caller retries the order). */
typedef int (*vies_lookup_fn)(void *arg, const rules *r, const char *vat_number, vies_answer *out);

typedef struct vies_outcome {
        bool consulted;          /* the order was an ICP and an answer was looked up */
        enum vies_action action; /* meaningful when consulted */
        vies_answer answer;
        char note[400]; /* the consultation in words, for the sync log */
} vies_outcome;

enum {
        VIES_BOOKED = 0,
        VIES_REJECTED = -1,
        VIES_LOOKUP_FAILED = -2,
        VIES_HELD = 1
};

/* booking_from_order, and when the order would be an ICP (0%) with a lookup given, the VIES
 * answer applied: VIES_BOOKED (out filled, out->vies set when consulted), VIES_REJECTED (err:
 * the booking's reason, prefixed with the VIES answer when it caused it), VIES_HELD (no
 * booking: vo->note says why) or VIES_LOOKUP_FAILED. */
int vies_book_order(const rules *r, const json_t *order, booking_ctx *ctx, vies_lookup_fn lookup,
                    void *arg, booking *out, vies_outcome *vo, char *err, size_t errlen);

#endif
