#include <mpi.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "comm/communicator.h"

// CHECK_MPI names the failing call, file and line.
#define CHECK_MPI(expr)                                                                            \
  do {                                                                                             \
    const int engine_mpi_status_ = (expr);                                                         \
    if (engine_mpi_status_ != MPI_SUCCESS) {                                                       \
      char engine_mpi_text_[MPI_MAX_ERROR_STRING];                                                 \
      int engine_mpi_length_ = 0;                                                                  \
      MPI_Error_string(engine_mpi_status_, engine_mpi_text_, &engine_mpi_length_);                 \
      throw std::runtime_error(std::string("MPI error: ") + engine_mpi_text_ +                     \
                               " in `" #expr "` at " + __FILE__ + ":" + std::to_string(__LINE__)); \
    }                                                                                              \
  } while (0)

namespace engine::comm {

namespace {

class MpiCommunicator final : public Communicator {
 public:
  // Takes ownership of `comm` unless it is MPI_COMM_WORLD.
  explicit MpiCommunicator(MPI_Comm comm) : comm_(comm) {
    CHECK_MPI(MPI_Comm_rank(comm_, &rank_));
    CHECK_MPI(MPI_Comm_size(comm_, &size_));
    // Processes sharing a host (and so its GPUs): the local rank picks the device.
    MPI_Comm local;
    CHECK_MPI(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local));
    CHECK_MPI(MPI_Comm_rank(local, &local_rank_));
    CHECK_MPI(MPI_Comm_free(&local));
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (comm_ != MPI_COMM_WORLD && !finalized) MPI_Comm_free(&comm_);
  }
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;
  int rank() const override { return rank_; }
  bool threads_can_communicate() const override {
    int level = MPI_THREAD_SINGLE;
    MPI_Query_thread(&level);
    return level >= MPI_THREAD_MULTIPLE;
  }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  std::string name() const override { return "MPI, " + std::to_string(size_) + " ranks"; }
  void allreduce_sum(std::span<float> v) override {
    reduce(v.data(), v.size(), MPI_FLOAT, MPI_SUM);
  }
  void allreduce_sum(std::span<double> v) override {
    reduce(v.data(), v.size(), MPI_DOUBLE, MPI_SUM);
  }
  void allreduce_sum(std::span<std::int64_t> v) override {
    reduce(v.data(), v.size(), MPI_INT64_T, MPI_SUM);
  }
  void allreduce_max(std::span<std::int64_t> v) override {
    reduce(v.data(), v.size(), MPI_INT64_T, MPI_MAX);
  }
  void allreduce_or(std::span<std::uint64_t> bits) override {
    reduce(bits.data(), bits.size(), MPI_UINT64_T, MPI_BOR);
  }
  void broadcast(std::span<char> bytes, int root) override {
    for (std::size_t at = 0; at < bytes.size(); at += kChunk) {
      const auto count = static_cast<int>(std::min(kChunk, bytes.size() - at));
      CHECK_MPI(MPI_Bcast(bytes.data() + at, count, MPI_CHAR, root, comm_));
    }
  }
  std::vector<std::string> gather(const std::string& value, int root) override {
    int length = static_cast<int>(value.size());
    std::vector<int> lengths(rank_ == root ? static_cast<std::size_t>(size_) : 0);
    CHECK_MPI(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, comm_));
    std::vector<int> offsets(lengths.size());
    int total = 0;
    for (std::size_t r = 0; r < lengths.size(); ++r) {
      offsets[r] = total;
      total += lengths[r];
    }
    std::string joined(static_cast<std::size_t>(total), '\0');
    CHECK_MPI(MPI_Gatherv(value.data(), length, MPI_CHAR, joined.data(), lengths.data(),
                          offsets.data(), MPI_CHAR, root, comm_));
    std::vector<std::string> out;
    for (std::size_t r = 0; r < lengths.size(); ++r)
      out.push_back(joined.substr(static_cast<std::size_t>(offsets[r]),
                                  static_cast<std::size_t>(lengths[r])));
    return out;
  }
  void barrier() override { CHECK_MPI(MPI_Barrier(comm_)); }
  std::unique_ptr<Communicator> split(int color, int key) override {
    MPI_Comm part;
    CHECK_MPI(MPI_Comm_split(comm_, color, key, &part));
    return std::make_unique<MpiCommunicator>(part);
  }
  void send_string(const std::string& value, int destination, int tag) override {
    CHECK_MPI(
        MPI_Send(value.data(), static_cast<int>(value.size()), MPI_CHAR, destination, tag, comm_));
  }
  std::string receive_string(int source, int tag) override {
    MPI_Status status;
    CHECK_MPI(MPI_Probe(source, tag, comm_, &status));
    return receive_probed(status);
  }
  std::optional<std::pair<int, std::string>> try_receive_string(int tag) override {
    int arrived = 0;
    MPI_Status status;
    CHECK_MPI(MPI_Iprobe(MPI_ANY_SOURCE, tag, comm_, &arrived, &status));
    if (arrived == 0) return std::nullopt;
    return std::make_pair(status.MPI_SOURCE, receive_probed(status));
  }
  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
  }

 private:
  // MPI counts are ints: large arenas go in pieces.
  static constexpr std::size_t kChunk = std::size_t{1} << 30;
  void reduce(void* data, std::size_t count, MPI_Datatype type, MPI_Op op) {
    int bytes = 0;
    MPI_Type_size(type, &bytes);
    for (std::size_t at = 0; at < count; at += kChunk) {
      const auto n = static_cast<int>(std::min(kChunk, count - at));
      CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE,
                              static_cast<char*>(data) + at * static_cast<std::size_t>(bytes), n,
                              type, op, comm_));
    }
  }
  std::string receive_probed(const MPI_Status& status) {
    int length = 0;
    CHECK_MPI(MPI_Get_count(&status, MPI_CHAR, &length));
    std::string value(static_cast<std::size_t>(length), '\0');
    CHECK_MPI(MPI_Recv(value.data(), length, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, comm_,
                       MPI_STATUS_IGNORE));
    return value;
  }
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1, local_rank_ = 0;
};

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

}  // namespace

std::unique_ptr<Communicator> make_default(int* argc, char*** argv, bool threads_communicate) {
  if (!launched_by_mpi()) return make_single_process();
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    const int wanted = threads_communicate ? MPI_THREAD_MULTIPLE : MPI_THREAD_FUNNELED;
    CHECK_MPI(MPI_Init_thread(argc, argv, wanted, &provided));
    if (provided < wanted)
      throw std::runtime_error(
          "this MPI does not let several threads communicate at once "
          "(MPI_THREAD_MULTIPLE), which engine_tune's coordinator needs");
    std::atexit([] {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    });
  }
  return std::make_unique<MpiCommunicator>(MPI_COMM_WORLD);
}

}  // namespace engine::comm
