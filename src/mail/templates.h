#pragma once
// Mail texts in German and English. Built in; an admin replaces one by putting
// DIR/<language>/<name>.txt in templates_dir. A template is "Subject: ..." on its first line, an
// empty line, then the body; {{name}} is replaced by a variable's value.
#include <map>
#include <string>

namespace vfax::mail {

struct MailText {
  std::string subject;
  std::string body;
};

/// Names: fax_received, status, status_final, rejected, test.
class Templates {
 public:
  Templates(std::string language, std::string overrideDir);

  MailText render(const std::string& name, const std::map<std::string, std::string>& vars) const;
  /// A word or phrase of the language (state names, report labels).
  std::string word(const std::string& key) const;
  const std::string& language() const { return language_; }

  static std::string substitute(const std::string& text,
                                const std::map<std::string, std::string>& vars);

 private:
  std::string source(const std::string& name) const;
  std::string language_;
  std::string overrideDir_;
};

}  // namespace vfax::mail
