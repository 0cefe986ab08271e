#include "admin/output.h"

#include <stdio.h>
#include <stdlib.h>

static void print_scalar(FILE *out, const json_t *v);

static void print_scalar(FILE *out, const json_t *v)
{
        if (json_is_string(v))
                fputs(json_string_value(v), out);
        else if (json_is_null(v))
                fputs("-", out);
        else {
                char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

                fputs(s ? s : "?", out);
                free(s);
        }
}

void output_human(FILE *out, const json_t *v, int indent)
{
        const char *key;
        json_t *val;
        size_t i;

        if (json_is_array(v)) {
                json_array_foreach (v, i, val) {
                        fprintf(out, "%*s- ", indent, "");
                        if (json_is_object(val) || json_is_array(val)) {
                                fputc('\n', out);
                                output_human(out, val, indent + 2);
                        } else {
                                print_scalar(out, val);
                                fputc('\n', out);
                        }
                }
                return;
        }
        if (!json_is_object(v)) {
                fprintf(out, "%*s", indent, "");
                print_scalar(out, v);
                fputc('\n', out);
                return;
        }
        json_object_foreach ((json_t *)v, key, val) {
                fprintf(out, "%*s%s:", indent, "", key);
                if ((json_is_object(val) && json_object_size(val)) ||
                    (json_is_array(val) && json_array_size(val))) {
                        fputc('\n', out);
                        output_human(out, val, indent + 2);
                } else if (json_is_array(val) || json_is_object(val)) {
                        fputs(" (none)\n", out);
                } else {
                        fputc(' ', out);
                        print_scalar(out, val);
                        fputc('\n', out);
                }
        }
}

static void print_table(FILE *out, const json_t *arr)
{
        const json_t *first = json_array_get(arr, 0), *row, *val;
        const char *key;
        size_t i;

        json_object_foreach ((json_t *)first, key, val) {
                if (!json_is_object(val) && !json_is_array(val))
                        fprintf(out, "%s\t", key);
        }
        fputc('\n', out);
        json_array_foreach (arr, i, row) {
                json_object_foreach ((json_t *)first, key, val) {
                        const json_t *cell = json_object_get(row, key);

                        if (json_is_object(val) || json_is_array(val))
                                continue;
                        print_scalar(out, cell);
                        fputc('\t', out);
                }
                fputc('\n', out);
        }
}

/* Print @p result (stolen): JSON with --json, text otherwise. */
int output_emit(const cli_inv *in, json_t *result)
{
        if (!result)
                return OPS_EXIT_FAILURE;
        if (in->json) {
                char *s = json_dumps(result, JSON_INDENT(2) | JSON_ENCODE_ANY);

                if (s)
                        puts(s);
                free(s);
        } else if (json_is_array(result) && json_array_size(result) &&
                   json_is_object(json_array_get(result, 0))) {
                print_table(stdout, result);
        } else if (json_is_array(result) && !json_array_size(result)) {
                puts("(none)");
        } else {
                output_human(stdout, result, 0);
        }
        json_decref(result);
        return OPS_EXIT_OK;
}

int output_emit_ok(const cli_inv *in, const char *what, const char *id)
{
        return output_emit(in, json_pack("{s:b, s:s, s:s}", "ok", 1, "done", what, "id", id));
}
