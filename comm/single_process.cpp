#include <cstdlib>
#include <stdexcept>

#include "comm/communicator.h"

namespace engine::comm {

std::string Communicator::broadcast_string(const std::string& value, int root) {
  std::int64_t length = rank() == root ? static_cast<std::int64_t>(value.size()) : 0;
  allreduce_max(std::span<std::int64_t>(&length, 1));  // only root's is non-zero
  std::string out = rank() == root ? value : std::string(static_cast<std::size_t>(length), '\0');
  broadcast(std::span<char>(out.data(), out.size()), root);
  return out;
}

namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  bool threads_can_communicate() const override { return true; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  std::string name() const override { return "single process"; }
  void allreduce_sum(std::span<float>) override {}
  void allreduce_sum(std::span<double>) override {}
  void allreduce_sum(std::span<std::int64_t>) override {}
  void allreduce_max(std::span<std::int64_t>) override {}
  void allreduce_or(std::span<std::uint64_t>) override {}
  void broadcast(std::span<char>, int) override {}
  std::vector<std::string> gather(const std::string& value, int) override { return {value}; }
  void barrier() override {}
  std::unique_ptr<Communicator> split(int, int) override {
    return std::make_unique<SingleProcess>();
  }
  // One process has no one to talk to.
  void send_string(const std::string&, int, int) override { no_peers(); }
  std::string receive_string(int, int) override { no_peers(); }
  std::optional<std::pair<int, std::string>> try_receive_string(int) override { no_peers(); }
  [[noreturn]] void abort(int code) override { std::exit(code); }

 private:
  [[noreturn]] static void no_peers() {
    throw std::logic_error("a single process has no other rank to message");
  }
};

}  // namespace

std::unique_ptr<Communicator> make_single_process() {
  return std::make_unique<SingleProcess>();
}

}  // namespace engine::comm
