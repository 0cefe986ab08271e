/* money: amounts the way Exact computes them. Money is held in integer cents, unit prices in
 * micro-euros and quantities in thousandths, so every amount Exact computes (per line:
 * round2(qty * NetPrice), VAT round2(amount * pct / 100), half away from zero) can be
 * reproduced exactly. The small helpers are inline: they run several times per order line. */
#ifndef BOOKING_MONEY_H
#define BOOKING_MONEY_H

#include <jansson.h>

/* num / den rounded half away from zero. */
static inline long long money_div_round(__int128 num, __int128 den)
{
        int neg = (num < 0) != (den < 0);
        __int128 a = num < 0 ? -num : num;
        __int128 b = den < 0 ? -den : den;
        __int128 q = (a + b / 2) / b;

        return (long long)(neg ? -q : q);
}

/* VAT Exact computes on a line amount: round2(amount * pct / 100). */
static inline long long money_line_vat(long long net_cents, int pct_bp)
{
        return money_div_round((__int128)net_cents * pct_bp, 10000);
}

static inline long long money_micro_to_cents(long long micro)
{
        return money_div_round(micro, 10000);
}

/* Net amount whose net + VAT equals gross, or the nearest one when no such amount exists. */
long long money_net_from_gross(long long gross, int pct_bp);

/* Cents, and micro-euros, as the JSON numbers Exact is sent. New references. */
static inline json_t *money_json(long long cents)
{
        return json_real((double)cents / 100.0);
}

static inline json_t *money_micro_json(long long micro)
{
        return json_real((double)micro / 1e6);
}

#endif
