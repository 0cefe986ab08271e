#pragma once
/*
 * fakes/exact/xf.h — shared declarations of exact-fake, a local stand-in for the
 * Exact Online REST API (OAuth2, OData v2 JSON, rate limits, fault injection).
 *
 * Threading: all state lives in one struct xf_state guarded by xf_state.lock; every
 * function below that takes a struct xf_div or the state expects the caller to hold it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define XF_PAGE_SIZE 60
#define XF_MSG_MAX 1024

/* Field types of the entity schemas. */
enum xf_ftype {
        XF_T_STR,
        XF_T_NUM,  /* Edm.Double */
        XF_T_INT,  /* Edm.Int32/Int16 */
        XF_T_BYTE, /* Edm.Byte 0/1 */
        XF_T_BOOL,
        XF_T_GUID,
        XF_T_DATE,  /* stored as "/Date(ms)/" */
        XF_T_LINES, /* navigation collection of child lines */
        XF_T_COLL,  /* other collection, accepted on POST only, not stored */
};

#define XF_F_POST 1u /* settable on POST */
#define XF_F_PUT 2u  /* settable on PUT */
#define XF_F_MAND 4u /* mandatory on POST */
#define XF_F_W (XF_F_POST | XF_F_PUT)

struct xf_field {
        const char *name;
        enum xf_ftype type;
        unsigned flags;
        const char *caption; /* English caption used in validation messages */
        int maxlen;          /* 0 = unchecked */
};

enum xf_ent {
        XF_E_ACCOUNTS,
        XF_E_CONTACTS,
        XF_E_ITEMS,
        XF_E_ITEMGROUPS,
        XF_E_SALESORDERS,
        XF_E_SALESORDERLINES,
        XF_E_SALESINVOICES,
        XF_E_SALESINVOICELINES,
        XF_E_VATCODES,
        XF_E_PAYMENTCONDITIONS,
        XF_E_GLACCOUNTS,
        XF_E_JOURNALS,
        XF_E_ADDRESSES,
        XF_E_SALESITEMPRICES,
        XF_E_PRINTEDSALESINVOICES, /* POST only: processing an invoice */
        XF_E_INVOICESALESORDERS,   /* POST only: invoicing sales orders */
        XF_E_GLENTRIES,            /* generaljournalentry/GeneralJournalEntries (xf_pay.c) */
        XF_E_GLENTRYLINES,
        XF_E_RECEIVABLES,              /* derived: rebuilt by xf_pay_refresh() */
        XF_E_RECEIVABLESLIST,          /* derived: the open items */
        XF_E_RECEIVABLESLISTBYACCOUNT, /* derived: the same, per accountId */
        XF_E_COUNT,
        /* virtual sets, built per request */
        XF_E_DIVISIONS = XF_E_COUNT,
        XF_E_ME,
        XF_E_ALL
};

#define XF_M_GET 1u
#define XF_M_POST 2u
#define XF_M_PUT 4u
#define XF_M_DELETE 8u

struct xf_entity_def {
        const char *service;
        const char *name;
        const char *key;
        const char *model;             /* __metadata.type */
        const struct xf_field *fields; /* NULL-name terminated */
        unsigned methods;
        int lines_ent;          /* child entity for deep insert, or -1 */
        const char *lines_prop; /* e.g. "SalesOrderLines" */
        const char *parent_key; /* in the child: "OrderID" */
        /* the fields $filter may name (Exact's "filterable" column); NULL = any field */
        const char *const *filterable;
};

extern const struct xf_entity_def xf_entities[XF_E_ALL];

/* Give a stored entity a new Timestamp (its row version on the sync endpoints). */
void xf_stamp(json_t *e);

/* Bulk and sync endpoints answer pages of this many rows. */
#define XF_BULK_PAGE_SIZE 1000

struct xf_div {
        long number;
        json_t *sets[XF_E_COUNT]; /* arrays of stored entity objects */
        long next_order_number;
        long next_invoice_order_number;
        json_t *invoice_numbers; /* journal code -> last invoice number */
        /* fault injection */
        double fail_before_write;
        double fail_after_write;
        double fail_read;
        double token_fail_after_write;
        long latency_ms;
        long slow_write_ms; /* the next slow_writes writes are held this long, then committed */
        long slow_writes;
        long slow_reads; /* the next slow_reads GETs are answered slow_write_ms late */
        bool drop_connection;
        long amount_skew_cents; /* added to the VAT of the next documents' first line */
        long amount_skew_docs;  /* how many documents still get it */
        long email_errors;      /* the next prints asking for an e-mail report EmailCreationError */
        int fault_status;
        int division_status; /* system/Divisions Status: 1 active, 0 inactive, 2 archived */
        json_t *stats;
};

struct xf_config {
        const char *listen;
        char **client_ids;
        char **client_secrets;
        size_t n_clients;
        double token_ttl;
        double refresh_ttl;
        double minute_s;
        long minutely_limit;
        long daily_limit;
        bool day_start_now; /* day windows from the start (else 00:00 UTC) */
        long default_division;
        long token_daily_cap;
        long error_limit;
        int error_limit_status;
        int validation_status;
        bool no_limits;
        bool have_seed;
        uint64_t seed;
        size_t max_body;
        bool revoke_old_access;
        bool single_token_set;
        bool bare_array_top;
        unsigned threads;
};

/* xf_util.c */
int64_t xf_now_ms(void);
void xf_clock_advance(int64_t ms);
void xf_rng_seed(uint64_t seed);
uint64_t xf_rng_next(void);
double xf_rng_unit(void);
void xf_guid_new(char out[37]);
bool xf_guid_valid(const char *s);
double xf_round2(double x);
char *xf_date_str(int64_t ms, char *buf, size_t len);
int xf_date_parse(const char *s, int64_t *ret_ms);
bool xf_date_value(const char *s, int64_t *ret_ms);
char *xf_url_encode(const char *s);
char *xf_url_decode(const char *s, size_t len);
void xf_pad_left(const char *in, size_t width, char *out, size_t outlen);
void xf_pad_right(const char *in, size_t width, char *out, size_t outlen);
void xf_trim(const char *in, char *out, size_t outlen);
int xf_random_token(const char *prefix, size_t nbytes, char **ret);
json_t *xf_error_body(const char *msg);
char *xf_next_token(char **cursor, char sep);

/* xf_odata.c */
struct xf_filter;
/*
 * Compile an OData $filter for entity @ent. Returns NULL and fills @err on a syntax or
 * type error (the caller answers 400).
 */
struct xf_filter *xf_filter_compile(const char *text, int ent, char *err, size_t errlen);
bool xf_filter_match(const struct xf_filter *f, json_t *entity);
void xf_filter_free(struct xf_filter *f);
const struct xf_field *xf_field_find(int ent, const char *name);

/* xf_store.c */
struct xf_query {
        const char *filter;
        const char *select;
        const char *orderby;
        const char *skiptoken;
        const char *expand;
        long top; /* -1 = none */
        bool inlinecount;
        const char *next_prefix; /* absolute URL + query without $skiptoken/$top */
        const char *uri_base;    /* absolute ".../api/v1/{div}/" for __metadata */
        long page_size;
        bool bare_array;
};

struct xf_div *xf_div_new(long number);
void xf_div_free(struct xf_div *d);
json_t *xf_find(struct xf_div *d, int ent, const char *field, const char *value);
/* The entity whose Code equals @code, padding trimmed. */
json_t *xf_find_code(struct xf_div *d, int ent, const char *code);
/*
 * Run a collection GET over @set (the stored array or a virtual one). On success returns
 * 200 and sets @ret_body; otherwise returns 400 and writes @err.
 */
int xf_query_run(struct xf_div *d, int ent, json_t *set, const struct xf_query *q,
                 json_t **ret_body, long *ret_count, char *err, size_t errlen);
json_t *xf_entity_out(struct xf_div *d, int ent, json_t *e, const char *uri_base, bool expand_lines,
                      json_t *select);
/*
 * Validate and create an entity from @body. Returns the HTTP status: 201 with
 * @ret_entity set (borrowed, stored in @d), or an error status with @err filled.
 */
int xf_create(struct xf_div *d, int ent, json_t *body, int validation_status, json_t **ret_entity,
              char *err, size_t errlen);
int xf_update(struct xf_div *d, int ent, json_t *e, json_t *body, int validation_status, char *err,
              size_t errlen);
int xf_delete(struct xf_div *d, int ent, const char *key, int validation_status, char *err,
              size_t errlen);
json_t *xf_lines_of(struct xf_div *d, int ent, const char *key);
/* A new entity with its key, Division and dates (not stored). */
json_t *xf_ent_start(struct xf_div *d, int ent);
/* The settable members of @body into @e (see decode_body in xf_store.c). */
int xf_decode(int ent, json_t *body, json_t *e, bool put, json_t *msgs, char *err, size_t errlen);

/* xf_pay.c: journal entries and the receivables they settle */
extern const struct xf_field xf_f_glentries[], xf_f_glentrylines[], xf_f_receivables[],
        xf_f_receivableslist[];
/* Validate a GeneralJournalEntries POST into @e; its lines are stored when @msgs stays empty. */
int xf_pay_entry_create(struct xf_div *d, json_t *body, json_t *e, json_t *msgs, char *err,
                        size_t errlen);
/* Rebuild the derived receivable sets from processed invoices and journal-entry lines. */
void xf_pay_refresh(struct xf_div *d);
bool xf_pay_derived(int ent);
/* ReceivablesListByAccount's rows for accountId=guid'...' (new array), or NULL with @err. */
json_t *xf_pay_by_account(struct xf_div *d, const char *arg, char *err, size_t errlen);
