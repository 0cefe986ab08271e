/*
 * fakes/exact/xf_odata.c — the OData v2 $filter subset exact-fake understands:
 * eq ne gt ge lt le, and or not, parentheses, 'strings' (with '' escapes), guid'…',
 * datetime'…', numbers (with L/M/D suffixes), true/false/null, and the functions
 * trim, tolower, toupper, startswith, endswith, substringof.
 *
 * Operand types are checked against the entity schema at compile time, so a GUID field
 * compared with a plain string is a 400, as it is on the real service.
 */
#include "xf.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum node_kind {
        N_OR,
        N_AND,
        N_NOT,
        N_CMP,
        N_FIELD,
        N_LIT,
        N_FUNC
};
enum cmp_op {
        OP_EQ,
        OP_NE,
        OP_GT,
        OP_GE,
        OP_LT,
        OP_LE
};
enum val_type {
        V_NULL,
        V_STR,
        V_NUM,
        V_BOOL,
        V_GUID,
        V_DATE,
        V_ERR
};
enum func_id {
        F_TRIM,
        F_TOLOWER,
        F_TOUPPER,
        F_STARTSWITH,
        F_ENDSWITH,
        F_SUBSTRINGOF
};

struct node {
        enum node_kind kind;
        int op; /* cmp_op or func_id */
        struct node *a;
        struct node *b;
        const struct xf_field *field;
        enum val_type lit_type;
        char *str;
        double num;
        bool boolean;
        int64_t ms;
};

struct xf_filter {
        struct node *root;
};

struct parser {
        const char *s;
        size_t pos;
        int ent;
        char *err;
        size_t errlen;
        bool failed;
        int depth;
};

struct val {
        enum val_type t;
        const char *s;
        char *owned;
        double n;
        bool b;
        int64_t ms;
};

const struct xf_field *xf_field_find(int ent, const char *name)
{
        const struct xf_field *f;

        for (f = xf_entities[ent].fields; f->name != NULL; f++) {
                if (strcmp(f->name, name) == 0)
                        return f;
        }
        return NULL;
}

static bool filterable(int ent, const char *name)
{
        const char *const *f = xf_entities[ent].filterable;

        if (f == NULL)
                return true;
        for (; *f != NULL; f++) {
                if (strcmp(*f, name) == 0)
                        return true;
        }
        return false;
}

static void node_free(struct node *n)
{
        if (n == NULL)
                return;
        node_free(n->a);
        node_free(n->b);
        free(n->str);
        free(n);
}

static struct node *node_new(enum node_kind kind)
{
        struct node *n = calloc(1, sizeof(struct node));

        if (n != NULL)
                n->kind = kind;
        return n;
}

static void fail(struct parser *p, const char *what)
{
        if (p->failed)
                return;
        p->failed = true;
        snprintf(p->err, p->errlen, "%s at position %zu.", what, p->pos);
}

static void skip_ws(struct parser *p)
{
        while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t')
                p->pos++;
}

static bool ident_char(char c)
{
        return isalnum((unsigned char)c) || c == '_';
}

/* Consumes keyword @kw if it stands alone at the cursor. */
static bool accept_kw(struct parser *p, const char *kw)
{
        size_t n = strlen(kw);

        skip_ws(p);
        if (strncmp(p->s + p->pos, kw, n) == 0 && !ident_char(p->s[p->pos + n])) {
                p->pos += n;
                return true;
        }
        return false;
}

static bool accept_ch(struct parser *p, char c)
{
        skip_ws(p);
        if (p->s[p->pos] == c) {
                p->pos++;
                return true;
        }
        return false;
}

/* Reads a quoted literal body after the opening quote; '' is an escaped quote. */
static char *read_quoted(struct parser *p)
{
        size_t cap = 32, n = 0;
        char *out = malloc(cap);

        if (out == NULL)
                return NULL;
        for (;;) {
                char c = p->s[p->pos];

                if (c == '\0') {
                        free(out);
                        fail(p, "Unterminated string literal");
                        return NULL;
                }
                p->pos++;
                if (c == '\'') {
                        if (p->s[p->pos] == '\'') {
                                p->pos++;
                        } else {
                                break;
                        }
                }
                if (n + 2 > cap) {
                        char *grown;

                        cap *= 2;
                        grown = realloc(out, cap);
                        if (grown == NULL) {
                                free(out);
                                return NULL;
                        }
                        out = grown;
                }
                out[n++] = c;
        }
        out[n] = '\0';
        return out;
}

static struct node *parse_or(struct parser *p);

static enum val_type field_vtype(const struct xf_field *f)
{
        switch (f->type) {
        case XF_T_STR: return V_STR;
        case XF_T_NUM:
        case XF_T_INT:
        case XF_T_BYTE: return V_NUM;
        case XF_T_BOOL: return V_BOOL;
        case XF_T_GUID: return V_GUID;
        case XF_T_DATE: return V_DATE;
        default: return V_ERR;
        }
}

static enum val_type node_vtype(const struct node *n)
{
        if (n->kind == N_FIELD)
                return field_vtype(n->field);
        if (n->kind == N_LIT)
                return n->lit_type;
        if (n->kind == N_FUNC)
                return n->op <= F_TOUPPER ? V_STR : V_BOOL;
        return V_BOOL;
}

static struct node *parse_func(struct parser *p, enum func_id id, int nargs)
{
        struct node *n = node_new(N_FUNC);

        if (n == NULL)
                return NULL;
        n->kind = N_FUNC;
        n->op = id;
        if (!accept_ch(p, '(')) {
                fail(p, "Expected '('");
                return n;
        }
        n->a = parse_or(p);
        if (nargs == 2 && !p->failed) {
                if (!accept_ch(p, ','))
                        fail(p, "Expected ','");
                else
                        n->b = parse_or(p);
        }
        if (!p->failed && !accept_ch(p, ')'))
                fail(p, "Expected ')'");
        if (!p->failed) {
                if (node_vtype(n->a) != V_STR && node_vtype(n->a) != V_NULL)
                        fail(p, "Function argument must be a string");
                if (n->b != NULL && node_vtype(n->b) != V_STR && node_vtype(n->b) != V_NULL)
                        fail(p, "Function argument must be a string");
        }
        return n;
}

static struct node *parse_primary(struct parser *p)
{
        struct node *n;
        const char *s;
        size_t start;

        skip_ws(p);
        s = p->s + p->pos;
        if (*s == '(') {
                p->pos++;
                n = parse_or(p);
                if (!p->failed && !accept_ch(p, ')'))
                        fail(p, "Expected ')'");
                return n;
        }
        n = node_new(N_LIT);
        if (n == NULL) {
                fail(p, "Out of memory");
                return NULL;
        }
        n->kind = N_LIT;
        if (*s == '\'') {
                p->pos++;
                n->lit_type = V_STR;
                n->str = read_quoted(p);
                return n;
        }
        if (strncmp(s, "guid'", 5) == 0) {
                p->pos += 5;
                n->lit_type = V_GUID;
                n->str = read_quoted(p);
                if (n->str != NULL && !xf_guid_valid(n->str))
                        fail(p, "Unrecognized Guid format");
                return n;
        }
        if (strncmp(s, "datetime'", 9) == 0) {
                p->pos += 9;
                n->lit_type = V_DATE;
                n->str = read_quoted(p);
                if (n->str != NULL &&
                    (strchr(n->str, 'T') == NULL || xf_date_parse(n->str, &n->ms) != 0))
                        fail(p, "Unrecognized 'Edm.DateTime' literal");
                return n;
        }
        if (isdigit((unsigned char)*s) || *s == '-') {
                char *end;

                n->lit_type = V_NUM;
                n->num = strtod(s, &end);
                if (end == s) {
                        fail(p, "Syntax error");
                        return n;
                }
                if (*end == 'L' || *end == 'M' || *end == 'D' || *end == 'm' || *end == 'd' ||
                    *end == 'l' || *end == 'f' || *end == 'F')
                        end++;
                p->pos += (size_t)(end - s);
                if (ident_char(p->s[p->pos]))
                        fail(p, "Syntax error");
                return n;
        }
        if (accept_kw(p, "true") || accept_kw(p, "false")) {
                n->lit_type = V_BOOL;
                n->boolean = p->s[p->pos - 1] == 'e' && p->s[p->pos - 2] == 'u';
                return n;
        }
        if (accept_kw(p, "null")) {
                n->lit_type = V_NULL;
                return n;
        }
        free(n);
        start = p->pos;
        while (ident_char(p->s[p->pos]))
                p->pos++;
        if (p->pos == start) {
                fail(p, "Syntax error");
                return NULL;
        }
        {
                size_t len = p->pos - start;
                char name[128];
                static const struct {
                        const char *name;
                        enum func_id id;
                        int nargs;
                } funcs[] = {
                        { "trim", F_TRIM, 1 },         { "tolower", F_TOLOWER, 1 },
                        { "toupper", F_TOUPPER, 1 },   { "startswith", F_STARTSWITH, 2 },
                        { "endswith", F_ENDSWITH, 2 }, { "substringof", F_SUBSTRINGOF, 2 },
                };
                size_t i;

                if (len >= sizeof(name)) {
                        fail(p, "Identifier too long");
                        return NULL;
                }
                memcpy(name, p->s + start, len);
                name[len] = '\0';
                skip_ws(p);
                if (p->s[p->pos] == '(') {
                        for (i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
                                if (strcmp(funcs[i].name, name) == 0)
                                        return parse_func(p, funcs[i].id, funcs[i].nargs);
                        }
                        p->pos = start;
                        fail(p, "Unknown function");
                        return NULL;
                }
                n = node_new(N_FIELD);
                if (n == NULL) {
                        fail(p, "Out of memory");
                        return NULL;
                }
                n->kind = N_FIELD;
                n->field = xf_field_find(p->ent, name);
                if (n->field == NULL || field_vtype(n->field) == V_ERR) {
                        char msg[256];

                        p->pos = start;
                        snprintf(msg, sizeof(msg), "No property '%s' exists in type '%s'", name,
                                 xf_entities[p->ent].model);
                        fail(p, msg);
                } else if (!filterable(p->ent, name)) {
                        char msg[256];

                        /* Exact's answer, as seen in picqer/exact-php-client issue #500 */
                        p->pos = start;
                        snprintf(msg, sizeof(msg), "Filtering on these fields is not supported: %s",
                                 name);
                        fail(p, msg);
                }
                return n;
        }
}

static bool types_compatible(enum val_type a, enum val_type b)
{
        if (a == V_NULL || b == V_NULL)
                return true;
        return a == b;
}

static struct node *parse_cmp(struct parser *p)
{
        static const struct {
                const char *kw;
                enum cmp_op op;
        } ops[] = {
                { "eq", OP_EQ }, { "ne", OP_NE }, { "gt", OP_GT },
                { "ge", OP_GE }, { "lt", OP_LT }, { "le", OP_LE },
        };
        struct node *left;
        struct node *n;
        size_t i;

        if (accept_kw(p, "not")) {
                if (++p->depth > 64) {
                        fail(p, "Expression too deeply nested");
                        return NULL;
                }
                n = node_new(N_NOT);
                if (n == NULL)
                        return NULL;
                n->a = parse_cmp(p);
                p->depth--;
                if (!p->failed && node_vtype(n->a) != V_BOOL)
                        fail(p, "Operand of 'not' must be boolean");
                return n;
        }
        left = parse_primary(p);
        if (p->failed)
                return left;
        for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
                if (accept_kw(p, ops[i].kw))
                        break;
        }
        if (i == sizeof(ops) / sizeof(ops[0]))
                return left;
        n = node_new(N_CMP);
        if (n == NULL) {
                node_free(left);
                return NULL;
        }
        n->kind = N_CMP;
        n->op = ops[i].op;
        n->a = left;
        n->b = parse_primary(p);
        if (!p->failed && !types_compatible(node_vtype(n->a), node_vtype(n->b))) {
                char msg[128];

                snprintf(msg, sizeof(msg), "Operator '%s' incompatible with operand types",
                         ops[i].kw);
                fail(p, msg);
        }
        if (!p->failed && node_vtype(n->a) == V_BOOL && n->op != OP_EQ && n->op != OP_NE)
                fail(p, "Booleans can only be compared with eq or ne");
        return n;
}

static struct node *parse_and(struct parser *p)
{
        struct node *left = parse_cmp(p);

        while (!p->failed && accept_kw(p, "and")) {
                struct node *n = node_new(N_AND);

                if (n == NULL)
                        break;
                n->kind = N_AND;
                n->a = left;
                n->b = parse_cmp(p);
                left = n;
                if (!p->failed && (node_vtype(n->a) != V_BOOL || node_vtype(n->b) != V_BOOL))
                        fail(p, "Operands of 'and' must be boolean");
        }
        return left;
}

static struct node *parse_or(struct parser *p)
{
        struct node *left;

        if (++p->depth > 64) {
                fail(p, "Expression too deeply nested");
                return NULL;
        }
        left = parse_and(p);

        while (!p->failed && accept_kw(p, "or")) {
                struct node *n = node_new(N_OR);

                if (n == NULL)
                        break;
                n->kind = N_OR;
                n->a = left;
                n->b = parse_and(p);
                left = n;
                if (!p->failed && (node_vtype(n->a) != V_BOOL || node_vtype(n->b) != V_BOOL))
                        fail(p, "Operands of 'or' must be boolean");
        }
        p->depth--;
        return left;
}

struct xf_filter *xf_filter_compile(const char *text, int ent, char *err, size_t errlen)
{
        struct parser p = { .s = text, .ent = ent, .err = err, .errlen = errlen };
        struct xf_filter *f;
        struct node *root;

        root = parse_or(&p);
        skip_ws(&p);
        if (!p.failed && p.s[p.pos] != '\0')
                fail(&p, "Syntax error");
        if (!p.failed && root != NULL && node_vtype(root) != V_BOOL)
                fail(&p, "The $filter expression must evaluate to a boolean");
        if (!p.failed && root == NULL)
                fail(&p, "Out of memory");
        if (p.failed) {
                node_free(root);
                return NULL;
        }
        f = malloc(sizeof(*f));
        if (f == NULL) {
                node_free(root);
                snprintf(err, errlen, "Out of memory");
                return NULL;
        }
        f->root = root;
        return f;
}

void xf_filter_free(struct xf_filter *f)
{
        if (f == NULL)
                return;
        node_free(f->root);
        free(f);
}

static void val_clear(struct val *v)
{
        free(v->owned);
        v->owned = NULL;
}

static struct val eval(const struct node *n, json_t *e);

static struct val eval_func(const struct node *n, json_t *e)
{
        struct val a = eval(n->a, e);
        struct val r = { .t = V_NULL };

        if (n->op <= F_TOUPPER) {
                char *out;
                size_t i;

                if (a.t != V_STR)
                        goto out;
                out = strdup(a.s);
                if (out == NULL)
                        goto out;
                if (n->op == F_TRIM) {
                        xf_trim(a.s, out, strlen(a.s) + 1);
                } else {
                        for (i = 0; out[i] != '\0'; i++)
                                out[i] = (char)(n->op == F_TOLOWER
                                                        ? tolower((unsigned char)out[i])
                                                        : toupper((unsigned char)out[i]));
                }
                r.t = V_STR;
                r.owned = out;
                r.s = out;
        } else {
                struct val b = eval(n->b, e);

                r.t = V_BOOL;
                r.b = false;
                if (a.t == V_STR && b.t == V_STR) {
                        size_t la = strlen(a.s), lb = strlen(b.s);

                        if (n->op == F_STARTSWITH)
                                r.b = strncmp(a.s, b.s, lb) == 0;
                        else if (n->op == F_ENDSWITH)
                                r.b = la >= lb && strcmp(a.s + la - lb, b.s) == 0;
                        else
                                r.b = strstr(b.s, a.s) != NULL;
                }
                val_clear(&b);
        }
out:
        val_clear(&a);
        return r;
}

static struct val eval_field(const struct node *n, json_t *e)
{
        struct val r = { .t = V_NULL };
        json_t *j = json_object_get(e, n->field->name);

        if (j == NULL || json_is_null(j))
                return r;
        switch (n->field->type) {
        case XF_T_STR:
        case XF_T_GUID:
                if (json_is_string(j)) {
                        r.t = n->field->type == XF_T_STR ? V_STR : V_GUID;
                        r.s = json_string_value(j);
                }
                break;
        case XF_T_DATE:
                if (json_is_string(j) && xf_date_value(json_string_value(j), &r.ms))
                        r.t = V_DATE;
                break;
        case XF_T_BOOL:
                r.t = V_BOOL;
                r.b = json_is_true(j);
                break;
        default:
                if (json_is_number(j)) {
                        r.t = V_NUM;
                        r.n = json_number_value(j);
                }
                break;
        }
        return r;
}

static int compare(const struct val *a, const struct val *b)
{
        switch (a->t) {
        case V_STR: return strcmp(a->s, b->s);
        case V_GUID: return strcasecmp(a->s, b->s);
        case V_NUM: return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
        case V_DATE: return a->ms < b->ms ? -1 : a->ms > b->ms ? 1 : 0;
        case V_BOOL: return (int)a->b - (int)b->b;
        default: return 0;
        }
}

static struct val eval(const struct node *n, json_t *e)
{
        struct val r = { .t = V_BOOL };

        switch (n->kind) {
        case N_OR:
        case N_AND: {
                struct val a = eval(n->a, e);

                if (n->kind == N_OR && a.b) {
                        r.b = true;
                } else if (n->kind == N_AND && !a.b) {
                        r.b = false;
                } else {
                        struct val b = eval(n->b, e);

                        r.b = b.b;
                        val_clear(&b);
                }
                val_clear(&a);
                return r;
        }
        case N_NOT: {
                struct val a = eval(n->a, e);

                r.b = !a.b;
                val_clear(&a);
                return r;
        }
        case N_CMP: {
                struct val a = eval(n->a, e);
                struct val b = eval(n->b, e);

                if (a.t == V_NULL || b.t == V_NULL) {
                        bool both = a.t == V_NULL && b.t == V_NULL;

                        r.b = n->op == OP_EQ ? both : n->op == OP_NE ? !both : false;
                } else if (a.t != b.t) {
                        r.b = n->op == OP_NE;
                } else {
                        int c = compare(&a, &b);

                        switch (n->op) {
                        case OP_EQ: r.b = c == 0; break;
                        case OP_NE: r.b = c != 0; break;
                        case OP_GT: r.b = c > 0; break;
                        case OP_GE: r.b = c >= 0; break;
                        case OP_LT: r.b = c < 0; break;
                        default: r.b = c <= 0; break;
                        }
                }
                val_clear(&a);
                val_clear(&b);
                return r;
        }
        case N_FIELD: return eval_field(n, e);
        case N_FUNC: return eval_func(n, e);
        case N_LIT:
                r.t = n->lit_type;
                r.s = n->str;
                r.n = n->num;
                r.b = n->boolean;
                r.ms = n->ms;
                return r;
        }
        return r;
}

bool xf_filter_match(const struct xf_filter *f, json_t *entity)
{
        struct val v = eval(f->root, entity);
        bool ok = v.t == V_BOOL && v.b;

        val_clear(&v);
        return ok;
}
