#pragma once
// The one include of spandsp, for fax/*.cc only (never from a public header). spandsp's headers
// declare C functions and pull in <tiffio.h>.
extern "C" {
#include <spandsp.h>
}
