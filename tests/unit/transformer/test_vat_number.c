/* Unit test: VAT number normalisation, format and checksum for the 27 member states and XI.
 * The generated vectors were cross-checked against an independent implementation
 * (python-stdnum 2.2) when they were written; the rest are the examples from vat.md. The
 * full comparison with stdnum is test_vat_stdnum.py. */
#include <stdio.h>
#include <string.h>

#include "vat/vat_number.h"

struct vec {
        const char *number;
        enum vat_number_status want;
};

static const struct vec vectors[] = {
        { "ATU39099603", VAT_NUMBER_VALID },
        { "ATU08246281", VAT_NUMBER_VALID },
        { "ATU21547280", VAT_NUMBER_VALID },
        { "ATU39099604", VAT_NUMBER_CHECKSUM_INVALID },
        { "ATU08246282", VAT_NUMBER_CHECKSUM_INVALID },
        { "BE0068689064", VAT_NUMBER_VALID },
        { "BE0693646703", VAT_NUMBER_VALID },
        { "BE1033358519", VAT_NUMBER_VALID },
        { "BE0068689065", VAT_NUMBER_CHECKSUM_INVALID },
        { "BE0693646704", VAT_NUMBER_CHECKSUM_INVALID },
        { "BG8513903562", VAT_NUMBER_VALID },
        { "BG0038083872", VAT_NUMBER_VALID },
        { "BG6333265964", VAT_NUMBER_VALID },
        { "BG8513903563", VAT_NUMBER_CHECKSUM_INVALID },
        { "BG0038083873", VAT_NUMBER_CHECKSUM_INVALID },
        { "CY58126307X", VAT_NUMBER_VALID },
        { "CY36396657S", VAT_NUMBER_VALID },
        { "CY43480770C", VAT_NUMBER_VALID },
        { "CY58126308X", VAT_NUMBER_CHECKSUM_INVALID },
        { "CY36396658S", VAT_NUMBER_CHECKSUM_INVALID },
        { "CZ19124899", VAT_NUMBER_VALID },
        { "CZ18767800", VAT_NUMBER_VALID },
        { "CZ71796657", VAT_NUMBER_VALID },
        { "CZ19124890", VAT_NUMBER_CHECKSUM_INVALID },
        { "CZ18767801", VAT_NUMBER_CHECKSUM_INVALID },
        { "DE494828066", VAT_NUMBER_VALID },
        { "DE308441758", VAT_NUMBER_VALID },
        { "DE794066260", VAT_NUMBER_VALID },
        { "DE494828067", VAT_NUMBER_CHECKSUM_INVALID },
        { "DE308441759", VAT_NUMBER_CHECKSUM_INVALID },
        { "DK39786214", VAT_NUMBER_VALID },
        { "DK70238756", VAT_NUMBER_VALID },
        { "DK89480043", VAT_NUMBER_VALID },
        { "DK39786215", VAT_NUMBER_CHECKSUM_INVALID },
        { "DK70238757", VAT_NUMBER_CHECKSUM_INVALID },
        { "EE105296861", VAT_NUMBER_VALID },
        { "EE101636357", VAT_NUMBER_VALID },
        { "EE103981246", VAT_NUMBER_VALID },
        { "EE105296862", VAT_NUMBER_CHECKSUM_INVALID },
        { "EE101636358", VAT_NUMBER_CHECKSUM_INVALID },
        { "EL285870131", VAT_NUMBER_VALID },
        { "EL959634950", VAT_NUMBER_VALID },
        { "EL921323237", VAT_NUMBER_VALID },
        { "EL285870132", VAT_NUMBER_CHECKSUM_INVALID },
        { "EL959634951", VAT_NUMBER_CHECKSUM_INVALID },
        { "ESG92264159", VAT_NUMBER_VALID },
        { "ES26419774L", VAT_NUMBER_VALID },
        { "ESE41555277", VAT_NUMBER_VALID },
        { "ESG92264150", VAT_NUMBER_CHECKSUM_INVALID },
        { "ES26419775L", VAT_NUMBER_CHECKSUM_INVALID },
        { "FI40086486", VAT_NUMBER_VALID },
        { "FI22479200", VAT_NUMBER_VALID },
        { "FI72902759", VAT_NUMBER_VALID },
        { "FI40086487", VAT_NUMBER_CHECKSUM_INVALID },
        { "FI22479201", VAT_NUMBER_CHECKSUM_INVALID },
        { "FR17185119393", VAT_NUMBER_VALID },
        { "FR39592723068", VAT_NUMBER_VALID },
        { "FR06089706956", VAT_NUMBER_VALID },
        { "FR17185119394", VAT_NUMBER_CHECKSUM_INVALID },
        { "FR39592723069", VAT_NUMBER_CHECKSUM_INVALID },
        { "HR40709744952", VAT_NUMBER_VALID },
        { "HR01674872101", VAT_NUMBER_VALID },
        { "HR19425145534", VAT_NUMBER_VALID },
        { "HR40709744953", VAT_NUMBER_CHECKSUM_INVALID },
        { "HR01674872102", VAT_NUMBER_CHECKSUM_INVALID },
        { "HU44735117", VAT_NUMBER_VALID },
        { "HU34032516", VAT_NUMBER_VALID },
        { "HU53489247", VAT_NUMBER_VALID },
        { "HU44735118", VAT_NUMBER_CHECKSUM_INVALID },
        { "HU34032517", VAT_NUMBER_CHECKSUM_INVALID },
        { "IE9430570GA", VAT_NUMBER_VALID },
        { "IE0785816KH", VAT_NUMBER_VALID },
        { "IE6361363QA", VAT_NUMBER_VALID },
        { "IE9430571GA", VAT_NUMBER_CHECKSUM_INVALID },
        { "IE0785817KH", VAT_NUMBER_CHECKSUM_INVALID },
        { "IT07189120996", VAT_NUMBER_VALID },
        { "IT90901610676", VAT_NUMBER_VALID },
        { "IT98911950453", VAT_NUMBER_VALID },
        { "IT07189120997", VAT_NUMBER_CHECKSUM_INVALID },
        { "IT90901610677", VAT_NUMBER_CHECKSUM_INVALID },
        { "LT719043517", VAT_NUMBER_VALID },
        { "LT320378487218", VAT_NUMBER_VALID },
        { "LT516441318", VAT_NUMBER_VALID },
        { "LT719043518", VAT_NUMBER_CHECKSUM_INVALID },
        { "LT320378487219", VAT_NUMBER_CHECKSUM_INVALID },
        { "LU70602779", VAT_NUMBER_VALID },
        { "LU29295859", VAT_NUMBER_VALID },
        { "LU38118688", VAT_NUMBER_VALID },
        { "LU70602770", VAT_NUMBER_CHECKSUM_INVALID },
        { "LU29295850", VAT_NUMBER_CHECKSUM_INVALID },
        { "LV67527675684", VAT_NUMBER_VALID },
        { "LV98941991236", VAT_NUMBER_VALID },
        { "LV57361016885", VAT_NUMBER_VALID },
        { "LV67527675685", VAT_NUMBER_CHECKSUM_INVALID },
        { "LV98941991237", VAT_NUMBER_CHECKSUM_INVALID },
        { "MT37684334", VAT_NUMBER_VALID },
        { "MT52684840", VAT_NUMBER_VALID },
        { "MT83928418", VAT_NUMBER_VALID },
        { "MT37684335", VAT_NUMBER_CHECKSUM_INVALID },
        { "MT52684841", VAT_NUMBER_CHECKSUM_INVALID },
        { "NL159259022B02", VAT_NUMBER_VALID },
        { "NL876966702B11", VAT_NUMBER_VALID },
        { "NL359491479B01", VAT_NUMBER_VALID },
        { "NL159259023B02", VAT_NUMBER_CHECKSUM_INVALID },
        { "NL876966703B11", VAT_NUMBER_CHECKSUM_INVALID },
        { "PL9019814762", VAT_NUMBER_VALID },
        { "PL3011926369", VAT_NUMBER_VALID },
        { "PL0243086303", VAT_NUMBER_VALID },
        { "PL9019814763", VAT_NUMBER_CHECKSUM_INVALID },
        { "PL3011926360", VAT_NUMBER_CHECKSUM_INVALID },
        { "PT791314162", VAT_NUMBER_VALID },
        { "PT762677180", VAT_NUMBER_VALID },
        { "PT966859863", VAT_NUMBER_VALID },
        { "PT791314163", VAT_NUMBER_CHECKSUM_INVALID },
        { "PT762677181", VAT_NUMBER_CHECKSUM_INVALID },
        { "RO963825", VAT_NUMBER_VALID },
        { "RO404165", VAT_NUMBER_VALID },
        { "RO78", VAT_NUMBER_VALID },
        { "RO963826", VAT_NUMBER_CHECKSUM_INVALID },
        { "RO404166", VAT_NUMBER_CHECKSUM_INVALID },
        { "SE652919574201", VAT_NUMBER_VALID },
        { "SE936787235601", VAT_NUMBER_VALID },
        { "SE875516287501", VAT_NUMBER_VALID },
        { "SE652919574202", VAT_NUMBER_FORMAT_INVALID },
        { "SE936787235602", VAT_NUMBER_FORMAT_INVALID },
        { "SI15259978", VAT_NUMBER_VALID },
        { "SI99890054", VAT_NUMBER_VALID },
        { "SI99306662", VAT_NUMBER_VALID },
        { "SI15259979", VAT_NUMBER_CHECKSUM_INVALID },
        { "SI99890055", VAT_NUMBER_CHECKSUM_INVALID },
        { "SK7323636034", VAT_NUMBER_VALID },
        { "SK1348702355", VAT_NUMBER_VALID },
        { "SK2574463111", VAT_NUMBER_VALID },
        { "SK7323636035", VAT_NUMBER_CHECKSUM_INVALID },
        { "SK1348702356", VAT_NUMBER_CHECKSUM_INVALID },
        { "XI457298841", VAT_NUMBER_VALID },
        { "XI426178587", VAT_NUMBER_VALID },
        { "XI900944343", VAT_NUMBER_VALID },
        { "XI457298842", VAT_NUMBER_CHECKSUM_INVALID },
        { "XI426178588", VAT_NUMBER_CHECKSUM_INVALID },
        /* vat.md section 4.3 examples */
        { "NL000099998B57", VAT_NUMBER_VALID },
        { "NL002455799B11", VAT_NUMBER_VALID },
        { "NL002342672B42", VAT_NUMBER_VALID },
        { "NL001162938B28", VAT_NUMBER_VALID },
        { "NL004495445B01", VAT_NUMBER_VALID },
        { "NL123456789B90", VAT_NUMBER_CHECKSUM_INVALID },
        { "BE0428759497", VAT_NUMBER_VALID },
        { "BE0403019261", VAT_NUMBER_VALID },
        { "BE0431150351", VAT_NUMBER_CHECKSUM_INVALID },
        { "DE136695976", VAT_NUMBER_VALID },
        { "DE136695978", VAT_NUMBER_CHECKSUM_INVALID },
        /* where we disagreed with python-stdnum 2.2 (issue 18); verdicts are stdnum's */
        { "CZ640903926", VAT_NUMBER_VALID }, /* 6xx: no birth number */
        { "CZ640913926", VAT_NUMBER_CHECKSUM_INVALID },
        { "CZ7103192745", VAT_NUMBER_VALID }, /* birth number, 1971 */
        { "CZ7103192746", VAT_NUMBER_CHECKSUM_INVALID },
        { "CZ1103492745", VAT_NUMBER_CHECKSUM_INVALID }, /* no such date */
        { "CZ991231123", VAT_NUMBER_VALID },             /* 9 digits, 1899 */
        { "CZ590312123", VAT_NUMBER_CHECKSUM_INVALID },  /* 9 digits after 1953 */
        { "CZ95123891", VAT_NUMBER_FORMAT_INVALID },
        { "FRK7399859412", VAT_NUMBER_VALID }, /* new-style key */
        { "FRL7399859412", VAT_NUMBER_CHECKSUM_INVALID },
        { "FR5S739928067", VAT_NUMBER_CHECKSUM_INVALID },
        { "FRFR343143426", VAT_NUMBER_VALID }, /* key "FR" */
        { "LV32867300679", VAT_NUMBER_VALID }, /* person code from 32 */
        { "LV32867300678", VAT_NUMBER_CHECKSUM_INVALID },
        { "LV10103241337", VAT_NUMBER_CHECKSUM_INVALID }, /* birth date, wrong check digit */
        { "LV16137211223", VAT_NUMBER_CHECKSUM_INVALID }, /* month 13 */
        { "XIGD888810003", VAT_NUMBER_VALID },            /* government department, EU form */
        { "XIGD888810004", VAT_NUMBER_CHECKSUM_INVALID },
        { "XIHA888856782", VAT_NUMBER_VALID },            /* health authority, EU form */
        { "XIHA888820107", VAT_NUMBER_CHECKSUM_INVALID }, /* health authority below 500 */
        { "XIGD100", VAT_NUMBER_VALID },
        { "XIGD600", VAT_NUMBER_CHECKSUM_INVALID },
        { "XI012014398", VAT_NUMBER_CHECKSUM_INVALID }, /* remainder 42 below 100 */
        { "SK7103192745", VAT_NUMBER_VALID },           /* birth number */
        { "SK8801251680", VAT_NUMBER_VALID },
        { "NL000099998B00", VAT_NUMBER_FORMAT_INVALID }, /* sequence 00 */
        { "NL000000000B01", VAT_NUMBER_FORMAT_INVALID },
        { "NL12345678AB01", VAT_NUMBER_FORMAT_INVALID }, /* letters are not issued */
        { "RO1630615123457", VAT_NUMBER_VALID },         /* CNP */
        { "RO1630615123458", VAT_NUMBER_CHECKSUM_INVALID },
        { "RO1630230123451", VAT_NUMBER_CHECKSUM_INVALID }, /* 30 February */
        { "RO1630615493457", VAT_NUMBER_CHECKSUM_INVALID }, /* county 49 */
        { "RO0630615123457", VAT_NUMBER_FORMAT_INVALID },
        { "BE0000000000", VAT_NUMBER_FORMAT_INVALID },
        { "BG0649317851", VAT_NUMBER_CHECKSUM_INVALID }, /* 31 September 2006 */
        { "BG7523169263", VAT_NUMBER_VALID },            /* EGN, 1875 */
        /* formats */
        { "DE12345", VAT_NUMBER_FORMAT_INVALID },
        { "DE0123456789", VAT_NUMBER_FORMAT_INVALID },
        { "NL123456789", VAT_NUMBER_FORMAT_INVALID },
        { "ATX12345678", VAT_NUMBER_FORMAT_INVALID },
        { "BE2428759497", VAT_NUMBER_FORMAT_INVALID },
        { "FRIO123456789", VAT_NUMBER_FORMAT_INVALID },
        { "SE123456789002", VAT_NUMBER_FORMAT_INVALID },
        /* prefixes that cannot be used for an intra-community supply */
        { "GB123456789", VAT_NUMBER_UNKNOWN_PREFIX },
        { "EU372000041", VAT_NUMBER_UNKNOWN_PREFIX },
        { "136695976", VAT_NUMBER_UNKNOWN_PREFIX },
        { "CH123456789", VAT_NUMBER_UNKNOWN_PREFIX },
        { "", VAT_NUMBER_EMPTY },
        { "  ", VAT_NUMBER_EMPTY },
};

static const struct {
        const char *input;
        const char *normalised;
        enum vat_number_status want;
} norm[] = {
        { " nl 0000.99998-b57 ", "NL000099998B57", VAT_NUMBER_VALID },
        { "GR285870131", "EL285870131", VAT_NUMBER_VALID },
        { "BE 428.759.497", "BE0428759497", VAT_NUMBER_VALID },
        { "BE(0)428759497", "BE0428759497", VAT_NUMBER_VALID },
        { "de/136:695,976", "DE136695976", VAT_NUMBER_VALID },
        { "xi 457 2988 41", "XI457298841", VAT_NUMBER_VALID },
        /* leading zeros left out, as stdnum fills them in */
        { "NL4495445B01", "NL004495445B01", VAT_NUMBER_VALID },
        { "nl 4495445 b01", "NL004495445B01", VAT_NUMBER_VALID },
        { "NL00449544B01", "NL000449544B01", VAT_NUMBER_VALID },
        { "EL 94051189", "EL094051189", VAT_NUMBER_VALID },
        { "GR94051189", "EL094051189", VAT_NUMBER_VALID },
        { "BE000000000", "BE0000000000", VAT_NUMBER_FORMAT_INVALID },
};

int main(void)
{
        int failed = 0, n = 0;
        char out[64];

        for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++, n++) {
                enum vat_number_status st = vat_number_check(vectors[i].number, out, sizeof(out));

                if (st != vectors[i].want) {
                        printf("FAIL %s: got %s, want %s\n", vectors[i].number,
                               vat_number_status_name(st), vat_number_status_name(vectors[i].want));
                        failed++;
                }
        }
        for (size_t i = 0; i < sizeof(norm) / sizeof(norm[0]); i++, n++) {
                enum vat_number_status st = vat_number_check(norm[i].input, out, sizeof(out));

                if (st != norm[i].want || strcmp(out, norm[i].normalised) != 0) {
                        printf("FAIL normalise \"%s\": got %s %s\n", norm[i].input, out,
                               vat_number_status_name(st));
                        failed++;
                }
        }
        {
                char iso[3];

                n++;
                if (vat_number_country("EL285870131", iso) != 0 || strcmp(iso, "GR") != 0) {
                        printf("FAIL EL -> GR\n");
                        failed++;
                }
        }
        printf("%d/%d VAT number checks passed\n", n - failed, n);
        return failed ? 1 : 0;
}
