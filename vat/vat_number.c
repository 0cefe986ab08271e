/* vat_number: offline checks of EU VAT identification numbers.
 *
 * The algorithms follow the published check-digit rules per member state (the same ones
 * python-stdnum implements); formats follow the VIES structure table. A number that passes is
 * only well-formed: whether it is registered is VIES's answer, not ours. */
#include "vat/vat_number.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define VAT_MAX_INPUT 40

static bool all_digits(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (!isdigit((unsigned char)s[i]))
                        return false;
        }
        return n > 0;
}

static int dig(char c)
{
        return c - '0';
}

static int weighted_sum(const char *s, const int *w, size_t n)
{
        int sum = 0;

        for (size_t i = 0; i < n; i++)
                sum += w[i] * dig(s[i]);
        return sum;
}

/* Luhn checksum of a digit string (0 means the string is Luhn-valid). */
static int luhn_sum(const char *s, size_t n)
{
        int sum = 0;

        for (size_t i = 0; i < n; i++) {
                int d = dig(s[n - 1 - i]);

                if (i % 2 == 1) {
                        d *= 2;
                        if (d > 9)
                                d -= 9;
                }
                sum += d;
        }
        return sum % 10;
}

/* ISO 7064 MOD 11,10: true when the last of n digits is the right check digit. */
static bool mod_11_10(const char *s, size_t n)
{
        int p = 10;

        for (size_t i = 0; i + 1 < n; i++) {
                int t = (dig(s[i]) + p) % 10;

                if (t == 0)
                        t = 10;
                p = (2 * t) % 11;
        }
        return (11 - p) % 10 == dig(s[n - 1]);
}

/* Remainder of a big decimal string modulo m. */
static int mod_str(const char *s, int m)
{
        int r = 0;

        for (; *s; s++)
                r = (r * 10 + dig(*s)) % m;
        return r;
}

/* Integer value of n digits. */
static long num_of(const char *s, size_t n)
{
        long v = 0;

        for (size_t i = 0; i < n; i++)
                v = v * 10 + dig(s[i]);
        return v;
}

static bool real_date(int year, int month, int day)
{
        static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);

        if (month < 1 || month > 12 || day < 1)
                return false;
        return day <= mdays[month - 1] + (month == 2 && leap);
}

/* Czech and Slovak birth number (rodné číslo), 9 or 10 digits: yymmdd with 50 added to the
 * month for women and 20 more when a day's serials ran out (since 2004); 9-digit numbers were
 * issued until 1953, 10-digit ones since 1954 and carry a mod 11 check digit. */
static bool birth_number_valid(const char *n, size_t len)
{
        int year = 1900 + (int)num_of(n, 2);
        int month = (int)num_of(n + 2, 2) % 50 % 20;
        int day = (int)num_of(n + 4, 2);

        if (len == 9) {
                if (year >= 1980)
                        year -= 100;
                if (year > 1953)
                        return false;
        } else if (year < 1954) {
                year += 100;
        }
        if (!real_date(year, month, day))
                return false;
        return len == 9 || num_of(n, 9) % 11 % 10 == dig(n[9]);
}

/* Each check returns VALID, FORMAT_INVALID or CHECKSUM_INVALID for the part after the prefix. */

static enum vat_number_status check_at(const char *n, size_t len)
{
        if (len != 9 || n[0] != 'U' || !all_digits(n + 1, 8))
                return VAT_NUMBER_FORMAT_INVALID;
        int check = (6 - luhn_sum(n + 1, 7) + 10) % 10;

        return check == dig(n[8]) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_be(const char *n, size_t len)
{
        if (len != 10 || !all_digits(n, 10) || (n[0] != '0' && n[0] != '1'))
                return VAT_NUMBER_FORMAT_INVALID;
        if (num_of(n, 10) == 0)
                return VAT_NUMBER_FORMAT_INVALID;
        long head = 0;

        for (int i = 0; i < 8; i++)
                head = head * 10 + dig(n[i]);
        long tail = dig(n[8]) * 10 + dig(n[9]);

        return (head + tail) % 97 == 0 ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_bg(const char *n, size_t len)
{
        if ((len != 9 && len != 10) || !all_digits(n, len))
                return VAT_NUMBER_FORMAT_INVALID;
        if (len == 9) {
                static const int w1[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
                static const int w2[] = { 3, 4, 5, 6, 7, 8, 9, 10 };
                int c = weighted_sum(n, w1, 8) % 11;

                if (c == 10)
                        c = weighted_sum(n, w2, 8) % 11 % 10;
                return c == dig(n[8]) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
        }
        /* ten digits: personal number (EGN), foreigner number (PNF) or other */
        static const int egn[] = { 2, 4, 8, 5, 10, 9, 7, 3, 6 };
        static const int pnf[] = { 21, 19, 17, 13, 11, 9, 7, 3, 1 };
        static const int oth[] = { 4, 3, 2, 7, 6, 5, 4, 3, 2 };
        int last = dig(n[9]);
        int year = 1900 + (int)num_of(n, 2);
        int month = (int)num_of(n + 2, 2);

        /* EGN months are offset by 20 (1800s) or 40 (2000s); the date must exist */
        if (month > 40) {
                year += 100;
                month -= 40;
        } else if (month > 20) {
                year -= 100;
                month -= 20;
        }
        bool egn_date = real_date(year, month, (int)num_of(n + 4, 2));

        if (egn_date && weighted_sum(n, egn, 9) % 11 % 10 == last)
                return VAT_NUMBER_VALID;
        if (weighted_sum(n, pnf, 9) % 10 == last)
                return VAT_NUMBER_VALID;
        int c = 11 - weighted_sum(n, oth, 9) % 11;

        if (c == 11)
                c = 0;
        if (c != 10 && c == last)
                return VAT_NUMBER_VALID;
        return VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_cy(const char *n, size_t len)
{
        static const int tr[] = { 1, 0, 5, 7, 9, 13, 15, 17, 19, 21 };

        if (len != 9 || !all_digits(n, 8) || !isupper((unsigned char)n[8]))
                return VAT_NUMBER_FORMAT_INVALID;
        if (n[0] == '1' && n[1] == '2')
                return VAT_NUMBER_FORMAT_INVALID;
        int sum = 0;

        for (int i = 0; i < 8; i++)
                sum += (i % 2 == 0) ? tr[dig(n[i])] : dig(n[i]);
        return 'A' + sum % 26 == n[8] ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_cz(const char *n, size_t len)
{
        if (len < 8 || len > 10 || !all_digits(n, len))
                return VAT_NUMBER_FORMAT_INVALID;
        if (len == 8) {
                /* legal entities */
                static const int w[] = { 8, 7, 6, 5, 4, 3, 2 };

                if (n[0] == '9')
                        return VAT_NUMBER_FORMAT_INVALID;
                int c = (11 - weighted_sum(n, w, 7) % 11) % 11;

                if (c == 0)
                        c = 1;
                return c % 10 == dig(n[7]) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
        }
        if (len == 9 && n[0] == '6') {
                /* individuals without a birth number: the check skips the leading 6 */
                static const int w[] = { 8, 7, 6, 5, 4, 3, 2 };
                int r = weighted_sum(n + 1, w, 7) % 11;
                int c = ((8 - (10 - r) % 11) % 10 + 10) % 10;

                return c == dig(n[8]) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
        }
        return birth_number_valid(n, len) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_de(const char *n, size_t len)
{
        if (len != 9 || !all_digits(n, 9) || n[0] == '0')
                return VAT_NUMBER_FORMAT_INVALID;
        return mod_11_10(n, 9) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_dk(const char *n, size_t len)
{
        static const int w[] = { 2, 7, 6, 5, 4, 3, 2, 1 };

        if (len != 8 || !all_digits(n, 8) || n[0] == '0')
                return VAT_NUMBER_FORMAT_INVALID;
        return weighted_sum(n, w, 8) % 11 == 0 ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_ee(const char *n, size_t len)
{
        static const int w[] = { 3, 7, 1, 3, 7, 1, 3, 7, 1 };

        if (len != 9 || !all_digits(n, 9))
                return VAT_NUMBER_FORMAT_INVALID;
        return weighted_sum(n, w, 9) % 10 == 0 ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_el(const char *n, size_t len)
{
        if (len != 9 || !all_digits(n, 9))
                return VAT_NUMBER_FORMAT_INVALID;
        int sum = 0;

        for (int i = 0; i < 8; i++)
                sum = sum * 2 + dig(n[i]);
        return sum * 2 % 11 % 10 == dig(n[8]) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_es(const char *n, size_t len)
{
        static const char dni_letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";

        if (len != 9)
                return VAT_NUMBER_FORMAT_INVALID;
        for (size_t i = 0; i < 9; i++) {
                if (!isdigit((unsigned char)n[i]) && !isupper((unsigned char)n[i]))
                        return VAT_NUMBER_FORMAT_INVALID;
        }
        if (!all_digits(n + 1, 7))
                return VAT_NUMBER_FORMAT_INVALID;
        long num;

        if (isdigit((unsigned char)n[0]) || strchr("KLMXYZ", n[0])) {
                /* DNI (8 digits + letter), KLM personal numbers, NIE (X/Y/Z = 0/1/2) */
                if (!isupper((unsigned char)n[8]))
                        return VAT_NUMBER_FORMAT_INVALID;
                if (isdigit((unsigned char)n[0]))
                        num = dig(n[0]);
                else if (n[0] == 'Y')
                        num = 1;
                else if (n[0] == 'Z')
                        num = 2;
                else
                        num = 0;
                if (strchr("KLM", n[0]))
                        num = 0;
                for (int i = 1; i < 8; i++)
                        num = num * 10 + dig(n[i]);
                return dni_letters[num % 23] == n[8] ? VAT_NUMBER_VALID
                                                     : VAT_NUMBER_CHECKSUM_INVALID;
        }
        if (!strchr("ABCDEFGHJNPQRSUVW", n[0]))
                return VAT_NUMBER_FORMAT_INVALID;
        /* CIF: Luhn-style control over digits 2..8, written as a digit or a letter */
        char body[9];

        memcpy(body, n + 1, 7);
        body[7] = '0';
        body[8] = '\0';
        int d = (10 - luhn_sum(body, 8)) % 10;

        if (n[8] == '0' + d || n[8] == "JABCDEFGHI"[d])
                return VAT_NUMBER_VALID;
        return VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_fi(const char *n, size_t len)
{
        static const int w[] = { 7, 9, 10, 5, 8, 4, 2, 1 };

        if (len != 8 || !all_digits(n, 8))
                return VAT_NUMBER_FORMAT_INVALID;
        return weighted_sum(n, w, 8) % 11 == 0 ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_fr(const char *n, size_t len)
{
        if (len != 11 || !all_digits(n + 2, 9))
                return VAT_NUMBER_FORMAT_INVALID;
        for (int i = 0; i < 2; i++) {
                char c = n[i];

                if (!isdigit((unsigned char)c) &&
                    (!isupper((unsigned char)c) || c == 'I' || c == 'O'))
                        return VAT_NUMBER_FORMAT_INVALID;
        }
        /* SIREN 000... are Monaco numbers without a Luhn-valid SIREN */
        if (strncmp(n + 2, "000", 3) && luhn_sum(n + 2, 9) != 0)
                return VAT_NUMBER_CHECKSUM_INVALID;
        if (all_digits(n, 2)) {
                char buf[12];

                snprintf(buf, sizeof(buf), "%.9s12", n + 2);
                int key = dig(n[0]) * 10 + dig(n[1]);

                return mod_str(buf, 97) == key ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
        }
        /* new-style key with a letter: both characters index an alphabet without I and O; the
         * key's value and the SIREN must agree modulo 11 */
        static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
        long i0 = strchr(alphabet, n[0]) - alphabet;
        long i1 = strchr(alphabet, n[1]) - alphabet;
        long check = isdigit((unsigned char)n[0]) ? i0 * 24 + i1 - 10 : i0 * 34 + i1 - 100;

        if ((num_of(n + 2, 9) + 1 + check / 11) % 11 != check % 11)
                return VAT_NUMBER_CHECKSUM_INVALID;
        return VAT_NUMBER_VALID;
}

static enum vat_number_status check_hr(const char *n, size_t len)
{
        if (len != 11 || !all_digits(n, 11))
                return VAT_NUMBER_FORMAT_INVALID;
        return mod_11_10(n, 11) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_hu(const char *n, size_t len)
{
        static const int w[] = { 9, 7, 3, 1, 9, 7, 3, 1 };

        if (len != 8 || !all_digits(n, 8))
                return VAT_NUMBER_FORMAT_INVALID;
        return weighted_sum(n, w, 8) % 10 == 0 ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_ie(const char *n, size_t len)
{
        static const char alphabet[] = "WABCDEFGHIJKLMNOPQRSTUV";
        char num[10];

        if (len != 8 && len != 9)
                return VAT_NUMBER_FORMAT_INVALID;
        if (len == 8 && isdigit((unsigned char)n[0]) &&
            (isupper((unsigned char)n[1]) || n[1] == '+' || n[1] == '*') && all_digits(n + 2, 5) &&
            isupper((unsigned char)n[7])) {
                /* old style: digit, letter or + or *, five digits, check letter */
                num[0] = '0';
                memcpy(num + 1, n + 2, 5);
                num[6] = n[0];
                num[7] = n[7];
                num[8] = '\0';
        } else {
                if (!all_digits(n, 7) || !isupper((unsigned char)n[7]))
                        return VAT_NUMBER_FORMAT_INVALID;
                if (len == 9 && !strchr("ABCDEFGHIW", n[8]))
                        return VAT_NUMBER_FORMAT_INVALID;
                memcpy(num, n, len);
                num[len] = '\0';
        }
        int sum = 0;

        for (int i = 0; i < 7; i++)
                sum += (8 - i) * dig(num[i]);
        if (num[8] != '\0') {
                const char *p = strchr(alphabet, num[8]);

                if (!p)
                        return VAT_NUMBER_FORMAT_INVALID;
                sum += 9 * (int)(p - alphabet);
        }
        return alphabet[sum % 23] == num[7] ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_it(const char *n, size_t len)
{
        if (len != 11 || !all_digits(n, 11))
                return VAT_NUMBER_FORMAT_INVALID;
        if (!strncmp(n, "0000000", 7))
                return VAT_NUMBER_FORMAT_INVALID;
        int office = dig(n[7]) * 100 + dig(n[8]) * 10 + dig(n[9]);

        if (!((office >= 1 && office <= 100) || office == 120 || office == 121 || office == 888 ||
              office == 999))
                return VAT_NUMBER_FORMAT_INVALID;
        return luhn_sum(n, 11) == 0 ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_lt(const char *n, size_t len)
{
        if ((len != 9 && len != 12) || !all_digits(n, len))
                return VAT_NUMBER_FORMAT_INVALID;
        if (n[len - 2] != '1')
                return VAT_NUMBER_FORMAT_INVALID;
        int sum = 0;

        for (size_t i = 0; i + 1 < len; i++)
                sum += (int)(1 + i % 9) * dig(n[i]);
        int c = sum % 11;

        if (c == 10) {
                sum = 0;
                for (size_t i = 0; i + 1 < len; i++)
                        sum += (int)(1 + (i + 2) % 9) * dig(n[i]);
                c = sum % 11;
        }
        return c % 10 == dig(n[len - 1]) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_lu(const char *n, size_t len)
{
        if (len != 8 || !all_digits(n, 8))
                return VAT_NUMBER_FORMAT_INVALID;
        long head = 0;

        for (int i = 0; i < 6; i++)
                head = head * 10 + dig(n[i]);
        return head % 89 == dig(n[6]) * 10 + dig(n[7]) ? VAT_NUMBER_VALID
                                                       : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_lv(const char *n, size_t len)
{
        static const int w_legal[] = { 9, 1, 4, 8, 3, 10, 2, 5, 7, 6, 1 };
        static const int w_person[] = { 10, 5, 8, 4, 2, 1, 6, 3, 7, 9 };

        if (len != 11 || !all_digits(n, 11))
                return VAT_NUMBER_FORMAT_INVALID;
        if (dig(n[0]) > 3)
                return weighted_sum(n, w_legal, 11) % 11 == 3 ? VAT_NUMBER_VALID
                                                              : VAT_NUMBER_CHECKSUM_INVALID;
        /* natural persons: ddmmyy and a century digit (0 = 1800s), except the codes from 32
         * issued since July 2017, which carry no birth date */
        if (!(n[0] == '3' && n[1] == '2')) {
                int year = 1800 + 100 * dig(n[6]) + (int)num_of(n + 4, 2);

                if (!real_date(year, (int)num_of(n + 2, 2), (int)num_of(n, 2)))
                        return VAT_NUMBER_CHECKSUM_INVALID;
        }
        return (1 + weighted_sum(n, w_person, 10)) % 11 % 10 == dig(n[10])
                       ? VAT_NUMBER_VALID
                       : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_mt(const char *n, size_t len)
{
        static const int w[] = { 3, 4, 6, 7, 8, 9, 10, 1 };

        if (len != 8 || !all_digits(n, 8) || n[0] == '0')
                return VAT_NUMBER_FORMAT_INVALID;
        return weighted_sum(n, w, 8) % 37 == 0 ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_nl(const char *n, size_t len)
{
        /* digits only: the letters, + and * that the Belastingdienst reserved for the future
         * are not issued, and python-stdnum refuses them too */
        if (len != 12 || !all_digits(n, 9) || n[9] != 'B' || !all_digits(n + 10, 2))
                return VAT_NUMBER_FORMAT_INVALID;
        if (num_of(n, 9) == 0 || num_of(n + 10, 2) == 0)
                return VAT_NUMBER_FORMAT_INVALID;
        /* btw-id (since 2020): MOD 97-10 over "NL" + number, letters as two digits (N=23,
         * L=21, B=11) */
        char buf[24];

        snprintf(buf, sizeof(buf), "2321%.9s11%.2s", n, n + 10);
        if (mod_str(buf, 97) == 1)
                return VAT_NUMBER_VALID;
        /* RSIN- and BSN-based numbers: 11-proof on the nine digits */
        static const int w[] = { 9, 8, 7, 6, 5, 4, 3, 2 };

        if ((weighted_sum(n, w, 8) - dig(n[8])) % 11 == 0)
                return VAT_NUMBER_VALID;
        return VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_pl(const char *n, size_t len)
{
        static const int w[] = { 6, 5, 7, 2, 3, 4, 5, 6, 7, -1 };

        if (len != 10 || !all_digits(n, 10))
                return VAT_NUMBER_FORMAT_INVALID;
        return weighted_sum(n, w, 10) % 11 == 0 ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_pt(const char *n, size_t len)
{
        static const int w[] = { 9, 8, 7, 6, 5, 4, 3, 2 };

        if (len != 9 || !all_digits(n, 9) || n[0] == '0')
                return VAT_NUMBER_FORMAT_INVALID;
        int c = (11 - weighted_sum(n, w, 8) % 11) % 11 % 10;

        return c == dig(n[8]) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

/* Romanian personal number (CNP), also accepted as a VAT number: sex/century digit, yymmdd,
 * county code, serial, check digit. */
static enum vat_number_status check_ro_cnp(const char *n)
{
        static const int w[] = { 2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9 };
        int century;

        if (n[0] == '0')
                return VAT_NUMBER_FORMAT_INVALID;
        switch (n[0]) {
        case '3':
        case '4': century = 1800; break;
        case '5':
        case '6': century = 2000; break;
        default:
                century = 1900; /* 1, 2 and the residents' 7, 8, 9 */
                break;
        }
        if (!real_date(century + (int)num_of(n + 1, 2), (int)num_of(n + 3, 2),
                       (int)num_of(n + 5, 2)))
                return VAT_NUMBER_CHECKSUM_INVALID;
        /* counties 01-46, Bucharest's former sectors 47-48, 51-52, and 70, 80-83 */
        int county = (int)num_of(n + 7, 2);

        if (!((county >= 1 && county <= 48) || county == 51 || county == 52 || county == 70 ||
              (county >= 80 && county <= 83)))
                return VAT_NUMBER_CHECKSUM_INVALID;
        int c = weighted_sum(n, w, 12) % 11;

        if (c == 10)
                c = 1;
        return c == dig(n[12]) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_ro(const char *n, size_t len)
{
        static const int w[] = { 7, 5, 3, 2, 1, 7, 5, 3, 2 };

        if (len == 13 && all_digits(n, 13))
                return check_ro_cnp(n);
        if (len < 2 || len > 10 || !all_digits(n, len) || n[0] == '0')
                return VAT_NUMBER_FORMAT_INVALID;
        char padded[10];
        size_t body = len - 1;

        memset(padded, '0', 9);
        memcpy(padded + 9 - body, n, body);
        int c = weighted_sum(padded, w, 9) * 10 % 11 % 10;

        return c == dig(n[len - 1]) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_se(const char *n, size_t len)
{
        if (len != 12 || !all_digits(n, 12) || n[10] != '0' || n[11] != '1')
                return VAT_NUMBER_FORMAT_INVALID;
        return luhn_sum(n, 10) == 0 ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_si(const char *n, size_t len)
{
        static const int w[] = { 8, 7, 6, 5, 4, 3, 2 };

        if (len != 8 || !all_digits(n, 8) || n[0] == '0')
                return VAT_NUMBER_FORMAT_INVALID;
        int c = 11 - weighted_sum(n, w, 7) % 11;

        if (c == 10)
                c = 0;
        return c == dig(n[7]) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_sk(const char *n, size_t len)
{
        if (len != 10 || !all_digits(n, 10))
                return VAT_NUMBER_FORMAT_INVALID;
        /* individuals register with their birth number (shared with the Czech one) */
        if (birth_number_valid(n, 10))
                return VAT_NUMBER_VALID;
        if (n[0] == '0' || !strchr("234789", n[2]))
                return VAT_NUMBER_FORMAT_INVALID;
        return mod_str(n, 11) == 0 ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
}

static enum vat_number_status check_xi(const char *n, size_t len)
{
        static const int w[] = { 8, 7, 6, 5, 4, 3, 2, 10, 1 };
        bool gd = !strncmp(n, "GD", 2), ha = !strncmp(n, "HA", 2);

        /* government departments below 500, health authorities from 500; the EU form
         * GD8888/HA8888 adds the three digits mod 97 */
        if (len == 5 && (gd || ha)) {
                if (!all_digits(n + 2, 3))
                        return VAT_NUMBER_FORMAT_INVALID;
                long v = num_of(n + 2, 3);

                return (gd && v < 500) || (ha && v >= 500) ? VAT_NUMBER_VALID
                                                           : VAT_NUMBER_CHECKSUM_INVALID;
        }
        if (len == 11 && (gd || ha) && !strncmp(n + 2, "8888", 4)) {
                if (!all_digits(n + 6, 5))
                        return VAT_NUMBER_FORMAT_INVALID;
                long v = num_of(n + 6, 3);

                if (!((gd && v < 500) || (ha && v >= 500)))
                        return VAT_NUMBER_CHECKSUM_INVALID;
                return v % 97 == num_of(n + 9, 2) ? VAT_NUMBER_VALID : VAT_NUMBER_CHECKSUM_INVALID;
        }
        if ((len != 9 && len != 12) || !all_digits(n, len))
                return VAT_NUMBER_FORMAT_INVALID;
        int sum = weighted_sum(n, w, 9) % 97;

        /* 42 and 55 are the remainders of the later series, which start at 100 */
        if (sum == 0 || (num_of(n, 3) >= 100 && (sum == 42 || sum == 55)))
                return VAT_NUMBER_VALID;
        return VAT_NUMBER_CHECKSUM_INVALID;
}

static const struct {
        const char prefix[3];
        const char iso[3];
        enum vat_number_status (*check)(const char *n, size_t len);
} checkers[] = {
        { "AT", "AT", check_at }, { "BE", "BE", check_be }, { "BG", "BG", check_bg },
        { "CY", "CY", check_cy }, { "CZ", "CZ", check_cz }, { "DE", "DE", check_de },
        { "DK", "DK", check_dk }, { "EE", "EE", check_ee }, { "EL", "GR", check_el },
        { "ES", "ES", check_es }, { "FI", "FI", check_fi }, { "FR", "FR", check_fr },
        { "HR", "HR", check_hr }, { "HU", "HU", check_hu }, { "IE", "IE", check_ie },
        { "IT", "IT", check_it }, { "LT", "LT", check_lt }, { "LU", "LU", check_lu },
        { "LV", "LV", check_lv }, { "MT", "MT", check_mt }, { "NL", "NL", check_nl },
        { "PL", "PL", check_pl }, { "PT", "PT", check_pt }, { "RO", "RO", check_ro },
        { "SE", "SE", check_se }, { "SI", "SI", check_si }, { "SK", "SK", check_sk },
        { "XI", "XI", check_xi },
};

#define N_CHECKERS (sizeof(checkers) / sizeof(checkers[0]))

static int checker_index(const char *normalised)
{
        for (size_t i = 0; i < N_CHECKERS; i++) {
                if (!strncmp(normalised, checkers[i].prefix, 2))
                        return (int)i;
        }
        return -1;
}

enum vat_number_status vat_number_check(const char *input, char *out, size_t outlen)
{
        char buf[VAT_MAX_INPUT + 8];
        size_t k = 0;

        if (outlen > 0)
                out[0] = '\0';
        if (!input)
                return VAT_NUMBER_EMPTY;
        for (const char *p = input; *p; p++) {
                unsigned char c = (unsigned char)*p;

                if (strchr(" .-/,:\t\r\n", c))
                        continue;
                if (k >= VAT_MAX_INPUT)
                        return VAT_NUMBER_FORMAT_INVALID;
                buf[k++] = (char)toupper(c);
        }
        buf[k] = '\0';
        if (k == 0)
                return VAT_NUMBER_EMPTY;
        if (k >= 2 && !strncmp(buf, "GR", 2)) {
                buf[0] = 'E';
                buf[1] = 'L';
        }
        if (!strncmp(buf, "BE", 2)) {
                /* "(0)" written for the leading zero; old 9-digit numbers gain a 0 */
                char *paren = strstr(buf, "(0)");

                if (paren) {
                        memmove(paren + 1, paren + 3, strlen(paren + 3) + 1);
                        paren[0] = '0';
                        k = strlen(buf);
                }
                if (k == 11 && all_digits(buf + 2, 9)) {
                        memmove(buf + 3, buf + 2, 10);
                        buf[2] = '0';
                        k++;
                }
        }
        if (k >= 6 && k <= 13 && !strncmp(buf, "NL", 2) && buf[k - 3] == 'B' &&
            all_digits(buf + 2, k - 5) && all_digits(buf + k - 2, 2)) {
                /* leading zeros left out: NL4495445B01 is NL004495445B01 */
                size_t pad = 14 - k;

                memmove(buf + 2 + pad, buf + 2, k - 1);
                memset(buf + 2, '0', pad);
                k = 14;
        }
        if (k == 10 && !strncmp(buf, "EL", 2) && all_digits(buf + 2, 8)) {
                /* old 8-digit numbers gain their leading 0 */
                memmove(buf + 3, buf + 2, 9);
                buf[2] = '0';
                k++;
        }
        snprintf(out, outlen, "%s", buf);
        if (k < 2 || !isupper((unsigned char)buf[0]) || !isupper((unsigned char)buf[1]))
                return VAT_NUMBER_UNKNOWN_PREFIX;
        int idx = checker_index(buf);

        if (idx < 0)
                return VAT_NUMBER_UNKNOWN_PREFIX;
        return checkers[idx].check(buf + 2, k - 2);
}

const char *vat_number_status_name(enum vat_number_status st)
{
        switch (st) {
        case VAT_NUMBER_EMPTY: return "empty";
        case VAT_NUMBER_VALID: return "valid";
        case VAT_NUMBER_UNKNOWN_PREFIX: return "unknown_prefix";
        case VAT_NUMBER_FORMAT_INVALID: return "format_invalid";
        case VAT_NUMBER_CHECKSUM_INVALID: return "checksum_invalid";
        }
        return "unknown";
}

int vat_number_country(const char *normalised, char iso[3])
{
        int idx = normalised ? checker_index(normalised) : -1;

        if (idx < 0)
                return -1;
        memcpy(iso, checkers[idx].iso, 3);
        return 0;
}
