/* migrations.h: the SQL files of migrations/, compiled in by embed_migrations.py so every
 * binary carries the schema it expects. */
#ifndef CX_MIGRATIONS_H
#define CX_MIGRATIONS_H

#include <stddef.h>

struct cx_migration {
        int version; /**< from the file name NNNN_name.sql */
        const char *name;
        const char *sql;
};

extern const struct cx_migration cx_migrations[];
extern const size_t cx_migrations_count;

#endif
