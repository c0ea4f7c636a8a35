#pragma once
// A T.6 (G4) encoder for bilevel fax pages. libtiff's encoder works pixel by pixel through its
// scanline interface and took half of a text page's conversion time; this one turns each row into
// its list of colour changes with word-at-a-time scans (a fax row is mostly paper) and codes from
// the two change lists.
#include <cstdint>
#include <vector>

#include "documents/fax_page.h"

namespace vfax::documents {

/// Appends the T.6 coding of `page` (no EOFB unless `withEofb`, byte-aligned at the end) to `out`.
/// The result decodes with any G4 decoder (min-is-white: a 1 bit in `page` is black).
void encodeG4(const FaxPage& page, std::vector<std::uint8_t>* out, bool withEofb = true);

/// The positions where the colour changes in a packed row (1 = black), starting from white, at
/// most `width`; exposed for tests.
void rowChanges(const std::uint8_t* row, int width, std::vector<int>* changes);

}  // namespace vfax::documents
