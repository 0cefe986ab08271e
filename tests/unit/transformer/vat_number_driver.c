/* vat_number_driver: reads VAT numbers one per line on stdin and prints, for each, the offline
 * verdict and the normalised form: "valid<TAB>NL004495445B01". The differential test against
 * python-stdnum (test_vat_stdnum.py) feeds it thousands of numbers in one run. */
#include <stdio.h>
#include <string.h>

#include "vat/vat_number.h"

int main(void)
{
        char line[4096];
        char out[64];

        while (fgets(line, sizeof(line), stdin)) {
                enum vat_number_status st;

                line[strcspn(line, "\r\n")] = '\0';
                st = vat_number_check(line, out, sizeof(out));
                printf("%s\t%s\n", vat_number_status_name(st), out);
        }
        return ferror(stdin) ? 1 : 0;
}
