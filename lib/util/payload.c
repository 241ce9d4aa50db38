/* Job payloads parsed with the reason a bad one is bad, so that last_error says what to fix. */
#include "lib/util/payload.h"

#include "lib/util/mem.h"

json_t *payload_object(const char *kind, const char *text, char **err)
{
	json_error_t je;
	json_t *root = json_loads(text ? text : "", 0, &je);
	if (!root) {
		/* jansson says "too big integer" or "real number overflow" for a number it cannot hold: name that
		 * plainly, since PostgreSQL's jsonb stores such numbers happily and the payload looks fine there */
		if (json_error_code(&je) == json_error_numeric_overflow)
			*err = xasprintf("%s: payload: number out of range (%s) at line %d, column %d", kind, je.text,
			                 je.line, je.column);
		else
			*err = xasprintf("%s: payload: %s at line %d, column %d", kind, je.text, je.line, je.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*err = xasprintf("%s: payload is not a JSON object", kind);
		return NULL;
	}
	*err = NULL;
	return root;
}
