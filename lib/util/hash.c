/* SHA-256 hex digests through OpenSSL's EVP interface. */
#include "lib/util/hash.h"

#include <stdlib.h>

#include <openssl/evp.h>

#include "lib/util/log.h"

void hash_sha256_hex(const void *p, size_t n, char out[HASH_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		log_error("hash: EVP_Digest(sha256) failed");
		abort();
	}
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[HASH_HEX_LEN] = '\0';
}
