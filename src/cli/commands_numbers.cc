// vfax number NUMBER: how the server reads a number and whether its destination policy lets vfax
// dial it (GET /numbers/parse). Exit 1 when the number is invalid or not allowed, so that scripts
// can check a number before they send.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/format.h"

namespace vfax::cli {

namespace {

void printNumber(const Json& n) {
  auto line = [](const char* label, const Json& v) { std::cout << label << cell(v) << '\n'; };
  line("input          ", n["input"]);
  line("as you type    ", n["as_you_type"]);
  if (n.value("valid", false)) {
    line("e164           ", n["e164"]);
    line("international  ", n["international"]);
    line("national       ", n["national"]);
    line("dial string    ", n["dial_string"]);
    if (n.value("internal", false)) {
      std::cout << "type           internal (an own extension)\n";
    } else {
      line("type           ", n["type"]);
    }
  }
  std::cout << "allowed        " << (n.value("allowed", false) ? "yes" : "no") << '\n';
}

}  // namespace

void addNumberCommands(CLI::App& app, Action& action) {
  struct Options {
    std::vector<std::string> words;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "number", "Show how a number is read, formatted and whether it may be dialled");
  cmd->add_option("number", o->words, "The number as typed (several words are joined by spaces)")
      ->required();
  cmd->add_flag("--json", o->json, "Print the API's JSON");
  cmd->callback([o, &action] {
    action = [o](Client& c) -> Result<void> {
      std::string number;
      for (const auto& w : o->words) number += (number.empty() ? "" : " ") + w;
      auto r = c.get("/api/v1/numbers/parse", {{"to", number}});
      if (!r) return r.error();
      if (o->json) {
        std::cout << r->dump(2) << '\n';
      } else {
        printNumber(*r);
      }
      if (!r->value("allowed", false)) {
        const std::string code = (*r)["reason_code"].is_string()
                                     ? (*r)["reason_code"].get<std::string>()
                                     : std::string("destination_not_allowed");
        const std::string reason =
            (*r)["reason"].is_string() ? (*r)["reason"].get<std::string>() : "not allowed";
        return core::makeError(code, reason);
      }
      return {};
    };
  });
}

}  // namespace vfax::cli
