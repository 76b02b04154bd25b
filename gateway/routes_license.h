/* routes_license: the license routes' JSON forms that tests reach. */
#ifndef ROUTES_LICENSE_H
#define ROUTES_LICENSE_H

#include "gw_jw.h"
#include "proto/license.pb-c.h"

/* routes_license_json answers the JSON object of license l, as GET
 * /v1/licenses/{id} does (a new reference); l is borrowed. */
json_t *routes_license_json(const Keyport__License__License *l);

/* routes_license_text appends the JSON object of license l (the text
 * routes_license_json dumps with JSON_COMPACT) to w; l is borrowed. */
void routes_license_text(gw_jw *w, const Keyport__License__License *l);

#endif
