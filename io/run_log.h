// The programs' logging (spdlog): the human line on the terminal, "[subsystem] message" (on
// stdout; warnings and errors on stderr), and a
// structured JSON-lines file of the same records for machines:
//   {"time":"2026-11-22T03:53:17.123Z","level":"info","rank":0,"subsystem":"train","message":"..."}
// Messages carry their subsystem as the leading "[name] " tag (train, eval, data, checkpoint,
// metrics, ...); an untagged message belongs to "main".
#pragma once

#include <memory>
#include <string>
#include <utility>

namespace spdlog {
class logger;
}

namespace engine::io {

struct RunLogOptions {
  std::string level = "info";  // debug, info, warn, error: what the terminal shows
  bool quiet = false;          // the terminal shows warnings and errors only
  bool terminal = true;        // false: this rank prints only warnings and errors (not rank 0)
  int rank = 0;
  int world_size = 1;
  std::string json_path;  // JSON-lines file ("" for none); always at least info
  std::string text_path;  // a plain-text copy with timestamps ("" for none)
};

class RunLog {
 public:
  // Throws std::runtime_error naming a file it cannot open, std::invalid_argument for a level.
  explicit RunLog(const RunLogOptions& options);
  ~RunLog();

  void debug(const std::string& tagged) { write(0, tagged); }
  void info(const std::string& tagged) { write(1, tagged); }
  void warn(const std::string& tagged) { write(2, tagged); }
  void error(const std::string& tagged) { write(3, tagged); }

 private:
  void write(int level, const std::string& tagged);

  RunLogOptions options_;
  std::shared_ptr<spdlog::logger> terminal_, errors_, json_, text_;  // errors_: stderr
};

// "[train] epoch 1" -> {"train", "epoch 1"}; "no tag" -> {"main", "no tag"}.
std::pair<std::string, std::string> split_subsystem(const std::string& tagged);

}  // namespace engine::io
