// How ranks talk: rank, size, local rank, allreduce, broadcast, barrier. The trainer only ever
// sees this interface, so it never asks whether MPI is present: a single process gets the
// trivial implementation, `mpirun -np N` the MPI one (comm/mpi_communicator.cpp); the NCCL one
// for device memory comes with the CUDA backend.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace engine::comm {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_rank() const = 0;  // rank among the processes on this host
  virtual std::string name() const = 0;

  // In-place sums over all ranks.
  virtual void allreduce_sum(std::span<float> values) = 0;
  virtual void allreduce_sum(std::span<double> values) = 0;
  virtual void allreduce_sum(std::span<std::int64_t> values) = 0;
  virtual void allreduce_max(std::span<std::int64_t> values) = 0;
  // In-place bitwise OR over all ranks, of host memory in every communicator (small bitmaps).
  virtual void allreduce_or(std::span<std::uint64_t> bits) = 0;
  // An allreduce_sum whose result is needed only after finish_allreduces(): a device
  // communicator (NCCL) queues it behind the compute already queued and returns at once, so it
  // overlaps what is queued next; here it simply sums now.
  virtual void start_allreduce_sum(std::span<float> values) { allreduce_sum(values); }
  // Waits for every started allreduce.
  virtual void finish_allreduces() {}
  // Root's bytes to every rank (same length everywhere).
  virtual void broadcast(std::span<char> bytes, int root) = 0;
  // Every rank's string, in rank order, on root (other ranks get an empty list).
  virtual std::vector<std::string> gather(const std::string& value, int root) = 0;
  virtual void barrier() = 0;
  // Collective: a new communicator per `color`, ranked by `key` (MPI_Comm_split). Every rank
  // passing the same color gives a private duplicate of this one.
  virtual std::unique_ptr<Communicator> split(int color, int key) = 0;
  // Point to point, for request/reply protocols (engine_tune's coordinator).
  virtual void send_string(const std::string& value, int destination, int tag) = 0;
  virtual std::string receive_string(int source, int tag) = 0;
  // A message with `tag` from any rank if one has arrived: its source and text.
  virtual std::optional<std::pair<int, std::string>> try_receive_string(int tag) = 0;
  // Ends every rank of the job with `code` (a failing rank must not leave others waiting).
  [[noreturn]] virtual void abort(int code) = 0;

  // Whether another thread may call MPI while this one does (MPI_THREAD_MULTIPLE).
  virtual bool threads_can_communicate() const { return false; }

  bool is_root() const { return rank() == 0; }
  // Root's string on every rank.
  std::string broadcast_string(const std::string& value, int root = 0);
};

// One process: every collective is the identity.
std::unique_ptr<Communicator> make_single_process();

// MPI when this build has it and the process was started by an MPI launcher (mpirun, srun
// --mpi=pmix); otherwise a single process. Initialises MPI once; finalised at exit. With
// `threads_communicate`, several threads may call MPI at once (MPI_THREAD_MULTIPLE; an MPI
// that cannot is an error).
std::unique_ptr<Communicator> make_default(int* argc, char*** argv,
                                           bool threads_communicate = false);

}  // namespace engine::comm
