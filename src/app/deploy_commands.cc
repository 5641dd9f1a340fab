// `pier validate FILE`: checks an architecture spec (pier.yaml) and prints each problem with
// where it is and a one-line fix. Exit 0 when there is none, 1 otherwise.
// `pier export compose|k8s FILE`: the spec as a Compose file or Kubernetes manifests on stdout,
// and what the target cannot express on stderr.
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "pier/deploy/export.h"
#include "pier/deploy/validate.h"

namespace pier::app {

namespace {

struct ValidateFlags {
  std::string file = "pier.yaml";
  bool json = false;
  uint32_t max_attempts = 10;
};

int RunValidate(const ValidateFlags& f) {
  auto a = deploy::LoadArchitecture(f.file);
  if (!a.ok()) return Fail("validate", a.status());
  const auto problems = deploy::Validate(
      *a, {.capacity = deploy::Capacity::OfThisMachine(), .max_attempts = f.max_attempts});
  if (f.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : problems) {
      out.push_back(
          {{"where", p.where}, {"field", p.field}, {"problem", p.message}, {"fix", p.fix}});
    }
    std::cout << out.dump(2) << "\n";
  } else {
    for (const auto& p : problems) std::cout << deploy::FormatProblem(p);
    std::cout << f.file << ": " << a->services.size() << " services, " << a->routes.size()
              << " routes, " << problems.size() << (problems.size() == 1 ? " problem" : " problems")
              << "\n";
  }
  return problems.empty() ? 0 : 1;
}

struct ExportFlags {
  std::string target;
  std::string file = "pier.yaml";
  std::string max_surge = "25%";
  std::string max_unavailable = "25%";
};

int RunExport(const ExportFlags& f) {
  auto a = deploy::LoadArchitecture(f.file);
  if (!a.ok()) return Fail("export", a.status());
  deploy::ExportResult out;
  if (f.target == "compose") {
    out = deploy::ExportCompose(*a);
  } else if (f.target == "k8s" || f.target == "kubernetes") {
    out = deploy::ExportKubernetes(
        *a, {.max_surge = f.max_surge, .max_unavailable = f.max_unavailable});
  } else {
    return Fail("export",
                Status::InvalidArgument("unknown target '" + f.target + "' (use compose or k8s)"));
  }
  std::cout << out.text;
  for (const auto& u : out.unsupported) std::cerr << "pier export: not expressed: " << u << "\n";
  return 0;
}

}  // namespace

void AddExportCommand(CLI::App& app, SetAction set_action) {
  auto f = std::make_shared<ExportFlags>();
  CLI::App* sub = app.add_subcommand(
      "export", "Write an architecture spec as a Compose file or Kubernetes manifests");
  sub->add_option("target", f->target, "compose or k8s")->required();
  sub->add_option("file", f->file, "The spec")->capture_default_str();
  sub->add_option("--max-surge", f->max_surge, "k8s: RollingUpdate maxSurge")
      ->capture_default_str();
  sub->add_option("--max-unavailable", f->max_unavailable, "k8s: RollingUpdate maxUnavailable")
      ->capture_default_str();
  sub->callback([f, set_action] { set_action([f] { return RunExport(*f); }); });
}

void AddValidateCommand(CLI::App& app, SetAction set_action) {
  auto f = std::make_shared<ValidateFlags>();
  CLI::App* sub = app.add_subcommand("validate", "Check an architecture spec (pier.yaml)");
  sub->add_option("file", f->file, "The spec")->capture_default_str();
  sub->add_flag("--json", f->json, "Print the problems as JSON");
  sub->add_option("--max-attempts", f->max_attempts,
                  "Most times retries along one call chain may send a request to a service")
      ->capture_default_str();
  sub->callback([f, set_action] { set_action([f] { return RunValidate(*f); }); });
}

}  // namespace pier::app
