/* Fuzz target: the offline VAT-number validator. Any byte string must normalise into a
 * bounded, NUL-terminated buffer; a number judged valid must have a known country and must
 * be judged valid again after its own normalisation (the check is idempotent). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vat/vat_number.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *input = malloc(size + 1);
        char out[64], again[64], iso[3];
        enum vat_number_status st;

        if (!input)
                return 0;
        memcpy(input, data, size);
        input[size] = '\0';
        st = vat_number_check(input, out, sizeof(out));
        if (strlen(out) >= sizeof(out))
                abort();
        if (!vat_number_status_name(st))
                abort();
        if (st == VAT_NUMBER_VALID) {
                if (vat_number_country(out, iso) < 0)
                        abort();
                if (vat_number_check(out, again, sizeof(again)) != VAT_NUMBER_VALID ||
                    strcmp(out, again) != 0)
                        abort();
        }
        free(input);
        return 0;
}
