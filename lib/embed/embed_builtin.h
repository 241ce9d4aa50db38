/* The builtin embedder: deterministic feature hashing over words, word bigrams and character n-grams. */
#ifndef PGKB_EMBED_BUILTIN_H
#define PGKB_EMBED_BUILTIN_H

#include <stddef.h>

/* Stored in embedding_model; bump the version whenever the output of embed_builtin changes. */
#define EMBED_BUILTIN_MODEL "pgkb-builtin-v1"

/* Embeds text[0..len) (UTF-8; invalid bytes count as word characters, NUL as a separator) into out[0..dim),
 * L2-normalised. Returns 0, or -1 (out untouched) when dim is not 384, 768, 1024, 1536 or 3072.
 * The output depends only on the bytes of the text: bit-identical on every IEEE-754 machine (integer feature
 * weights, one sqrt and one division per component; no libm, no locale).
 * A text without any word (empty, only spaces or punctuation) embeds as a fixed unit vector with a single
 * non-zero component, not as the zero vector, so cosine distance stays defined: such texts match each other and
 * are near-orthogonal to everything else. A text made only of stop words is embedded from those stop words.
 * Allocates scratch memory for the call (aborts on out-of-memory) and keeps no state between calls. */
int embed_builtin(const char *text, size_t len, int dim, float *out);

#endif
