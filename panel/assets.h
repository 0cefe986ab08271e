/* assets: the web page (panel/www/), compiled into the binary by embed_assets.py. */
#ifndef PANEL_ASSETS_H
#define PANEL_ASSETS_H

#include <stddef.h>

struct panel_asset {
        const char *path; /**< "/index.html", "/app.js", ... */
        const char *content_type;
        const unsigned char *data;
        size_t len;
};

/** The assets, ending with a row whose path is NULL. */
extern const struct panel_asset panel_assets[];

#endif
