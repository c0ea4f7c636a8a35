#pragma once
// Print-to-Fax control fields: the recipient's number and job options written into a printed
// document's text (`@@+FAX:0891234@@` and the other dialects). Pure functions over characters
// with their boxes, so they are tested and fuzzed without MuPDF; the characters come from
// print_text.h in the vfax-convert child. See README.md ("Print-to-Fax control fields").
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace vfax::documents {

/// A rectangle on a page in points, MuPDF's page space: origin top left, y down, the page's
/// /Rotate applied. `page` counts from 1.
struct FieldBox {
  int page = 0;
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

/// One character of a page's text, in reading order. Line ends are '\n' characters with an
/// empty box (x0 == x1).
struct FieldChar {
  char32_t c = 0;
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

enum class FieldKind { kNumber, kTag, kNotify, kPriority };
const char* fieldKindName(FieldKind kind);

struct PrintField {
  FieldKind kind = FieldKind::kNumber;
  /// `hylafax` (pascom and HylaFAX `@@+KEY:..@@`), `swyx`, `yajhfc`, `winprint`, `rightfax`,
  /// or `pattern1`, `pattern2`, ... for the admin's patterns in their order.
  std::string dialect;
  /// Numbers: digits with an optional leading '+'. Tags: whitespace collapsed. Priority: 0-255.
  std::string value;
  std::string text;             // the field as printed (whitespace collapsed), for messages
  int page = 0;                 // from 1
  std::vector<FieldBox> boxes;  // one per line the field covers: what redaction blanks out
  /// Set when the field was recognised but its value cannot be used (`@@+FAX:call me@@`,
  /// `@@+PRIO:300@@`). Such a field is still blanked out, but not acted on.
  std::string problem;
};

/// The admin's extra patterns, compiled (PCRE2). Cheap to copy (shared, immutable).
class FieldPatterns {
 public:
  FieldPatterns();
  ~FieldPatterns();
  FieldPatterns(const FieldPatterns&);
  FieldPatterns& operator=(const FieldPatterns&);
  std::size_t size() const;
  struct Compiled;
  const std::vector<std::shared_ptr<const Compiled>>& compiled() const { return patterns_; }

 private:
  friend core::Result<FieldPatterns> compileFieldPatterns(const std::vector<std::string>&);
  std::vector<std::shared_ptr<const Compiled>> patterns_;
};

/// Compiles admin patterns: PCRE2 syntax (UTF-8), each with at least one of the named groups
/// `number`, `tag`, `notify`, `prio` and no other names; at most 2,000 characters; must not
/// match empty text; must stay within the match limits on probe texts made to expose
/// catastrophic backtracking. Error `bad_pattern` names the pattern (1-based) and the reason.
core::Result<FieldPatterns> compileFieldPatterns(const std::vector<std::string>& patterns);

struct PageFields {
  std::vector<PrintField> fields;
  /// Pattern trouble on this text (match limit hit, too many fields): the scan went on without.
  std::vector<std::string> warnings;
};

/// Finds the fields of every built-in dialect and of `patterns` in one page's characters.
/// Whitespace (spaces, line ends) may stand anywhere inside a field's markers; at most
/// kMaxFieldsPerPage fields are returned.
PageFields findPageFields(int page, const std::vector<FieldChar>& chars,
                          const FieldPatterns& patterns);
constexpr int kMaxFieldsPerPage = 200;

/// Adds to `into` the fields of `more` (the same page read in another order) that cover none
/// of the area of a field already there, and the warnings not yet there.
void addUnseenFields(PageFields* into, PageFields more);

/// One fax to make from a print job: pages [firstPage, lastPage] (from 1) to `number`.
struct PlannedFax {
  int firstPage = 1;
  int lastPage = 1;
  std::string number;
  std::string tag;
  std::string notify;
  int priority = -1;  // -1: not set
  int letter = 1;     // which letter of a mail-merge job (1 when the job is one letter)
};

/// The faxes a job asks for (see README.md for the rule): one letter per page that names a
/// different set of numbers than the letter before; each letter goes to each of its numbers.
/// Empty when no usable number field was found.
std::vector<PlannedFax> planPrintFaxes(const std::vector<PrintField>& fields, int pageCount);

/// Lightly normalised fax number ("+49 (89) 123-45/6" -> "+4989123456"), or "" when `text`
/// is not one (letters, no digits, over 32 digits, '+' not first).
std::string normaliseFieldNumber(const std::string& text);

}  // namespace vfax::documents
