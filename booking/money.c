/* money: see money.h. */
#include "booking/money.h"

#include <stddef.h>

long long money_net_from_gross(long long gross, int pct_bp)
{
        long long n0;
        static const int tries[] = { 0, -1, 1, -2, 2 };

        if (pct_bp == 0)
                return gross;
        n0 = money_div_round((__int128)gross * 10000, 10000 + pct_bp);
        for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
                long long n = n0 + tries[i];

                if (n + money_line_vat(n, pct_bp) == gross)
                        return n;
        }
        return n0;
}
