#pragma once
// libre's headers (Debian libre-dev 1.1.0), in one place: <re/re.h> is C and needs the system
// types first. Only files under trunks/sip/ include this.
#include <sys/types.h>

#include <cstdarg>
#include <cstdbool>
#include <cstdint>

// Without it, re_types.h defines bool/true/false as macros.
#ifndef HAVE_STDBOOL_H
#define HAVE_STDBOOL_H 1
#endif

extern "C" {
#include <re/re.h>
// In libre 1.1.0's library but not in its headers: the OpenSSL context behind a `struct tls`.
void* tls_openssl_context(const struct tls* tls);
}
