/* The table embed-defaults.cmake generates from gateway/web/desk-pages/
 * at build time (gateway/CMakeLists.txt). */
#pragma once

typedef struct {
	const char *name;   /* the file name, "list.html"; NULL ends the table */
	const char *source; /* its contents, NUL-terminated */
} DkDeskAsset;

extern const DkDeskAsset dk_desk_assets[];
