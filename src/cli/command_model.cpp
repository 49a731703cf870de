#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <utility>

#include "cli.hpp"
#include "ploutos/core/error.hpp"
#include "ploutos/core/json_text.hpp"
#include "ploutos/core/time.hpp"
#include "ploutos/rl/ppo.hpp"

namespace ploutos::cli {

namespace {

using Json = nlohmann::ordered_json;

// `model info`'s text. Every field through value(): a const manifest's operator[] on a key that a
// damaged file lacks is undefined behaviour, value() gives the default.
void summarise(const Json& manifest, const std::string& path, std::ostream& out) {
  out << path << "\n"
      << "  format        " << manifest.value("format_version", 0) << " (ploutos "
      << manifest.value("ploutos_version", "?") << ", git " << manifest.value("git_revision", "?") << ")\n"
      << "  feature set   " << manifest.value("feature_set", "?") << " ("
      << manifest.value("features", Json::array()).size() << " features)\n"
      << "  tickers       ";
  const char* separator = "";
  const Json tickers = manifest.value("tickers", Json::array());
  for (const auto& t : tickers) out << std::exchange(separator, " ") << t.get<std::string>();
  out << "\n  obs_dim       " << manifest.value("obs_dim", 0) << "\n"
      << "  data          " << manifest.value("data_range", "?") << " (hash " << manifest.value("data_hash", "?")
      << ", " << manifest.value("data_source", "?") << ")\n";
  // The bars the model saw: backtests over them are in-sample.
  struct Window {
    const char *key, *label, *note;
  };
  for (const Window& window : {Window{"training_window", "  trained on    ", ""},
                               Window{"selection_window", "  chosen on     ", ", validation"}}) {
    const auto w = manifest.value(window.key, Json());
    if (!w.is_object()) continue;
    out << window.label << bar_time_text(w.value("first", "?")) << " .. " << bar_time_text(w.value("last", "?")) << " ("
        << w.value("bars", 0) << " bars" << window.note << ")\n";
  }
  out << "  seed          " << json_text(manifest.value("seed", Json())) << ", " << manifest.value("timesteps", 0)
      << " timesteps\n"
      << "  metrics\n";
  const Json metrics = manifest.value("metrics", Json::object());
  for (const auto& [key, value] : metrics.items()) {
    char line[160];
    if (value.is_number_float()) {
      std::snprintf(line, sizeof line, "    %-22s %.6g\n", key.c_str(), value.get<double>());
      out << line;
    } else {
      std::snprintf(line, sizeof line, "    %-22s ", key.c_str());
      out << line << json_text(value) << "\n";
    }
  }
}

}  // namespace

void add_model_command(CLI::App& app, Globals& globals) {
  auto* cmd = app.add_subcommand("model", "Inspect model files");
  cmd->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto* info =
      cmd->add_subcommand("info", "Print a model's manifest (feature set, tickers, config, data hash, metrics)");
  info->add_option("path", *path, "Model file")->required();
  info->footer(
      "Examples:\n  ploutos model info data/models/brain_tech.pt\n  ploutos model info data/models/brain_tech.pt "
      "--json");
  info->callback([&globals, path] {
    globals.action = [&globals, path]() -> int {
      auto manifest = Json::parse(rl::read_manifest(*path));
      const bool verified = rl::verify_weights(*path);
      if (globals.json) {
        manifest["weights_checksum"] = verified ? "verified" : "unchecked";
        std::cout << json_text(manifest, 2) << "\n";
        return 0;
      }
      // Built whole before it is printed: a manifest with a field of the wrong type (a damaged file)
      // fails here with one line, not halfway through the summary.
      std::ostringstream text;
      try {
        summarise(manifest, *path, text);
        text << "  checksum      "
             << (verified ? "weights match the checksum written with them"
                          : "none (written before model files carried checksums)")
             << "\n";
      } catch (const nlohmann::json::exception& e) {
        throw InputError(*path + ": damaged manifest (" + e.what() + ")");
      }
      std::cout << text.str();
      return 0;
    };
  });
}

}  // namespace ploutos::cli
